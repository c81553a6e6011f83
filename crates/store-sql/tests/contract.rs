//! The storage contract on SQLite and on PostgreSQL: every rule a test of its own, on a
//! database opened fresh for it; and what only a database shared by connections must keep.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use idp_core::model::{EphemeralKind, GrantOwner, Rotated};
use idp_core::store::Stores;
use idp_store_contract::{Fixture, client, given_grant, grant, settled, user};
use serde_json::json;
use sqlx::Connection as _;

mod sqlite {
    use super::*;

    /// A new database file, removed with its folder once the rule passed.
    async fn open() -> Option<Fixture> {
        let (stores, _url, dir) = open_with_url().await;
        Some(Fixture::new(stores).then(async move { drop(dir) }))
    }

    async fn open_with_url() -> (Stores, String, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("contract.db").display());
        let stores = idp_store_sql::open(&url, 8).await.unwrap();
        (stores, url, dir)
    }

    idp_store_contract::database_contract!(open);

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn rotations_wait_for_a_revocation_under_way() {
        let (stores, url, _dir) = open_with_url().await;
        super::revocation_under_way(&stores, &url).await;
    }
}

mod postgres {
    use super::*;

    /// A new, empty database on the PostgreSQL server at `IDP_TEST_POSTGRES_URL`, dropped
    /// once the rule passed.
    async fn open() -> Option<Fixture> {
        let (stores, _url, drop_it) = open_with_url().await?;
        Some(Fixture::new(stores).then(drop_it))
    }

    async fn open_with_url() -> Option<(
        Stores,
        String,
        impl std::future::Future<Output = ()> + Send + 'static,
    )> {
        let Ok(base) = std::env::var("IDP_TEST_POSTGRES_URL") else {
            eprintln!("skipped: IDP_TEST_POSTGRES_URL is not set");
            return None;
        };
        let name = format!("idp_unit_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let mut url = url::Url::parse(&base).unwrap();
        url.set_path(&name);
        let url = url.to_string();
        let stores = idp_store_sql::open(&url, 16).await.unwrap();
        let drop_it = async move {
            let drop = format!("DROP DATABASE {name} WITH (FORCE)");
            sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(&mut admin)
                .await
                .unwrap();
        };
        Some((stores, url, drop_it))
    }

    idp_store_contract::database_contract!(open);

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn rotations_wait_for_a_revocation_under_way() {
        let Some((stores, url, drop_it)) = open_with_url().await else {
            return;
        };
        super::revocation_under_way(&stores, &url).await;
        drop(stores);
        drop_it.await;
    }

    /// A record whose check is known to pass is rotated in one statement, without being read
    /// or judged again: a check that would refuse it is never asked. (SQLite reads and judges
    /// every record in its transaction.)
    #[tokio::test]
    async fn a_record_known_to_pass_is_rotated_unread() {
        let Some((stores, _url, drop_it)) = open_with_url().await else {
            return;
        };
        super::rotated_unread(&stores).await;
        drop(stores);
        drop_it.await;
    }

    /// PostgreSQL reads and checks a record before the statement that rotates it (SQLite does
    /// both in one transaction that holds the database): what changes in between is seen.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn rotations_see_what_changed_between_their_check_and_their_write() {
        let Some((stores, url, drop_it)) = open_with_url().await else {
            return;
        };
        super::changes_after_the_check(&stores, &url).await;
        drop(stores);
        drop_it.await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn rotations_that_all_read_a_live_record_spend_it_once() {
        let Some((stores, url, drop_it)) = open_with_url().await else {
            return;
        };
        super::racing_past_the_read(&stores, &url).await;
        drop(stores);
        drop_it.await;
    }
}

/// A revocation under way in another connection (another node, the command line) holds up a
/// rotation of a token of its grant, which then finds the grant revoked: a token is never
/// rotated between a revocation and its commit, whether the rotation reads the record first
/// or its check is known to pass. `url` names the stores' database.
async fn revocation_under_way(stores: &Stores, url: &str) {
    let kind = EphemeralKind::RefreshToken;
    stores
        .users
        .create_user(&user("u-race", "racer"))
        .await
        .unwrap();
    stores
        .clients
        .create_client(&client("c-race"))
        .await
        .unwrap();
    let mut other = sqlx::AnyConnection::connect(url).await.unwrap();
    for (grant_id, passed) in [("g-race", false), ("g-race-judged", true)] {
        let grant = grant(grant_id, "u-race", "c-race");
        stores.grants.create_grant(&grant).await.unwrap();
        let payload = json!({"grant": grant_id});
        let (record, next) = (format!("rt-{grant_id}"), format!("rt-{grant_id}-next"));
        stores
            .ephemeral
            .put(kind, &record, &payload, 2000)
            .await
            .unwrap();

        let mut revoking = other.begin().await.unwrap();
        let revoke = format!("UPDATE grants SET revoked_at = 1400 WHERE id = '{grant_id}'");
        sqlx::query(sqlx::AssertSqlSafe(revoke))
            .execute(&mut *revoking)
            .await
            .unwrap();
        let rotating = {
            let (grants, owned) = (stores.grants.clone(), grant_id.to_owned());
            let (record, next) = (record.clone(), next.clone());
            tokio::spawn(async move {
                let owner = GrantOwner {
                    grant_id: owned.clone(),
                    user_id: "u-race".into(),
                };
                let check =
                    idp_core::model::RotationCheck::reading(move |_: &str| Some(owner.clone()));
                let check = if passed { check.passed(owned) } else { check };
                settled(grants.rotate(kind, &record, 1500, (&next, 3000), check)).await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !rotating.is_finished(),
            "the rotation waits for the revocation (passed: {passed})"
        );
        revoking.commit().await.unwrap();
        assert_eq!(rotating.await.unwrap(), Rotated::Inactive);
        let ephemeral = &stores.ephemeral;
        assert_eq!(
            ephemeral.get(kind, &record, 1500).await.unwrap(),
            Some(payload)
        );
        assert_eq!(ephemeral.get(kind, &next, 1500).await.unwrap(), None);
    }
}

/// A rotation known to pass, with a check that refuses every record and counts its runs:
/// done, and the check never ran.
async fn rotated_unread(stores: &Stores) {
    let kind = EphemeralKind::RefreshToken;
    given_grant(stores, ("u-one", "one"), "c-one", "g-one").await;
    let payload = json!({"grant": "g-one"});
    stores
        .ephemeral
        .put(kind, "rt-one", &payload, 2000)
        .await
        .unwrap();
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = ran.clone();
    let check = idp_core::model::RotationCheck::reading(move |_: &str| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        None
    })
    .passed("g-one".into());
    let done = stores
        .grants
        .rotate(kind, "rt-one", 1500, ("rt-one-next", 3000), check);
    assert_eq!(settled(done).await, Rotated::Done(payload.to_string()));
    assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 0);
    let next = stores
        .ephemeral
        .get(kind, "rt-one-next", 1500)
        .await
        .unwrap();
    assert_eq!(next, Some(payload));
}

/// Runs `sql` on a connection of its own to `url`, from a thread of its own: another node
/// changing the database while a check, which cannot wait, runs.
fn meanwhile(url: &str, sql: String) {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut other = sqlx::AnyConnection::connect(&url).await.unwrap();
            let sql = sqlx::AssertSqlSafe(sql);
            sqlx::query(sql).execute(&mut other).await.unwrap();
        });
    })
    .join()
    .unwrap();
}

