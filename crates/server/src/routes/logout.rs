//! Sign-out: OpenID Connect RP-Initiated Logout 1.0 at `/logout`, and Back-Channel Logout 1.0
//! to every relying party the session signed in to. The person confirms on a page (so a link
//! on another site cannot sign them out), and is sent back only to a `post_logout_redirect_uri`
//! the client registered, character for character.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::model::{AuditKind, Client, Session};
use idp_core::random::random_token;
use idp_token_issuer::IdTokenClaims;
use serde::Deserialize;
use serde_json::json;

use super::session;
use crate::audit;
use crate::error::PageError;
use crate::i18n::Text;
use crate::oauth::authorization_request::append_query;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::extract::CsrfForm;
use crate::web::templates::render;
use crate::web::{cookies, csrf};

/// The event a logout token carries (Back-Channel Logout 1.0 §2.4).
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Deserialize, Default)]
pub struct LogoutRequest {
    #[serde(default)]
    id_token_hint: Option<String>,
    #[serde(default)]
    post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
}

fn refused(message: &'static str) -> PageError {
    PageError::bad_request("logout-refused-title", Text::new(message))
}

/// The client the request names (through the ID token hint's audience or `client_id`) and the
/// redirect it may use.
async fn check(
    state: &AppState,
    request: &LogoutRequest,
) -> Result<(Option<Client>, Option<String>), PageError> {
    let hinted = match request.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        Some(hint) => Some(
            state
                .keys()
                .verify_ignoring_expiry::<IdTokenClaims>(hint, "JWT", state.issuer())
                .map_err(|_| refused("logout-bad-id-token"))?
                .aud,
        ),
        None => None,
    };
    let named = request.client_id.clone().filter(|c| !c.is_empty());
    let client_id = match (hinted, named) {
        (Some(a), Some(b)) if a != b => {
            return Err(refused("logout-two-sites"));
        }
        (Some(a), _) | (None, Some(a)) => Some(a),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) => Some(
            state
                .stores
                .clients
                .find_client(id)
                .await?
                .ok_or_else(|| refused("logout-unknown-site"))?,
        ),
        None => None,
    };
    let redirect = match request
        .post_logout_redirect_uri
        .clone()
        .filter(|u| !u.is_empty())
    {
        None => None,
        Some(uri) => {
            let registered = client
                .as_ref()
                .is_some_and(|c| c.metadata.post_logout_redirect_uris.contains(&uri));
            if !registered {
                return Err(refused("logout-unknown-return"));
            }
            Some(uri)
        }
    };
    Ok((client, redirect))
}

async fn show(
    state: AppState,
    jar: CookieJar,
    request: LogoutRequest,
) -> Result<Response, PageError> {
    let (client, redirect) = check(&state, &request).await?;
    Ok(csrf::form_page(
        &state,
        jar,
        StatusCode::OK,
        "logout.html",
        json!({
            "client_name": client.as_ref().map(|c| c.name.clone()),
            "client_id": client.as_ref().map(|c| c.id.clone()),
            "post_logout_redirect_uri": redirect,
            "state": request.state,
        }),
    ))
}

pub async fn logout_get(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let request: LogoutRequest = serde_urlencoded::from_str(&query.unwrap_or_default())
        .map_err(|_| refused("logout-malformed"))?;
    show(state, jar, request).await
}

