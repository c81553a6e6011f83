//! Discovery (OpenID Connect Discovery 1.0 §3) and the JWKS (RFC 7517): exactly what is
//! implemented, nothing more.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use idp_token_issuer::KeySet;
use serde_json::json;

use crate::config::Settings;
use crate::oauth::{SCOPES_SUPPORTED, acr};
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

/// The discovery document for these settings and keys.
pub fn document(settings: &Settings, keys: &KeySet) -> serde_json::Value {
    let issuer = settings.issuer.as_str();
    let algs: Vec<&str> = keys.algorithms().iter().map(|a| a.as_str()).collect();
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "registration_endpoint": format!("{issuer}/register"),
        "pushed_authorization_request_endpoint": format!("{issuer}/par"),
        "require_pushed_authorization_requests": false,
        "end_session_endpoint": format!("{issuer}/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "revocation_endpoint": format!("{issuer}/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_endpoint": format!("{issuer}/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "jwks_uri": format!("{issuer}/jwks"),
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "acr_values_supported": acr::LEVELS,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
            "at_hash", "preferred_username", "email", "email_verified", "phone_number",
            "phone_number_verified"
        ],
        "claims_parameter_supported": true,
        "ui_locales_supported": crate::i18n::Locale::ALL.map(crate::i18n::Locale::code),
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
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
