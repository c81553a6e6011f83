//! `/metrics`: the counters of `crate::metrics` with the gauges read now, for a scraper.

use std::fmt::Write as _;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// The metrics, with the gauges read now (the password and PIN hashing queue, the audit
/// events waiting for the database).
pub fn exposition_text(state: &AppState) -> String {
    let mut out = state.metrics.render();
    out.push_str("# HELP idp_dependency_ready Whether the last readiness probe found the backend able to serve (1) or not (0), with what it found.\n");
    out.push_str("# TYPE idp_dependency_ready gauge\n");
    let found = state.readiness.last();
    for (name, status) in found
        .as_deref()
        .map(crate::readiness::statuses)
        .unwrap_or_default()
    {
        let ready = u8::from(status == "ok");
        let _ = writeln!(
            out,
            "idp_dependency_ready{{dependency=\"{name}\",status=\"{status}\"}} {ready}"
        );
    }
    let spool = state.audit_spool.get();
    let _ = writeln!(
        out,
        "# HELP idp_audit_events_dropped_total Audit events that could not be kept at all: the audit spool could not be written and too many waited in memory.\n\
         # TYPE idp_audit_events_dropped_total counter\n\
         idp_audit_events_dropped_total {}",
        spool.map_or(0, |spool| spool.dropped())
    );
    let gauges = [
        (
            "idp_audit_events_waiting",
            "Audit events waiting in this node's spool for the database to take them.",
            spool.map_or(0, |spool| spool.waiting()).to_string(),
        ),
        (
            "idp_hash_queue_depth",
            "Password and PIN hashes waiting for a hashing slot.",
            state.hasher.waiting().to_string(),
        ),
        (
            "idp_hash_running",
            "Password and PIN hashes running now.",
            state.hasher.running().to_string(),
        ),
        (
            "idp_hash_seconds",
            "How long a password or PIN hash takes on this node (a moving average of the last \
             ones; 0 before the first). A sign-in takes two: one core completes about \
             1 / (2 x this) sign-ins a second.",
            state.hasher.takes().as_secs_f64().to_string(),
        ),
    ];
    let heard = state.redis.as_ref().map(|redis| {
        (
            "idp_revocations_heard",
            "Whether this node hears of revocations from the other nodes now (1), and so checks \
             access tokens from memory, or reads the database for each (0).",
            u8::from(redis.hears_revocations()).to_string(),
        )
    });
    for (name, help, value) in gauges.into_iter().chain(heard) {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    out
}

fn text(body: String) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

/// `/metrics` on the public listener: for a scraper on the same machine only (a loopback peer,
/// and no forwarding header: a reverse proxy on the same machine must not pass it on);
/// elsewhere, serve it on `metrics_listen` instead.
pub async fn exposition(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    let client =
        crate::web::client_info::client_ip(peer.ip(), &headers, &state.settings.trusted_proxies);
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|name| headers.contains_key(*name));
    if state.settings.metrics_listen.is_some() || !client.is_loopback() || forwarded {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    text(exposition_text(&state))
}

/// The router of the metrics listener: `/metrics` and nothing else.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(state): State<AppState>| async move {
                text(exposition_text(&state))
            }),
        )
        .with_state(state)
}
