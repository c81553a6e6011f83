use std::sync::Arc;
use std::sync::atomic::Ordering;

use idp_core::model::{Consumed, EphemeralKind, GrantOwner, Rotated};
use idp_core::store::{
    AuditStore as _, ClientStore as _, EphemeralStore as _, GrantStore as _, UserStore as _,
};

use super::SqlStore;
use super::Statements as _;
use crate::EarlyRotation as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_at_once_share_their_flushes_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sqlite_store(&dir).await;
    let writer = store.writer.as_ref().unwrap();
    let batch = store.batch.as_ref().unwrap();
    let before = writer.flushes.load(Ordering::Relaxed);
    let committed = batch.transactions.load(Ordering::Relaxed);
    let writes: Vec<_> = (0..64)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let payload = serde_json::json!({ "n": n });
                store
                    .put(
                        EphemeralKind::RefreshToken,
                        &format!("t{n}"),
                        &payload,
                        10_000,
                    )
                    .await
            })
        })
        .collect();
    for write in writes {
        write.await.unwrap().unwrap();
    }
    for n in 0..64 {
        let stored = store
            .get(EphemeralKind::RefreshToken, &format!("t{n}"), 0)
            .await
            .unwrap();
        assert_eq!(stored, Some(serde_json::json!({ "n": n })));
    }
    let flushes = writer.flushes.load(Ordering::Relaxed) - before;
    assert!(
        (1..64).contains(&flushes),
        "64 writes at once took {flushes} flushes"
    );
    let transactions = batch.transactions.load(Ordering::Relaxed) - committed;
    assert!(
        (1..64).contains(&transactions),
        "64 writes at once took {transactions} transactions"
    );
    // A write alone is flushed before it returns.
    store
        .put(
            EphemeralKind::RefreshToken,
            "alone",
            &serde_json::json!(1),
            10_000,
        )
        .await
        .unwrap();
    assert_eq!(writer.flushes.load(Ordering::Relaxed), before + flushes + 1);
}

/// Writes on the calling thread's connections that come while others are being committed
/// are committed together, each in a savepoint of its own: one that fails is undone and
/// reports its error, and the others land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_fails_in_a_batch_changes_nothing_and_costs_the_others_nothing() {
    let kind = EphemeralKind::RefreshToken;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sqlite_store(&dir).await;
    let batch = store.batch.as_ref().unwrap();
    let committed = batch.transactions.load(Ordering::Relaxed);
    // The writes queue while the writers' turn is taken, then go in one transaction.
    let turn = writers_turn(&store).await;
    let put = |id: &'static str| {
        let store = store.clone();
        tokio::spawn(async move { store.put(kind, id, &serde_json::json!(id), 10_000).await })
    };
    let (first, second) = (put("first"), put("second"));
    let failing = {
        let store = store.clone();
        tokio::spawn(async move { store.write_hot(PutThenFail).await })
    };
    let third = put("third");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!first.is_finished() && !failing.is_finished());
    drop(turn);
    for landed in [first, second, third] {
        landed.await.unwrap().unwrap();
    }
    let refused = failing.await.unwrap();
    assert!(refused.is_err(), "{refused:?}");
    for id in ["first", "second", "third"] {
        assert_eq!(
            store.get(kind, id, 0).await.unwrap(),
            Some(serde_json::json!(id))
        );
    }
    assert_eq!(store.get(kind, "undone", 0).await.unwrap(), None);
    assert_eq!(batch.transactions.load(Ordering::Relaxed), committed + 1);
}

/// A record put, then a statement that fails: the whole write is to be undone.
struct PutThenFail;

impl super::HotWrite for PutThenFail {
    type Output = u64;

    async fn steps<S: super::Statements>(&self, on: &mut S) -> Result<u64, S::Error> {
        let row = super::put_args(EphemeralKind::RefreshToken, "undone", "1", 10_000);
        on.execute(super::PUT_EPHEMERAL, &row).await?;
        on.execute("INSERT INTO no_such_table VALUES (1)", &[])
            .await
    }
}

/// A write that panics on its way.
struct Panics;