/// A check that runs `sql` elsewhere the first time it runs (between the rotation's read and
/// its write), notes each payload it sees, and accepts those `accept` does, for grant `g-gap`.
fn meddling(
    url: &str,
    sql: String,
    accept: fn(&str) -> bool,
    seen: &std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> idp_core::model::RotationCheck {
    let (url, seen) = (url.to_owned(), seen.clone());
    idp_core::model::RotationCheck::reading(move |payload: &str| {
        let first = {
            let mut seen = seen.lock().unwrap();
            seen.push(payload.to_owned());
            seen.len() == 1
        };
        if first {
            meanwhile(&url, sql.clone());
        }
        accept(payload).then(|| GrantOwner {
            grant_id: "g-gap".into(),
            user_id: "u-gap".into(),
        })
    })
}

/// What another node changes after a rotation's check and before its write stops the
/// rotation, or is checked in turn: a payload replaced (the new one is judged; the old one is
/// never rotated), the grant's user disabled, the grant revoked. A record left alone is live,
/// and no successor is stored.
async fn changes_after_the_check(stores: &Stores, url: &str) {
    let kind = EphemeralKind::RefreshToken;
    let (ephemeral, grants) = (&stores.ephemeral, &stores.grants);
    stores
        .users
        .create_user(&user("u-gap", "gapper"))
        .await
        .unwrap();
    stores
        .clients
        .create_client(&client("c-gap"))
        .await
        .unwrap();
    grants
        .create_grant(&grant("g-gap", "u-gap", "c-gap"))
        .await
        .unwrap();
    let (first, second) = (json!({"grant": "g-gap"}), json!({"grant": "g-gap", "n": 2}));
    let is_first: fn(&str) -> bool = |payload| payload == r#"{"grant":"g-gap"}"#;
    let rotate = |id: &'static str, next: &'static str, check| async move {
        let rotated = settled(grants.rotate(kind, id, 1500, (next, 3000), check)).await;
        let successor = ephemeral.get(kind, next, 1500).await.unwrap();
        (rotated, successor)
    };
    let replace = |id: &str| format!("UPDATE ephemeral SET payload = '{second}' WHERE id = '{id}'");

    // Replaced by a payload the check refuses: refused, as the check saw the new one.
    ephemeral.put(kind, "rt-a", &first, 2000).await.unwrap();
    let seen = Default::default();
    let check = meddling(url, replace("rt-a"), is_first, &seen);
    assert_eq!(
        rotate("rt-a", "rt-a-next", check).await,
        (Rotated::Refused(second.to_string()), None)
    );
    assert_eq!(
        ephemeral.get(kind, "rt-a", 1500).await.unwrap(),
        Some(second.clone())
    );

    // Replaced by a payload the check accepts too: rotated, with the payload checked last.
    ephemeral.put(kind, "rt-b", &first, 2000).await.unwrap();
    let seen = Default::default();
    let check = meddling(url, replace("rt-b"), |_| true, &seen);
    assert_eq!(
        rotate("rt-b", "rt-b-next", check).await,
        (Rotated::Done(second.to_string()), Some(second.clone()))
    );
    assert_eq!(seen.lock().unwrap().last(), Some(&second.to_string()));
    assert_eq!(
        ephemeral.get(kind, "rt-b", 1500).await.unwrap(),
        None,
        "spent"
    );

    // The user disabled, then the grant revoked: inactive, and the record left live.
    for (id, next, sql) in [
        (
            "rt-c",
            "rt-c-next",
            "UPDATE users SET disabled_at = 1400 WHERE id = 'u-gap'",
        ),
        (
            "rt-d",
            "rt-d-next",
            "UPDATE grants SET revoked_at = 1400 WHERE id = 'g-gap'",
        ),
    ] {
        ephemeral.put(kind, id, &first, 2000).await.unwrap();
        let seen = Default::default();
        let check = meddling(url, sql.to_owned(), is_first, &seen);
        assert_eq!(
            rotate(id, next, check).await,
            (Rotated::Inactive, None),
            "{sql}"
        );
        assert_eq!(
            ephemeral.get(kind, id, 1500).await.unwrap(),
            Some(first.clone())
        );
        stores.users.set_disabled("u-gap", None).await.unwrap();
    }
}

/// Rotations of one record that all read it live and passed their checks before any of them
/// wrote (another connection holds the record's row meanwhile, changing nothing): one is
/// `Done`, every other finds it `Replayed`, and only the winner's successor is stored.
async fn racing_past_the_read(stores: &Stores, url: &str) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let kind = EphemeralKind::RefreshToken;
    stores
        .users
        .create_user(&user("u-many", "many"))
        .await
        .unwrap();
    stores
        .clients
        .create_client(&client("c-many"))
        .await
        .unwrap();
    let grant = grant("g-many", "u-many", "c-many");
    stores.grants.create_grant(&grant).await.unwrap();
    let payload = json!({"grant": "g-many"});
    let ephemeral = &stores.ephemeral;
    ephemeral
        .put(kind, "rt-many", &payload, 2000)
        .await
        .unwrap();

    let mut other = sqlx::AnyConnection::connect(url).await.unwrap();
    let mut holding = other.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM ephemeral WHERE id = 'rt-many' FOR UPDATE")
        .execute(&mut *holding)
        .await
        .unwrap();
    let checked = Arc::new(AtomicUsize::new(0));
    // As many as the pool's connections for interactive traffic (four of sixteen): each holds
    // one while it waits.
    let rotations: Vec<_> = (0..4)
        .map(|n| {
            let (grants, checked) = (stores.grants.clone(), checked.clone());
            let check = idp_core::model::RotationCheck::reading(move |_: &str| {
                checked.fetch_add(1, Ordering::SeqCst);
                Some(GrantOwner {
                    grant_id: "g-many".into(),
                    user_id: "u-many".into(),
                })
            });
            tokio::spawn(async move {
                let next = format!("rt-many-{n}");
                let done = grants.rotate(kind, "rt-many", 1500, (&next, 3000), check);
                let rotated = settled(done).await;
                (next, rotated)
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while checked.load(Ordering::SeqCst) < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "every rotation reads the record while its row is held"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    holding.rollback().await.unwrap();

    let mut done = Vec::new();
    for rotation in rotations {
        let (next, rotated) = rotation.await.unwrap();
        let successor = ephemeral.get(kind, &next, 1500).await.unwrap();
        match rotated {
            Rotated::Done(accepted) => {
                assert_eq!(accepted, payload.to_string());
                assert_eq!(successor.as_ref(), Some(&payload));
                done.push(next);
            }
            Rotated::Replayed(seen) => {
                assert_eq!(seen, payload);
                assert_eq!(successor, None, "a losing rotation stored its successor");
            }
            other => panic!("a rotation that lost the race came to {other:?}"),
        }
    }
    assert_eq!(done.len(), 1, "one rotation spent the record");
    assert_eq!(checked.load(Ordering::SeqCst), 4, "each checked it once");
    assert_eq!(ephemeral.get(kind, "rt-many", 1500).await.unwrap(), None);
}
