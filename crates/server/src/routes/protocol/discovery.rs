//! Discovery (OpenID Connect Discovery 1.0 §3) and the JWKS (RFC 7517): exactly what is
//! implemented, nothing more.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub const CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
pub const JWKS_PATH: &str = "/jwks";

/// Served as rendered when the keys last changed (see `state::Published`).
pub async fn configuration(State(state): State<AppState>) -> Response {
    configuration_response(&state)
}

pub fn configuration_response(state: &AppState) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        state.published().discovery.clone(),
    )
        .into_response()
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    jwks_response(&state)
}

pub fn jwks_response(state: &AppState) -> Response {
    let published = state.published();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, published.jwks_cache_control.clone()),
        ],
        published.jwks.clone(),
    )
        .into_response()
}
