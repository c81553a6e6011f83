//! A full disk under the embedded default: every refusal is a 503 that says when to come back
//! (never a 500), readiness says the database cannot write while it lasts, and once space is
//! freed everything goes on where it stopped, with nothing lost and nobody throttled. And a
//! security event is in the audit chain once, however often it is appended.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{StatusCode, header};
use idp_core::StoreError;
use idp_core::model::{AuditEvent, AuditKind};
use idp_core::store::{AuditLink, AuditStore};

use crate::small_disk::SmallDisk;
use crate::support::{Browser, Idp, PASSWORD, PIN, authorize, exchange_with_headers};

/// The readiness answer, a second after the last probe (a probe answers what another found
/// in the same second): status and body.
async fn ready(idp: &Idp, browser: &mut Browser<'_>) -> (StatusCode, serde_json::Value) {
    idp.clock.advance(1);
    let page = browser.get("/readyz").await;
    (page.status, serde_json::from_str(&page.body).unwrap())
}

/// The person's wrong PINs in a row.
async fn pin_failures(idp: &Idp, user_id: &str) -> u32 {
    let user = idp.state.stores.users.find_user(user_id).await.unwrap();
    user.unwrap().pin_failures
}

#[tokio::test]
async fn a_full_disk_answers_503_with_retry_after_and_everything_resumes_when_space_returns() {
    let Some(disk) = SmallDisk::mount("24m") else {
        return;
    };
    let data = disk.path().join("data");
    let idp = Idp::with(|s| {
        s.data_dir = data.clone();
        s.database_url = format!("sqlite://{}/idp.db", data.display());
        s.new_device.enabled = false;
    })
    .await;
    idp.client("rp", true).await;
    let ann = idp.user("ann").await;
    // Events the database cannot take wait, as in the server.
    idp_server::audit::start_spool(&idp.state);
    let mut browser = Browser::new(&idp);
    assert_eq!(ready(&idp, &mut browser).await.0, StatusCode::OK);
    // A sign-in that reached the relying party, and one at the PIN step, before the disk
    // fills.
    let answer = browser.sign_in(&authorize("rp", &[]), "ann").await;
    assert!(answer.gives_code(), "{answer:?}");
    let mut second = Browser::new(&idp);
    let (login, _) = second.open(&authorize("rp", &[])).await;
    let pin_page = second
        .post(&login, &[("username", "ann"), ("password", PASSWORD)])
        .await;
    assert!(pin_page.to().ends_with("/pin"), "{pin_page:?}");
    let mut fourth = Browser::new(&idp);
    let (other_login, _) = fourth.open(&authorize("rp", &[])).await;

    // The write-ahead log copied into the database and cut to nothing, so that the next
    // write needs space of its own rather than reusing the log's.
    let database = data.join("idp.db");
    let connection = rusqlite::Connection::open(&database).unwrap();
    connection
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(connection);
    let filler = disk.fill();

    let (status, body) = ready(&idp, &mut browser).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["database"], "cannot_write", "{body}");
    let metrics = idp_server::routes::metrics::exposition_text(&idp.state);
    assert!(
        metrics.contains(r#"idp_dependency_ready{dependency="database",status="cannot_write"} 0"#),
        "{metrics}"
    );
    // The code exchange writes (the code is spent): refused, and the code kept.
    let (status, headers, body) = exchange_with_headers(&idp, "rp", &answer).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(headers.contains_key(header::RETRY_AFTER));
    // Pages that write: 503 with Retry-After, never 500.
    let mut third = Browser::new(&idp);
    for _ in 0..3 {
        let page = third.get(&authorize("rp", &[])).await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{page:?}");
        assert!(page.retry_after.is_some(), "{page:?}");
    }
    // A wrong PIN the store could not count is no try: it is refused unchecked.
    let page = second.post(pin_page.to(), &[("pin", "000000")]).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{page:?}");
    assert!(page.retry_after.is_some(), "{page:?}");
    assert_eq!(pin_failures(&idp, &ann).await, 0);
    // A wrong password is checked (a read) and counts; its security event waits.
    let page = fourth
        .post(&other_login, &[("username", "ann"), ("password", "not it")])
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{page:?}");
    assert_eq!(idp.state.audit_spool.get().unwrap().waiting(), 1);

    std::fs::remove_file(filler).unwrap();

    let (status, body) = ready(&idp, &mut browser).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The refused exchange changed nothing: the code still works, once.
    let (status, _, body) = exchange_with_headers(&idp, "rp", &answer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = exchange_with_headers(&idp, "rp", &answer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    // The sign-in at the PIN step goes on where it stopped, no try taken.
    assert_eq!(pin_failures(&idp, &ann).await, 0);
    let page = second.post(pin_page.to(), &[("pin", PIN)]).await;
    assert!(page.gives_code(), "{page:?}");
    let page = third.sign_in(&authorize("rp", &[]), "ann").await;
    assert!(page.gives_code(), "{page:?}");
    // The event that waited is in the chain once the database takes it, and the chain holds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while idp.state.audit_spool.get().unwrap().waiting() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the waiting event was not appended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let rows = idp
        .state
        .stores
        .audit
        .chain_after(i64::MIN, 1000)
        .await
        .unwrap();
    let wrong: Vec<_> = rows
        .iter()
        .filter(|(_, event, _)| event.kind == idp_core::model::AuditKind::PasswordWrong)
        .collect();
    assert_eq!(wrong.len(), 1, "{rows:?}");
    let report = idp_server::audit::verify(&idp.state, None).await.unwrap();
    assert_eq!(report.verified, rows.len() as u64, "{report:?}");
}

/// An audit store whose first append is taken but whose answer is lost, as when the database
/// commits an append the node had given up waiting for.
struct AnswerLost {
    inner: Arc<dyn AuditStore>,
    lost: AtomicBool,
}

#[async_trait::async_trait]
impl AuditStore for AnswerLost {
    async fn record(&self, event: &AuditEvent, link: AuditLink) -> Result<(), StoreError> {
        self.inner.record(event, link).await?;
        if self.lost.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the answer was lost".into()));
        }
        Ok(())
    }

    async fn chain_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, AuditEvent, Option<String>)>, StoreError> {
        self.inner.chain_after(after, limit).await
    }

    async fn query(
        &self,
        filter: &idp_core::model::AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.query(filter, limit).await
    }

    async fn recent_for_user(
        &self,
        user_id: &str,
        kinds: &[AuditKind],
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.recent_for_user(user_id, kinds, limit).await
    }
}

