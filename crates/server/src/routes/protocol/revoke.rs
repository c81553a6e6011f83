//! Token revocation (RFC 7009). Revoking a refresh token revokes its whole grant, access tokens
//! included (§2.1); revoking an access token revokes that token. The answer is 200 whether or
//! not the token was known, so the endpoint tells nobody which tokens exist.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;
use idp_core::model::EphemeralKind;
use idp_oauth::access_token;
use idp_oauth::refresh_format::RefreshToken;
use idp_oauth::tokens::UserGrant;

use super::client_request;
use crate::oauth::mtls::Certificate;
use crate::state::AppState;
use idp_store_sql::Traffic;

pub async fn revoke(
    State(state): State<AppState>,
    certificate: Certificate,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match Traffic::Token
        .scope(handle(&state, &headers, &certificate, &body))
        .await
    {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    certificate: &Certificate,
    body: &[u8],
) -> Result<(), crate::oauth::dpop::Refused> {
    let (form, client) = client_request::read(state, headers, certificate, body).await?;
    // A client that proves a DPoP key here sends a good proof (RFC 9449 leaves revocation to
    // the server: a proof is checked when one comes, never required).
    crate::oauth::dpop::proven_key(state, headers, "POST", "/revoke", None).await?;
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let refresh = state
        .stores
        .ephemeral
        .get(
            EphemeralKind::RefreshToken,
            &RefreshToken::id_of(token),
            state.now(),
        )
        .await?
        .and_then(|payload| serde_json::from_value::<UserGrant>(payload).ok());
    if let Some(grant) = refresh {
        // Only the client it was issued to may revoke it (§2.1); others learn nothing.
        if grant.client_id == client.id {
            state
                .stores
                .grants
                .revoke_grant(&grant.grant_id, state.now())
                .await?;
        }
        return Ok(());
    }
    if let Some(claims) = state.active_access_token(token).await?
        && claims.client_id == client.id
    {
        access_token::revoke(&claims, state.stores.ephemeral.as_ref()).await?;
    }
    Ok(())
}
