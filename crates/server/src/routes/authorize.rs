//! The authorization endpoint (RFC 6749 §3.1, OpenID Connect Core §3.1.2): checks the request,
//! answers from the SSO session when it can, and otherwise starts the sign-in.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::{ErrorCode, OAuthError};

use super::session;
use crate::error::PageError;
use crate::i18n::Text;
use crate::oauth::authorization_request::{self, Prompt, Rejection, error_redirect};
use crate::oauth::interaction::{Interaction, issue_code, session_satisfies};
use crate::state::AppState;
use crate::web::csrf;

pub async fn authorize_get(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes())?;
    authorize(state, jar, pairs).await
}

/// OpenID Connect Core §3.1.2.1: the endpoint also takes form posts.
pub async fn authorize_post(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Bytes,
) -> Result<Response, PageError> {
    let pairs = parse_pairs(&body)?;
    authorize(state, jar, pairs).await
}

fn parse_pairs(raw: &[u8]) -> Result<Vec<(String, String)>, PageError> {
    // form_urlencoded replaces invalid UTF-8 with U+FFFD; refuse such input outright instead.
    if std::str::from_utf8(raw).is_err() {
        return Err(PageError::bad_request(
            "authorize-refused-title",
            Text::new("authorize-not-utf8"),
        ));
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw).into_owned().collect();
    if pairs
        .iter()
        .any(|(k, v)| k.contains('\u{FFFD}') || v.contains('\u{FFFD}'))
    {
        return Err(PageError::bad_request(
            "authorize-refused-title",
            Text::new("authorize-not-utf8"),
        ));
    }
    Ok(pairs)
}

async fn authorize(
    state: AppState,
    jar: CookieJar,
    pairs: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let (pairs, arrival) = super::par::resolve(&state, pairs).await?;
    let clients = state.stores.clients.as_ref();
    let (request, client) = match authorization_request::check(pairs, clients, arrival).await {
        Ok(checked) => checked,
        Err(Rejection::Page(message)) => {
            return Err(PageError::bad_request("authorize-refused-title", message));
        }
        Err(Rejection::Redirect {
            redirect_uri,
            state: rp_state,
            error,
        }) => {
            let target = error_redirect(&redirect_uri, rp_state.as_deref(), &error, state.issuer());
            return Ok(Redirect::to(&target).into_response());
        }
        Err(Rejection::Store(error)) => return Err(error.into()),
    };
    let now = state.now();
    let session = session::current(&state, &jar).await?;
    if let Some(session) = &session
        && session_satisfies(&request, session, now)
    {
        if super::consent::needed(&state, &client, &session.user_id, &request.scopes).await? {
            if request.prompt == Some(Prompt::None) {
                let error = OAuthError::new(
                    ErrorCode::ConsentRequired,
                    "the user has not allowed this client",
                );
                let target = error_redirect(
                    &request.redirect_uri,
                    request.state.as_deref(),
                    &error,
                    state.issuer(),
                );
                return Ok(Redirect::to(&target).into_response());
            }
            let (jar, browser) = csrf::browser_binding(&state, jar);
            let interaction = Interaction::start(&state, browser, request, client.name).await?;
            let target = super::consent::ask(&state, interaction, session).await?;
            return Ok((jar, Redirect::to(&target)).into_response());
        }
        let target = issue_code(&state, &request, session).await?;
        return Ok(Redirect::to(&target).into_response());
    }
    if request.prompt == Some(Prompt::None) {
        let error = OAuthError::new(ErrorCode::LoginRequired, "the user must sign in");
        let target = error_redirect(
            &request.redirect_uri,
            request.state.as_deref(),
            &error,
            state.issuer(),
        );
        return Ok(Redirect::to(&target).into_response());
    }
    let (jar, browser) = csrf::browser_binding(&state, jar);
    let step_up = request.prompt != Some(Prompt::Login);
    let mut interaction = Interaction::start(&state, browser, request, client.name).await?;
    if let Some(session) = session.filter(|_| step_up) {
        // Step-up: the session's sign-in is too old or too weak for this request. The person
        // is known and gave their password in this session; only the PIN is asked again (and
        // the device code where the requested level needs it).
        interaction.password_verified(session.user_id);
        interaction.step_up_sid = Some(session.sid);
        interaction.save(&state).await?;
        return Ok((jar, Redirect::to(&format!("{}/pin", interaction.path()))).into_response());
    }
    Ok((jar, Redirect::to(&interaction.path())).into_response())
}