impl super::HotWrite for Panics {
    type Output = ();

    async fn steps<S: super::Statements>(&self, _: &mut S) -> Result<(), S::Error> {
        panic!("a write that panics")
    }
}

/// A write whose caller went away while it was queued is not made; one that panics fails
/// alone, and later writes still land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_given_up_while_queued_is_not_made_and_a_panic_stops_nothing() {
    let kind = EphemeralKind::RefreshToken;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sqlite_store(&dir).await;
    let turn = writers_turn(&store).await;
    let given_up = {
        let store = store.clone();
        tokio::spawn(async move { store.put(kind, "gone", &serde_json::json!(1), 10_000).await })
    };
    let panicking = {
        let store = store.clone();
        tokio::spawn(async move { store.write_hot(Panics).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    given_up.abort();
    assert!(given_up.await.unwrap_err().is_cancelled());
    drop(turn);
    assert!(panicking.await.unwrap().is_err());
    store
        .put(kind, "later", &serde_json::json!(2), 10_000)
        .await
        .unwrap();
    assert_eq!(store.get(kind, "gone", 0).await.unwrap(), None);
    assert_eq!(
        store.get(kind, "later", 0).await.unwrap(),
        Some(serde_json::json!(2))
    );
}

/// Cancelling a request does not keep its events out of the audit log: a row queued
/// behind the writers' turn is written though no one waits for it any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_row_is_written_though_its_request_went_away() {
    use idp_core::model::{AuditEvent, AuditKind};
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sqlite_store(&dir).await;
    let turn = writers_turn(&store).await;
    let audited = {
        let store = store.clone();
        tokio::spawn(async move {
            let link: idp_core::store::AuditLink = Arc::new(|p: &str| format!("{p}+1"));
            store
                .record(&AuditEvent::new(AuditKind::PinLocked, 1), link)
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    audited.abort();
    assert!(audited.await.unwrap_err().is_cancelled());
    drop(turn);
    // A write queued after it lands after it.
    let link: idp_core::store::AuditLink = Arc::new(|p: &str| format!("{p}+2"));
    let next = AuditEvent::new(AuditKind::SignUp, 2);
    store.record(&next, link).await.unwrap();
    let rows = store.chain_after(i64::MIN, 10).await.unwrap();
    let kinds: Vec<_> = rows.iter().map(|(_, event, _)| event.kind).collect();
    assert_eq!(kinds, [AuditKind::PinLocked, AuditKind::SignUp]);
    assert_eq!(rows[1].2.as_deref(), Some("start+1+2"), "one chain");
}

/// Takes the writers' turn, as a write through sqlx does: writes on the calling thread's
/// connections queue meanwhile.
async fn writers_turn(store: &SqlStore) -> tokio::sync::OwnedMutexGuard<()> {
    let writer = store.writer.as_ref().unwrap();
    writer.turn.clone().lock_owned().await
}

async fn sqlite_store(dir: &tempfile::TempDir) -> (Arc<SqlStore>, std::path::PathBuf) {
    let path = dir.path().join("idp.db");
    let url = format!("sqlite://{}", path.display());
    let store = Arc::new(SqlStore::open(&url, 8).await.unwrap());
    store.migrate().await.unwrap();
    (store, path)
}

/// A store with user "u", client "c", their grant "g", and a live refresh token "old" of
/// payload `1`, valid until 10,000.
async fn with_live_token(dir: &tempfile::TempDir) -> (Arc<SqlStore>, std::path::PathBuf) {
    let (store, path) = sqlite_store(dir).await;
    let client = idp_store_contract::client("c");
    store.create_client(&client).await.unwrap();
    let user = idp_store_contract::user("u", "alice");
    store.create_user(&user).await.unwrap();
    let grant = idp_store_contract::grant("g", "u", "c");
    store.create_grant(&grant).await.unwrap();
    let kind = EphemeralKind::RefreshToken;
    store
        .put(kind, "old", &serde_json::json!(1), 10_000)
        .await
        .unwrap();
    (store, path)
}

/// A check that accepts a token of grant "g" of user "u".
fn accepting_g() -> idp_core::model::RotationCheck {
    idp_core::model::RotationCheck::reading(|_: &str| {
        Some(GrantOwner {
            grant_id: "g".into(),
            user_id: "u".into(),
        })
    })
}

/// A refresh gets its answer ready while its rotation is flushed: the outcome comes once
/// the rotation has run in its batch, and the rotation is durable only once flushed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_is_known_before_it_is_flushed_and_durable_only_after() {
    let kind = EphemeralKind::RefreshToken;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = with_live_token(&dir).await;
    // No flush ends while this is held.
    let flushing = store.writer.as_ref().unwrap().flushed.lock().await;
    let check = accepting_g();
    let rotation = store.rotate_early(kind, "old", 500, ("new", 10_000), check);
    let (rotated, durable) = tokio::time::timeout(std::time::Duration::from_secs(5), rotation)
        .await
        .expect("the outcome does not wait for the flush")
        .unwrap();
    assert_eq!(rotated, Rotated::Done("1".into()));
    let durable = tokio::spawn(durable);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!durable.is_finished(), "durable only once flushed");
    drop(flushing);
    durable.await.unwrap().unwrap();
    assert_eq!(
        store.get(kind, "new", 500).await.unwrap(),
        Some(serde_json::json!(1))
    );
}

/// A rotation that ran, and came to `Done`, in a batch that then fails is not durable,
/// and changed nothing: whoever learnt the outcome early must not answer with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_done_in_a_batch_that_fails_is_not_durable_and_changes_nothing() {
    let kind = EphemeralKind::RefreshToken;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = with_live_token(&dir).await;
    let turn = writers_turn(&store).await;
    let rotating = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .rotate_early(kind, "old", 500, ("new", 10_000), accepting_g())
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Queued behind the rotation, a write that breaks the batch's transaction.
    store
        .batch
        .as_ref()
        .unwrap()
        .submit(Box::new(|_| Err(rusqlite::Error::InvalidQuery)));
    drop(turn);
    let (rotated, durable) = rotating.await.unwrap().unwrap();
    assert_eq!(
        rotated,
        Rotated::Done("1".into()),
        "the outcome came as the rotation ran"
    );
    assert!(durable.await.is_err(), "but the batch did not land");
    assert_eq!(store.get(kind, "new", 500).await.unwrap(), None);
    assert_eq!(
        store.get(kind, "old", 500).await.unwrap(),
        Some(serde_json::json!(1)),
        "still live"
    );
}

/// Statements run on the calling thread never wait for a lock: while another process
/// writes, reads still answer and writes wait for it on sqlx's threads, then land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_wait_their_turn_while_another_process_writes() {
    let kind = EphemeralKind::RefreshToken;
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = with_live_token(&dir).await;
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let checked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writing = {
        let (store, checked) = (store.clone(), checked.clone());
        tokio::spawn(async move {
            let check = idp_core::model::RotationCheck::reading(move |payload: &str| {
                assert_eq!(payload, "1");
                checked.fetch_add(1, Ordering::SeqCst);
                Some(GrantOwner {
                    grant_id: "g".into(),
                    user_id: "u".into(),
                })
            });
            store
                .rotate(kind, "old", 500, ("new", 10_000), check)
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !writing.is_finished(),
        "the write waits for the other writer"
    );
    // Readers are not held up by a writer.
    assert_eq!(
        store.get(kind, "old", 500).await.unwrap(),
        Some(serde_json::json!(1))
    );
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(writing.await.unwrap(), Rotated::Done("1".into()));
    assert_eq!(
        checked.load(Ordering::SeqCst),
        1,
        "checked once, when it ran"
    );
    assert_eq!(store.get(kind, "old", 500).await.unwrap(), None);
    assert_eq!(
        store.get(kind, "new", 500).await.unwrap(),
        Some(serde_json::json!(1))
    );
    let spent = store.consume(kind, "old", 500).await.unwrap();
    assert_eq!(spent, Consumed::Replayed(serde_json::json!(1)));
}

/// The write-ahead log is copied into the database as writes go on, though the calling
/// thread's connections never do it themselves, and then starts afresh: it does not grow
/// with every write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_the_log_as_writes_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = sqlite_store(&dir).await;
    let writer = store.writer.as_ref().unwrap();
    let size = |path: &std::path::Path| std::fs::metadata(path).unwrap().len();
    let wal = writer.files.as_ref().unwrap().1.clone();
    let before = size(&path);
    let payload = serde_json::json!({ "padding": "x".repeat(2000) });
    let mut logs = Vec::new();
    for round in 0..4 {
        for n in 0..crate::writer::CHECKPOINT_EVERY {
            store
                .put(
                    EphemeralKind::RefreshToken,
                    &format!("t{round}-{n}"),
                    &payload,
                    10_000,
                )
                .await
                .unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while writer.checkpointing.load(Ordering::Acquire) && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        logs.push(size(&wal));
    }
    assert!(writer.checkpointed.load(Ordering::Relaxed) >= 3 * crate::writer::CHECKPOINT_EVERY);
    let written = 4 * crate::writer::CHECKPOINT_EVERY * 2000;
    assert!(
        size(&path) > before + written / 2,
        "the database file grew from {before} to {} bytes",
        size(&path)
    );
    // A round writes about 9 MB of log (a page or more for each 2 KB row); without a fresh
    // start after each checkpoint the log would hold all four rounds, about 35 MB, by now.
    // (A round's may be measured already cut back to 4 MiB: see below.)
    let most = logs.iter().copied().max().unwrap_or_default();
    assert!(
        most < 16 * 1024 * 1024,
        "the log kept growing: {logs:?} bytes after each {} writes",
        crate::writer::CHECKPOINT_EVERY
    );
    // Once checkpointed, the next write starts the log afresh and gives back its space
    // beyond 4 MiB (journal_size_limit), so a burst of writes does not keep the disk.
    store
        .put(EphemeralKind::RefreshToken, "after", &payload, 10_000)
        .await
        .unwrap();
    assert!(
        size(&wal) <= 4 * 1024 * 1024 + 64 * 1024,
        "the log kept {} bytes after a checkpoint: {logs:?}",
        size(&wal)
    );
}

/// SQLite commits a statement that writes and returns rows only as it finishes; a failure
/// then (here a deferred foreign key) is an error, not the rows of a change that was
/// rolled back.
#[test]
fn a_failure_to_commit_is_not_taken_for_success() {
    let dir = tempfile::tempdir().unwrap();
    let c = rusqlite::Connection::open(dir.path().join("fk.db")).unwrap();
    c.execute_batch(
        "PRAGMA foreign_keys = ON;
         CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (id INTEGER PRIMARY KEY,
             parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
         INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1);",
    )
    .unwrap();
    let moved = super::at_once(super::OnThread(&c).first::<(i64,)>(
        "UPDATE child SET parent = 2 WHERE id = $1 RETURNING id",
        &[super::Arg::Int(1)],
    ));
    assert!(moved.is_err(), "{moved:?}");
    let parent: i64 = c
        .query_row("SELECT parent FROM child WHERE id = 1", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(parent, 1);
}

/// An in-memory database, or one with options of its own, is served through sqlx alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_in_memory_and_with_options_work_through_sqlx() {
    let dir = tempfile::tempdir().unwrap();
    let with_options = format!(
        "sqlite://{}?mode=rwc&cache=private",
        dir.path().join("options.db").display()
    );
    for url in ["sqlite::memory:", with_options.as_str()] {
        let store = SqlStore::open(url, 1).await.unwrap();
        store.migrate().await.unwrap();
        assert!(store.direct.is_none(), "{url}");
        let kind = EphemeralKind::RefreshToken;
        store
            .put(kind, "t", &serde_json::json!(1), 10_000)
            .await
            .unwrap();
        assert_eq!(
            store.get(kind, "t", 0).await.unwrap(),
            Some(serde_json::json!(1))
        );
    }
    assert!(
        !std::fs::read_dir(".").unwrap().any(|entry| entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("in-memory")),
        "no file is made for an in-memory database"
    );
}
