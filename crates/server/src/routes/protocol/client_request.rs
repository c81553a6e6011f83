//! What the token, revocation and introspection endpoints share: a form body whose parameters
//! each appear once, and an authenticated client.

use axum::http::{HeaderMap, header};
use idp_core::model::Client;
use idp_oauth::client_auth::{self, AuthError, Presented};
use idp_oauth::form_body::FormBody;

use crate::error::JsonError;
use crate::oauth::mtls::Certificate;
use crate::state::AppState;

/// The request's form body (RFC 6749 §3.2, parsed by `idp_oauth::form_body`) and the client
/// it authenticates as.
pub async fn read(
    state: &AppState,
    headers: &HeaderMap,
    certificate: &Certificate,
    body: &[u8],
) -> Result<(FormBody, Client), JsonError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let form = FormBody::parse(content_type, body)?;
    let presented = Presented {
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        form_client_id: form.get("client_id"),
        form_client_secret: form.get("client_secret"),
        client_assertion_type: form.get("client_assertion_type"),
        client_assertion: form.get("client_assertion"),
        certificate: certificate.get(),
    };
    let [issuer, token_endpoint] = &state.assertion_audiences;
    let authenticated = client_auth::authenticate(
        presented,
        state.stores.clients.as_ref(),
        &crate::oauth::client_keys::ClientKeysOf(state),
        state.stores.ephemeral.as_ref(),
        state.clock.as_ref(),
        &[issuer, token_endpoint],
        state.protocol(),
    )
    .await;
    match authenticated {
        Ok(client) => Ok((form, client)),
        Err(AuthError::OAuth(error)) => Err(error.into()),
        Err(AuthError::Store(error)) => Err(error.into()),
    }
}
