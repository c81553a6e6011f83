//! The audit log: every security event as a row and as a structured log line (target `audit`),
//! with no secret in either. The rows form a keyed hash chain, so that a row changed, removed
//! or slipped in shows (`idp audit verify`); the log lines are a copy that a log collector
//! keeps out of the database's reach.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use idp_core::model::{AuditEvent, AuditKind};
use idp_core::store::AuditLink;
use serde::Serialize;
use sha2::Sha256;

use crate::state::AppState;
use crate::web::client_info::ClientInfo;

pub mod spool;

/// An event of `kind` now, from the request described by `from`.
pub fn event(state: &AppState, kind: AuditKind, from: &ClientInfo) -> AuditEvent {
    AuditEvent::new(kind, state.now()).origin(from.ip(), from.user_agent())
}

/// Records the event. A failure to store it is logged, never shown to the user: the log line
/// is written either way. The row is written by a task of its own, so that a request cancelled
/// meanwhile (its client gone) cannot keep its events out of the log. In the server, an event
/// the database does not take waits in the spool (see `spool`), as does every event after it
/// until those before it are stored; while nothing waits, this costs one atomic load.
pub async fn record(state: &AppState, mut event: AuditEvent) {
    // Its id from here on, whatever copies of it were made before.
    if event.id.is_none() {
        event.id = Some(idp_core::random::random_token(16));
    }
    state.metrics.event(event.kind.as_str());
    tracing::info!(
        target: "audit",
        kind = event.kind.as_str(),
        user_id = event.user_id.as_deref(),
        client_id = event.client_id.as_deref(),
        actor = event.actor.as_deref(),
        ip = event.ip.as_deref(),
        detail = %event.detail,
        "security event"
    );
    let state = state.clone();
    let written = tokio::spawn(async move {
        let spool = state.audit_spool.get();
        if let Some(spool) = spool
            && spool.waiting() > 0
        {
            return wait(spool, event).await;
        }
        if let Err(error) = store(&state, &event).await {
            match spool {
                // Only an outage waits: an event refused for a reason of its own would be
                // refused again, and hold up every event behind it.
                Some(spool) if error.is_outage() => {
                    tracing::warn!(%error, kind = event.kind.as_str(), "cannot store audit event; it waits in the spool");
                    wait(spool, event).await;
                }
                _ => {
                    tracing::error!(%error, kind = event.kind.as_str(), "cannot store audit event");
                }
            }
        }
    });
    if let Err(error) = written.await {
        tracing::error!(%error, "storing an audit event panicked");
    }
}

/// Puts the event in the spool, behind those waiting.
async fn wait(spool: &Arc<spool::Spool>, event: AuditEvent) {
    let spool = spool.clone();
    if let Err(error) = tokio::task::spawn_blocking(move || spool.push(event)).await {
        tracing::error!(%error, "spooling an audit event panicked");
    }
}

/// How long an append may take before the event is taken to be refused (and waits in the
/// spool): a database that stops answering holds neither the request nor the events behind it
/// for longer. Should the append land after all, the spool's append of it is taken and not
/// stored (an event's id is in the chain once).
const STORE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Appends the event to the chain.
async fn store(state: &AppState, event: &AuditEvent) -> Result<(), idp_core::StoreError> {
    let key = state.audit_key;
    let linked = event.clone();
    let next_link: AuditLink = Arc::new(move |previous: &str| link(&key, previous, &linked));
    tokio::time::timeout(STORE_WITHIN, state.stores.audit.record(event, next_link))
        .await
        .unwrap_or_else(|_| {
            Err(idp_core::StoreError::Unavailable(
                "the database did not answer in time".into(),
            ))
        })
}

/// Waiting events taken from the spool per round.
const SPOOL_BATCH: usize = 200;
/// While the database refuses, the drainer tries again this often, or sooner when a new
/// event arrives (but never more often than `SPOOL_RETRY_AT_LEAST`).
const SPOOL_RETRY: Duration = Duration::from_millis(1500);
const SPOOL_RETRY_AT_LEAST: Duration = Duration::from_millis(200);

/// Opens the spool in the node's `data_dir` for the server, and starts the task that appends
/// what waits in it.
pub fn start_spool(state: &AppState) {
    let spool = Arc::new(spool::Spool::open(&state.settings.data_dir));
    if state.audit_spool.set(spool.clone()).is_ok() {
        tokio::spawn(drain(state.clone(), spool));
    }
}

