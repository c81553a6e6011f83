//! The audit log: every security event as a row and as a structured log line (target `audit`),
//! with no secret in either. The rows form a keyed hash chain, so that a row changed, removed
//! or slipped in shows (`idp audit verify`); the log lines are a copy that a log collector
//! keeps out of the database's reach.

use hmac::{Hmac, Mac as _};
use idp_core::model::{AuditEvent, AuditKind};
use serde::Serialize;
use sha2::Sha256;

use crate::state::AppState;
use crate::web::client_info::ClientInfo;

/// An event of `kind` now, from the request described by `from`.
pub fn event(state: &AppState, kind: AuditKind, from: &ClientInfo) -> AuditEvent {
    AuditEvent::new(kind, state.now()).origin(from.ip(), from.user_agent())
}

/// Records the event. A failure to store it is logged, never shown to the user: the log line
/// is written either way.
pub async fn record(state: &AppState, event: AuditEvent) {
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
    let key = state.audit_key;
    let link = |previous: &str| link(&key, previous, &event);
    if let Err(error) = state.stores.audit.record(&event, &link).await {
        tracing::error!(%error, kind = event.kind.as_str(), "cannot store audit event");
    }
}

/// The chain value of `event` after a row whose value is `previous`: HMAC-SHA-256, under a key
/// derived from the master key, over `previous` and every field of the event.
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
    /// Rows whose chain value is right.
    pub verified: u64,
    /// Rows written before the chain began (no value), all older than the first linked row.
    pub before_chain: u64,
    /// The newest row's id and chain value: noted elsewhere, they show a later removal of the
    /// newest rows, which the chain alone cannot.
    pub last_id: Option<i64>,
    pub last_chain: Option<String>,
}

/// Walks the whole log, oldest first. Err names the first row where the chain breaks: that row
/// was changed, or the one before it removed or slipped in.
pub async fn verify(state: &AppState) -> Result<ChainReport, String> {
    const PAGE: u32 = 1000;
    let mut report = ChainReport {
        verified: 0,
        before_chain: 0,
        last_id: None,
        last_chain: None,
    };
    let mut previous = String::new();
    loop {
        let rows = state
            .stores
            .audit
            .chain_after(report.last_id.unwrap_or(0), PAGE)
            .await
            .map_err(|e| e.to_string())?;
        for (id, event, chain) in &rows {
            match chain {
                None if report.verified == 0 => report.before_chain += 1,
                None => return Err(format!("audit log row {id} has no chain value: altered")),
                Some(chain) => {
                    let expected = link(&state.audit_key, &previous, event);
                    if !idp_core::random::constant_time_eq(expected.as_bytes(), chain.as_bytes()) {
                        return Err(format!(
                            "audit log row {id} does not follow the row before it: it, or the row before it, was altered, removed or added"
                        ));
                    }
                    report.verified += 1;
                    previous.clone_from(chain);
                }
            }
            report.last_id = Some(*id);
        }
        if rows.len() < PAGE as usize {
            report.last_chain = (!previous.is_empty()).then_some(previous);
            return Ok(report);
        }
    }
}
