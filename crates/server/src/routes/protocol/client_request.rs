//! What the token, revocation and introspection endpoints share: a form body whose parameters
//! each appear once, and an authenticated client.

use axum::http::{HeaderMap, header};
use idp_core::OAuthError;
use idp_core::model::Client;
use idp_oauth::client_auth::{self, AuthError, Presented};

use crate::error::JsonError;
use crate::state::AppState;

/// A parsed `application/x-www-form-urlencoded` body (RFC 6749 §3.2).
pub struct FormBody {
    pairs: Vec<(String, String)>,
}

impl FormBody {
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, JsonError> {
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
        // Percent-decoding replaces bytes that are not UTF-8 with U+FFFD: refuse those too.
        if pairs
            .iter()
            .any(|(name, value)| name.contains('\u{FFFD}') || value.contains('\u{FFFD}'))
        {
            return Err(OAuthError::invalid_request("a parameter is not valid UTF-8").into());
        }
        let mut seen = std::collections::HashSet::new();
        if let Some((name, _)) = pairs.iter().find(|(name, _)| !seen.insert(name.as_str())) {
            let name: String = name.chars().take(40).collect();
            return Err(
                OAuthError::invalid_request(format!("parameter `{name}` is repeated")).into(),
            );
        }
        Ok(Self { pairs })
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
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