pub async fn logout_post(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Bytes,
) -> Result<Response, PageError> {
    let request: LogoutRequest =
        serde_urlencoded::from_bytes(&body).map_err(|_| refused("logout-malformed"))?;
    show(state, jar, request).await
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

pub async fn logout_confirm(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Result<Response, PageError> {
    let request = LogoutRequest {
        id_token_hint: None,
        post_logout_redirect_uri: form.post_logout_redirect_uri,
        state: form.state,
        client_id: form.client_id,
    };
    let (_, redirect) = check(&state, &request).await?;
    if let Some(current) = session::current(&state, &jar).await? {
        end(&state, &current, &from).await?;
    }
    let jar = jar.add(cookies::removal(&state, cookies::SESSION, "/"));
    match redirect {
        Some(uri) => {
            let target = match request.state.as_deref().filter(|s| !s.is_empty()) {
                Some(value) => append_query(&uri, &[("state", value)]),
                None => uri,
            };
            Ok((jar, Redirect::to(&target)).into_response())
        }
        None => Ok((jar, render(StatusCode::OK, "signed_out.html", json!({}))).into_response()),
    }
}

/// Ends a session: deleted at once, and every relying party it signed in to that registered a
/// `backchannel_logout_uri` is sent a logout token (in the background).
pub async fn end(
    state: &AppState,
    session: &Session,
    from: &ClientInfo,
) -> Result<(), idp_core::StoreError> {
    state
        .stores
        .sessions
        .delete_session(&session.id_hash)
        .await?;
    let event = audit::event(state, AuditKind::SessionEnded, from).user(&session.user_id);
    audit::record(state, event).await;
    for client_id in state.stores.grants.clients_of_session(&session.sid).await? {
        let Some(client) = state.stores.clients.find_client(&client_id).await? else {
            continue;
        };
        let Some(uri) = client.metadata.backchannel_logout_uri.clone() else {
            continue;
        };
        let now = state.now();
        let claims = json!({
            "iss": state.issuer(),
            "aud": client.id,
            "iat": now,
            "exp": now + 120,
            "jti": random_token(16),
            "sub": session.user_id,
            "sid": session.sid,
            "events": { BACKCHANNEL_EVENT: {} },
        });
        let token =
            match state
                .keys()
                .sign(client.id_token_signed_response_alg, "logout+jwt", &claims)
            {
                Ok(token) => token,
                Err(error) => {
                    tracing::error!(%error, "cannot sign a logout token");
                    continue;
                }
            };
        let http = if client.metadata.first_party {
            // Set up by an administrator: any address they chose.
            state.http.clone()
        } else {
            match public_client(&uri).await {
                Some(http) => http,
                None => {
                    tracing::warn!(client_id = %client.id, "back-channel logout URI does not resolve to a public address; not called");
                    continue;
                }
            }
        };
        tokio::spawn(async move {
            let sent = http
                .post(&uri)
                .form(&[("logout_token", token.as_str())])
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => {
                    tracing::warn!(client_id = %client.id, status = %response.status(), "back-channel logout refused")
                }
                Err(error) => {
                    tracing::warn!(client_id = %client.id, error = %error.without_url(), "back-channel logout failed")
                }
            }
        });
    }
    Ok(())
}

/// An HTTP client that reaches `uri`'s host only at the public address it resolves to now, so
/// a later DNS answer cannot point the request into the provider's own network.
async fn public_client(uri: &str) -> Option<reqwest::Client> {
    use crate::oauth::client_metadata::is_public_address;
    let url = url::Url::parse(uri).ok()?;
    // An IPv6 literal without its brackets, as the resolver takes it.
    let host = match url.host()? {
        url::Host::Domain(name) => name.to_owned(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    };
    let port = url.port_or_known_default()?;
    let addresses: Vec<_> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()?
        .collect();
    let address = *addresses.first()?;
    if addresses.iter().any(|a| !is_public_address(a.ip())) {
        return None;
    }
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, address)
        .build()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::public_client;

    #[tokio::test]
    async fn a_registered_logout_uri_is_called_only_where_it_resolves_to_public_addresses() {
        // Names are resolved when the call is made: `localhost` stands for any name whose
        // owner points it into the provider's network after registration.
        for uri in [
            "https://localhost/logout",
            "https://localhost:8443/logout",
            "http://127.0.0.1:9/logout",
            "https://10.0.0.7/logout",
            "https://192.168.1.1/logout",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/logout",
            "https://[fd00::1]/logout",
            "https://[::ffff:127.0.0.1]/logout",
            "https://100.64.0.1/logout",
            "https://0.0.0.0/logout",
            "not a url",
            "https://no-such-host.invalid/logout",
        ] {
            assert!(public_client(uri).await.is_none(), "{uri}");
        }
        // A public address is called (pinned to the address it resolved to).
        for uri in ["https://93.184.216.34/logout", "https://[2606:4700::1111]/"] {
            assert!(public_client(uri).await.is_some(), "{uri}");
        }
    }
}
