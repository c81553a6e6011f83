//! The token endpoint (RFC 6749 §3.2): authenticates the client, then hands the request to its
//! grant type.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use idp_core::{ErrorCode, OAuthError};
use idp_oauth::authorization_code::CodeRequest;
use idp_oauth::client_credentials;
use idp_oauth::client_metadata::GRANT_TYPES;
use idp_oauth::issuer::Proven;

use super::client_request;
use crate::error::JsonError;
use crate::oauth::dpop::{self, Refused};
use crate::oauth::grants;
use crate::oauth::mtls::Certificate;
use crate::state::AppState;
use idp_store_sql::Traffic;

pub async fn token(
    State(state): State<AppState>,
    certificate: Certificate,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &headers, &certificate, &body).await {
        Ok(response) => dpop::with_nonce(&state, response),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    certificate: &Certificate,
    body: &[u8],
) -> Result<Response, Refused> {
    let (form, client) = client_request::read(state, headers, certificate, body).await?;
    let (jkt, x5t) = dpop::at_token_endpoint(state, headers, &client, certificate.get()).await?;
    let proven = Proven {
        dpop_jkt: jkt.as_deref(),
        certificate: x5t.as_deref(),
    };
    // A grant type this server does not implement is `unsupported_grant_type` below, whatever
    // the client registered; one it does but the client may not use is `unauthorized_client`
    // (RFC 6749 §5.2).
    if let Some(grant_type) = form.get("grant_type")
        && GRANT_TYPES.contains(&grant_type)
        && !client.may_use_grant(grant_type)
    {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not registered for that grant type",
        )
        .into());
    }
    let response = match form.get("grant_type") {
        Some("authorization_code") => {
            let request = CodeRequest {
                code: form.get("code"),
                redirect_uri: form.get("redirect_uri"),
                code_verifier: form.get("code_verifier"),
            };
            grants::exchange_code(state, &client, request, proven).await?
        }
        // Token traffic: many, quick, retried by machines; it waits for connections of its
        // own (a code exchange, the last step of a person's sign-in, does not).
        Some("refresh_token") => {
            let refresh = grants::exchange_refresh_token(
                state,
                &client,
                form.get("refresh_token"),
                form.get("scope"),
                proven,
            );
            Traffic::Token.scope(refresh).await?
        }
        Some("client_credentials") => {
            let scopes = client_credentials::granted_scopes(&client, form.get("scope"))
                .map_err(JsonError::from)?;
            grants::issue_for_client(state, &client, &scopes, proven)?
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
