//! The token endpoint (RFC 6749 §3.2): authenticates the client, then hands the request to its
//! grant type.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use idp_core::ErrorCode;
use idp_core::OAuthError;

use crate::error::JsonError;
use crate::oauth::authorization_code::{self, CodeRequest};
use crate::oauth::client_auth::{self, AuthError, Presented};
use crate::state::AppState;

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match handle(&state, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, JsonError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )
        .into());
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::invalid_request("the body is not valid UTF-8"))?;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect();
    let mut seen = std::collections::HashSet::new();
    if let Some((name, _)) = pairs.iter().find(|(name, _)| !seen.insert(name.as_str())) {
        return Err(OAuthError::invalid_request(format!(
            "parameter `{}` is repeated",
            name.chars().take(40).collect::<String>()
        ))
        .into());
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    };
    let presented = Presented {
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        form_client_id: get("client_id"),
        form_client_secret: get("client_secret"),
    };
    let client = match client_auth::authenticate(presented, state.stores.clients.as_ref()).await {
        Ok(client) => client,
        Err(AuthError::OAuth(error)) => return Err(error.into()),
        Err(AuthError::Store(error)) => return Err(error.into()),
    };
    let response = match get("grant_type") {
        Some("authorization_code") => {
            let request = CodeRequest {
                code: get("code"),
                redirect_uri: get("redirect_uri"),
                code_verifier: get("code_verifier"),
            };
            authorization_code::exchange(state, &client, request).await?
        }
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "this grant type is not supported",
            )
            .into());
        }
        None => return Err(OAuthError::invalid_request("grant_type is required").into()),
    };
    Ok(([(header::PRAGMA, "no-cache")], Json(response)).into_response())
}
