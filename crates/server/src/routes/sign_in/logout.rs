//! Sign-out: OpenID Connect RP-Initiated Logout 1.0 at `/logout`, and Back-Channel Logout 1.0
//! to every relying party the session signed in to. The person confirms on a page (so a link
//! on another site cannot sign them out), and is sent back only to a `post_logout_redirect_uri`
//! the client registered, character for character.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::model::Client;
use idp_oauth::authorization_request::append_query;
use serde::Deserialize;
use serde_json::json;

use crate::error::PageError;
use crate::i18n::Text;
use crate::session;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::extract::CsrfForm;
use crate::web::templates::render;
use crate::web::{cookies, csrf};

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
            crate::oauth::id_token_hint::verify(state, hint)
                .ok_or_else(|| refused("logout-bad-id-token"))?
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
        session::end(&state, &current, &from).await?;
    }
    let jar = jar.add(cookies::removal(&state.settings, cookies::SESSION, "/"));
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
