//! Token introspection (RFC 7662), for authenticated confidential clients such as resource
//! servers. An active access token's answer includes `acr` and `auth_time`, so a resource
//! server can demand fresh or stronger authentication (RFC 9470). A refresh token is described
//! only to the client it was issued to.
//!
//! Who learns what (RFC 7662 §2.1 leaves it to the server; §2.2 answers `active: false` for
//! the rest): every client about its own tokens; a resource server (`idp client create
//! --resource-server`) about other clients' access tokens too, but about an admin token only
//! when it is an admin client itself.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use idp_core::model::{Client, EphemeralKind};
use idp_core::{ErrorCode, OAuthError};
use idp_oauth::refresh_format::RefreshToken;
use idp_oauth::tokens::UserGrant;
use serde_json::{Value, json};

use super::client_request;
use crate::error::JsonError;
use crate::oauth::mtls::Certificate;
use crate::state::AppState;
use idp_store_sql::Traffic;

pub async fn introspect(
    State(state): State<AppState>,
    certificate: Certificate,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match Traffic::Token
        .scope(handle(&state, &headers, &certificate, &body))
        .await
    {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    certificate: &Certificate,
    body: &[u8],
) -> Result<Value, JsonError> {
    let (form, client) = client_request::read(state, headers, certificate, body).await?;
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "introspection needs a confidential client",
        )
        .into());
    }
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    if let Some(claims) = state.active_access_token(token).await?
        && may_see(&client, &claims.client_id, &claims.scope)
    {
        let mut answer = json!({
            "active": true,
            // RFC 9449 §6.2; a token bound to a certificate alone is a Bearer token
            // (RFC 8705 §3).
            "token_type": if claims.cnf.as_ref().is_some_and(|c| c.jkt.is_some()) { "DPoP" } else { "Bearer" },
            "scope": claims.scope,
            "client_id": claims.client_id,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
        });
        if let Some(auth_time) = claims.auth_time {
            answer["auth_time"] = json!(auth_time);
        }
        if let Some(acr) = claims.acr {
            answer["acr"] = json!(acr);
        }
        if let Some(cnf) = claims.cnf {
            answer["cnf"] = json!(cnf);
        }
        return Ok(answer);
    }
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
    if let Some(grant) = refresh
        && grant.client_id == client.id
        && state.stores.grants.grant_is_active(&grant.grant_id).await?
    {
        return Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": grant.scopes.join(" "),
            "client_id": grant.client_id,
            "sub": state.subject_for(&client, &grant.user_id),
            "iss": state.issuer(),
            "auth_time": grant.auth_time,
            "acr": grant.acr,
        }));
    }
    Ok(json!({ "active": false }))
}

/// Whether `client` may learn about an access token issued to `owner` with `scope`.
fn may_see(client: &Client, owner: &str, scope: &str) -> bool {
    if owner == client.id {
        return true;
    }
    let admin_token = scope.split(' ').any(|s| s == "admin");
    client.metadata.resource_server && (client.admin || !admin_token)
}