/// Appends the waiting events to the chain, oldest first, for as long as the process runs:
/// each leaves the spool once stored. While the database refuses, tries again every `SPOOL_RETRY`,
/// or when a new event arrives.
async fn drain(state: AppState, spool: Arc<spool::Spool>) {
    loop {
        if spool.waiting() == 0 {
            spool.arrival().await;
            continue;
        }
        let batch = {
            let spool = spool.clone();
            tokio::task::spawn_blocking(move || spool.peek(SPOOL_BATCH))
                .await
                .unwrap_or_default()
        };
        let mut refused = None;
        let mut any = false;
        for (event, place) in batch {
            match event {
                Ok(event) => match store(&state, &event).await {
                    Ok(()) => {}
                    Err(error) if error.is_outage() => {
                        refused = Some(error);
                        break;
                    }
                    Err(error) => {
                        let spool = spool.clone();
                        let _ = tokio::task::spawn_blocking(move || {
                            spool.set_aside(&event, &error);
                        })
                        .await;
                    }
                },
                Err(error) => tracing::error!(
                    target: "audit",
                    %error,
                    path = %spool.path().display(),
                    "a line of the audit spool is not an event; it is skipped"
                ),
            }
            any = true;
            let spool = spool.clone();
            let _ = tokio::task::spawn_blocking(move || spool.stored(place)).await;
        }
        if any {
            let spool = spool.clone();
            let _ = tokio::task::spawn_blocking(move || spool.batch_done()).await;
        }
        match refused {
            Some(error) => {
                spool.refused(&error);
                tokio::select! {
                    () = tokio::time::sleep(SPOOL_RETRY) => {}
                    () = spool.arrival() => tokio::time::sleep(SPOOL_RETRY_AT_LEAST).await,
                }
            }
            // Read but nothing came (the file could not be read): not in a tight loop.
            None if !any => tokio::time::sleep(SPOOL_RETRY).await,
            None => {}
        }
    }
}

/// The chain value of `event` after a row whose value is `previous`: HMAC-SHA-256, under a key
/// derived from the master key, over `previous` and every field of the event but its id
/// (which only keeps it from being stored twice).
pub fn link(key: &[u8; 32], previous: &str, event: &AuditEvent) -> String {
    let fields = serde_json::json!([
        event.at,
        event.kind.as_str(),
        event.user_id,
        event.client_id,
        event.actor,
        event.ip,
        event.user_agent,
        event.detail,
    ]);
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(previous.as_bytes());
    mac.update(b"\n");
    mac.update(fields.to_string().as_bytes());
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// What `idp audit verify` found.
#[derive(Debug, Serialize)]
pub struct ChainReport {
    /// Rows whose link is right.
    pub verified: u64,
    /// Rows written before the chain began (no link), all older than the first linked row,
    /// which names the newest of them.
    pub before_chain: u64,
    /// The newest row's id and link: noted elsewhere and given back with `--expect`, they
    /// show a later removal of the newest rows, which the chain alone cannot.
    pub last_id: Option<i64>,
    pub last_chain: Option<String>,
}

/// At most this many breaks are named.
const BREAKS_NAMED: usize = 20;

/// Walks the whole log, oldest first, and checks every link; `expect` is a row id and link
/// noted earlier, which must still be there. Err names the rows where the chain breaks (each
/// was changed, or the row before it removed or slipped in), and the walk goes on past each
/// break from the stored link, so that one break hides no other.
pub async fn verify(state: &AppState, expect: Option<(i64, &str)>) -> Result<ChainReport, String> {
    const PAGE: u32 = 1000;
    let mut report = ChainReport {
        verified: 0,
        before_chain: 0,
        last_id: None,
        last_chain: None,
    };
    let mut breaks: Vec<String> = Vec::new();
    let mut previous = idp_core::model::chain_start(None);
    let mut linked = false;
    let mut expected_seen = false;
    loop {
        let rows = state
            .stores
            .audit
            .chain_after(report.last_id.unwrap_or(i64::MIN), PAGE)
            .await
            .map_err(|e| e.to_string())?;
        for (id, event, chain) in &rows {
            if let Some((expected_id, expected_link)) = expect
                && *id == expected_id
            {
                expected_seen = true;
                if chain.as_deref() != Some(expected_link) {
                    breaks.push(format!("row {id} no longer has the link noted for it"));
                }
            }
            match chain {
                None if !linked => {
                    report.before_chain += 1;
                    previous = idp_core::model::chain_start(Some(*id));
                }
                None => breaks.push(format!("row {id} has lost its link")),
                Some(chain) => {
                    let expected = link(&state.audit_key, &previous, event);
                    if idp_core::random::constant_time_eq(expected.as_bytes(), chain.as_bytes()) {
                        report.verified += 1;
                    } else {
                        breaks.push(format!(
                            "row {id} does not follow the row before it (it was changed, or a row before it removed or added)"
                        ));
                    }
                    linked = true;
                    previous.clone_from(chain);
                }
            }
            report.last_id = Some(*id);
        }
        if rows.len() < PAGE as usize {
            break;
        }
    }
    if let Some((expected_id, _)) = expect
        && !expected_seen
    {
        breaks.push(format!("row {expected_id}, noted earlier, is gone"));
    }
    if !breaks.is_empty() {
        let count = breaks.len();
        breaks.truncate(BREAKS_NAMED);
        return Err(format!(
            "the audit log was altered ({count} breaks): {}",
            breaks.join("; ")
        ));
    }
    report.last_chain = linked.then_some(previous);
    Ok(report)
}
