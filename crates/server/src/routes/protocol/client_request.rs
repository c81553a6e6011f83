//! What the token, revocation and introspection endpoints share: a form body whose parameters
//! each appear once, and an authenticated client.

use axum::http::{HeaderMap, header};
use idp_core::model::Client;
use idp_oauth::client_auth::{self, AuthError, Presented};
use idp_oauth::form_body;

use crate::error::JsonError;
use crate::state::AppState;

/// A parsed `application/x-www-form-urlencoded` body (RFC 6749 §3.2); the parsing is
/// `idp_oauth::form_body`'s.
pub struct FormBody(form_body::FormBody);

impl FormBody {
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, JsonError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        Ok(Self(form_body::FormBody::parse(content_type, body)?))
    }

    pub fn pairs(&self) -> &[(String, String)] {
        self.0.pairs()
    }

    /// The parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name)
    }

    /// The client the request authenticates as.
    pub async fn client(&self, state: &AppState, headers: &HeaderMap) -> Result<Client, JsonError> {
        let presented = Presented {
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            form_client_id: self.get("client_id"),
            form_client_secret: self.get("client_secret"),
            client_assertion_type: self.get("client_assertion_type"),
            client_assertion: self.get("client_assertion"),
        };
        let [issuer, token_endpoint] = &state.assertion_audiences;
        let authenticated = client_auth::authenticate(
            presented,
            state.stores.clients.as_ref(),
            state.stores.ephemeral.as_ref(),
            state.clock.as_ref(),
            &[issuer, token_endpoint],
        )
        .await;
        match authenticated {
            Ok(client) => Ok(client),
            Err(AuthError::OAuth(error)) => Err(error.into()),
            Err(AuthError::Store(error)) => Err(error.into()),
        }
    }
}
