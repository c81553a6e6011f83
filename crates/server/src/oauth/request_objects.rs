//! Request objects (RFC 9101) with what only the server has: the clients' keys it fetched,
//! the `request_uri` fetched through [`outbound::fetch`], the clock and the settings. The
//! protocol is in [`idp_oauth::request_object`].

use async_trait::async_trait;
use idp_core::model::Client;
use idp_core::{ErrorCode, OAuthError};
use idp_oauth::authorization_request::Rejection;
use idp_oauth::request_object::{self, Expected, RequestUris};

use super::client_keys::ClientKeysOf;
use super::outbound::{self, Caller};
use crate::state::AppState;

/// The media types a request object comes as (RFC 9101 §10.2).
const ACCEPT: &str = "application/oauth-authz-req+jwt, application/jwt";

/// Fetches `request_uri`s for the clients that give them.
pub struct RequestUrisOf<'a>(pub &'a AppState);

#[async_trait]
impl RequestUris for RequestUrisOf<'_> {
    async fn fetch(&self, client: &Client, uri: &str) -> Result<String, OAuthError> {
        let refused = |why: String| {
            OAuthError::new(ErrorCode::InvalidRequestUri, format!("request_uri: {why}"))
        };
        let parsed = url::Url::parse(uri).map_err(|_| refused("not an absolute URL".into()))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(refused("must be an https URL".into()));
        }
        let without_fragment = |uri: &str| uri.split('#').next().unwrap_or_default().to_owned();
        let registered = &client.metadata.request_uris;
        if !registered.is_empty()
            && !registered
                .iter()
                .any(|r| without_fragment(r) == without_fragment(uri))
        {
            return Err(refused(
                "not one of the request_uris the client registered".into(),
            ));
        }
        // The URL comes with the request, from anyone: it is called at any address only when
        // an administrator registered it for their own client; otherwise, like every URL a
        // client gave, over https at a public address.
        let listed = registered
            .iter()
            .any(|r| without_fragment(r) == without_fragment(uri));
        let caller = if client.metadata.first_party && listed {
            Caller::Trusted
        } else {
            Caller::Registered
        };
        let fetched = outbound::fetch(&self.0.http, uri, caller, ACCEPT)
            .await
            .map_err(|e| refused(e.to_string()))?;
        String::from_utf8(fetched.body)
            .map(|text| text.trim().to_owned())
            .map_err(|_| refused("the document is not text".into()))
    }
}

fn expected(state: &AppState) -> Expected<'_> {
    Expected {
        issuer: state.issuer(),
        now: state.now(),
        allow_unsigned: state.settings.protocol.unsigned_request_objects,
    }
}

/// A pushed request's parameters with those of its request object in place (see
/// [`request_object::resolve_pushed`]).
pub async fn resolve_pushed(
    state: &AppState,
    client: &Client,
    pairs: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, OAuthError> {
    let keys = ClientKeysOf(state);
    let mut expected = expected(state);
    expected.allow_unsigned &=
        idp_oauth::fapi::Rules::for_client(&client.metadata, state.protocol())
            .allows_unsigned_request_objects();
    request_object::resolve_pushed(pairs, client, &keys, expected).await
}

/// The authorization request's parameters with those of its request object in place (see
/// [`request_object::resolve`]).
pub async fn resolve(
    state: &AppState,
    pairs: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, Rejection> {
    let expected = expected(state);
    request_object::resolve(
        pairs,
        state.stores.clients.as_ref(),
        &ClientKeysOf(state),
        &RequestUrisOf(state),
        expected,
    )
    .await
}
