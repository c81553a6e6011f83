//! Pushed authorization requests (RFC 9126): the client sends the authorization request
//! straight to the provider, authenticated, and the browser carries only a short-lived,
//! single-use reference to it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;
use idp_core::model::{Consumed, EphemeralKind};
use idp_core::random::random_token;
use idp_oauth::authorization_request::{self, Arrival, Rejection};
use serde_json::json;

use super::client_request;
use crate::error::{JsonError, PageError};
use crate::i18n::Text;
use crate::oauth::dpop::{self, Refused};
use crate::oauth::mtls::Certificate;
use crate::state::AppState;

/// The prefix of the references PAR hands out (RFC 9126 §2.2).
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request waits for the browser.
const LIFETIME_SECS: i64 = 90;

/// Parameters that authenticate the client at the PAR endpoint and are not part of the
/// authorization request itself.
const CLIENT_AUTH_PARAMS: [&str; 3] =
    ["client_secret", "client_assertion", "client_assertion_type"];

pub async fn push(
    State(state): State<AppState>,
    certificate: Certificate,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &headers, &certificate, &body).await {
        Ok(answer) => (StatusCode::CREATED, Json(answer)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    certificate: &Certificate,
    body: &[u8],
) -> Result<serde_json::Value, Refused> {
    let (form, client) = client_request::read(state, headers, certificate, body).await?;
    let dpop_jkt = dpop::at_par_endpoint(state, headers, form.get("dpop_jkt")).await?;
    if form.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request("request_uri may not be pushed").into());
    }
    let mut pairs: Vec<(String, String)> = form
        .pairs()
        .iter()
        .filter(|(key, _)| !CLIENT_AUTH_PARAMS.contains(&key.as_str()) && key != "dpop_jkt")
        .cloned()
        .collect();
    pairs.extend(dpop_jkt.map(|jkt| ("dpop_jkt".to_owned(), jkt)));
    match form.get("client_id") {
        Some(id) if id != client.id => {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            )
            .into());
        }
        Some(_) => {}
        None => pairs.push(("client_id".to_owned(), client.id.clone())),
    }
    // A request object pushed (RFC 9126 §3) is verified now and kept as its parameters.
    // Checked now, so the client hears of a bad request at once and in JSON.
    let pairs = crate::oauth::request_objects::resolve_pushed(state, &client, pairs).await?;
    let clients = state.stores.clients.as_ref();
    let protocol = state.protocol();
    match authorization_request::check(pairs.clone(), clients, Arrival::Pushed, protocol).await {
        Ok(_) => {}
        Err(Rejection::Page(problem)) => {
            let message = Text::from(problem).in_locale(crate::i18n::Locale::En);
            return Err(OAuthError::invalid_request(message).into());
        }
        Err(Rejection::Redirect { error, .. }) => return Err(error.into()),
        Err(Rejection::Store(error)) => return Err(JsonError::from(error).into()),
    }
    let lifetime = idp_oauth::fapi::Rules::for_client(&client.metadata, protocol)
        .request_uri_lifetime(LIFETIME_SECS);
    let id = random_token(24);
    let payload =
        serde_json::to_value(&pairs).map_err(|e| idp_core::StoreError::Corrupt(e.to_string()))?;
    state
        .stores
        .ephemeral
        .put(
            EphemeralKind::PushedRequest,
            &id,
            &payload,
            state.now() + lifetime,
        )
        .await?;
    Ok(json!({ "request_uri": format!("{REQUEST_URI_PREFIX}{id}"), "expires_in": lifetime }))
}

/// The parameters of an authorization request: the pushed ones when `request_uri` refers to a
/// pushed request (used once, and only with the `client_id` that pushed it), else those given.
pub async fn resolve(
    state: &AppState,
    pairs: Vec<(String, String)>,
) -> Result<(Vec<(String, String)>, Arrival), PageError> {
    let Some(reference) = pairs
        .iter()
        .find(|(k, _)| k == "request_uri")
        .map(|(_, v)| v.clone())
    else {
        return Ok((pairs, Arrival::Direct));
    };
    let refused = || {
        PageError::bad_request(
            "authorize-refused-title",
            Text::new("authorize-request-used"),
        )
    };
    // Any other request_uri is a request object at a URL (`oauth::request_objects`).
    let Some(id) = reference.strip_prefix(REQUEST_URI_PREFIX) else {
        return Ok((pairs, Arrival::Direct));
    };
    // The client is checked before the request is used up, so that whoever merely saw the
    // URL cannot spend it.
    let store = &state.stores.ephemeral;
    let pushed = store
        .get(EphemeralKind::PushedRequest, id, state.now())
        .await?
        .ok_or_else(refused)?;
    let pushed: Vec<(String, String)> = serde_json::from_value(pushed)
        .map_err(|_| idp_core::StoreError::Corrupt("pushed request".into()))?;
    let pushed_client = pushed
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.as_str());
    let given_client = pairs
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.as_str());
    if pushed_client.is_none() || pushed_client != given_client {
        return Err(refused());
    }
    let consumed = store
        .consume(EphemeralKind::PushedRequest, id, state.now())
        .await?;
    if !matches!(consumed, Consumed::Fresh(_)) {
        return Err(refused());
    }
    Ok((pushed, Arrival::Pushed))
}
