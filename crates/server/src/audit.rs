//! The audit log: every security event as a row and as a structured log line (target `audit`),
//! with no secret in either.

use idp_core::model::{AuditEvent, AuditKind};

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
    if let Err(error) = state.stores.audit.record(&event).await {
        tracing::error!(%error, kind = event.kind.as_str(), "cannot store audit event");
    }
}
