//! Readiness (`/readyz`), for the load balancer: see `crate::readiness`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::readiness::statuses;
use crate::state::AppState;

/// 200 when every backend is `ok`, else 503; the body names each.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let found = state
        .readiness
        .found(state.now(), &state.stores.health)
        .await;
    let statuses = statuses(&found);
    let ready = statuses.iter().all(|(_, status)| *status == "ok");
    let mut body = serde_json::json!({ "status": if ready { "ready" } else { "unavailable" } });
    for (name, status) in statuses {
        body[name] = serde_json::json!(status);
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}