#[tokio::test]
async fn an_event_the_database_took_after_the_node_gave_up_is_in_the_chain_once() {
    let idp = Idp::wrapping(
        |_| {},
        |mut stores| {
            stores.audit = Arc::new(AnswerLost {
                inner: stores.audit,
                lost: AtomicBool::new(true),
            });
            stores
        },
    )
    .await;
    let state = &idp.state;
    idp_server::audit::start_spool(state);
    let locked = AuditEvent::new(AuditKind::PinLocked, state.now()).user("id-ann");
    idp_server::audit::record(state, locked).await;
    // Taken to be refused, the event waits in the spool, which appends it again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while state.audit_spool.get().unwrap().waiting() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the waiting event was not appended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let later = AuditEvent::new(AuditKind::SignInSucceeded, state.now()).user("id-ann");
    idp_server::audit::record(state, later).await;
    let rows = state.stores.audit.chain_after(i64::MIN, 100).await.unwrap();
    let kinds: Vec<_> = rows.iter().map(|(_, event, _)| event.kind).collect();
    assert_eq!(
        kinds,
        [AuditKind::PinLocked, AuditKind::SignInSucceeded],
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|(_, event, _)| event.id.is_some()),
        "{rows:?}"
    );
    let report = idp_server::audit::verify(state, None).await.unwrap();
    assert_eq!(report.verified, 2, "{report:?}");
}
