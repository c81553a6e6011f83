//! The sign-in pages of an interaction: password, then PIN, then back to the relying party.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::model::User;
use idp_pin_verifier::PinOutcome;
use serde::Deserialize;
use serde_json::json;

use super::session;
use crate::error::PageError;
use crate::oauth::interaction::{Interaction, issue_code, session_satisfies};
use crate::state::AppState;
use crate::web::csrf;
use crate::web::templates::render;

const WRONG_PASSWORD: &str = "That username or password is not correct.";

/// The interaction named in the path, if this browser started it.
async fn load(state: &AppState, jar: &CookieJar, id: &str) -> Result<Interaction, PageError> {
    let interaction = Interaction::load(state, id)
        .await?
        .ok_or_else(PageError::expired)?;
    if !csrf::is_bound(state, jar, &interaction.browser) {
        return Err(PageError::expired());
    }
    Ok(interaction)
}

/// Ends the interaction and sends the browser back to the relying party with a code.
async fn finish(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
    session: &idp_core::model::Session,
) -> Result<Response, PageError> {
    let target = issue_code(state, &interaction.request, session).await?;
    state
        .stores
        .ephemeral
        .delete(idp_core::model::EphemeralKind::Interaction, &interaction.id)
        .await?;
    Ok((jar, Redirect::to(&target)).into_response())
}

fn login_page(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> Response {
    let (jar, token) = csrf::issue(state, jar);
    let page = render(
        status,
        "login.html",
        json!({
            "client_name": interaction.client_name,
            "action": interaction.path(),
            "interaction": interaction.id,
            "csrf": token,
            "username": username,
            "error": error,
        }),
    );
    (jar, page).into_response()
}

pub async fn password_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let interaction = load(&state, &jar, &id).await?;
    // Back from sign-up, the browser has a session made for this request.
    if let Some(session) = session::current(&state, &jar).await?
        && (interaction.signed_up_sid.as_deref() == Some(session.sid.as_str())
            || session_satisfies(&interaction.request, &session, state.now()))
    {
        return finish(&state, jar, &interaction, &session).await;
    }
    let hint = interaction.request.login_hint.clone().unwrap_or_default();
    Ok(login_page(
        &state,
        jar,
        &interaction,
        StatusCode::OK,
        &hint,
        None,
    ))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn password_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    if !csrf::verify(&state, &jar, &form.csrf) {
        return Err(PageError::csrf());
    }
    let mut interaction = load(&state, &jar, &id).await?;
    let user = match check_password(&state, &form.username, &form.password).await? {
        Some(user) => user,
        None => {
            tracing::info!(client_id = %interaction.request.client_id, "sign-in refused: wrong username or password");
            return Ok(login_page(
                &state,
                jar,
                &interaction,
                StatusCode::UNAUTHORIZED,
                form.username.trim(),
                Some(WRONG_PASSWORD),
            ));
        }
    };
    interaction.user_id = Some(user.id);
    interaction.save(&state).await?;
    Ok(Redirect::to(&format!("{}/pin", interaction.path())).into_response())
}

/// The user whose password this is, or `None`. An unknown or malformed username costs the
/// same Argon2id verification as a wrong password, so neither the answer nor its timing tells
/// whether the username exists.
async fn check_password(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<Option<User>, PageError> {
    let user = match idp_core::validate::username(username) {
        Ok(name) => state.stores.users.find_user_by_username(&name).await?,
        Err(_) => None,
    };
    let bounded = password.chars().count() <= state.password_policy.max_length;
    let stored = user.as_ref().map_or_else(
        || state.dummy_password_hash.clone(),
        |u| u.password_hash.clone(),
    );
    let typed = if bounded {
        password.to_owned()
    } else {
        String::new()
    };
    let matches = state.hasher.verify(typed, stored, None).await?;
    Ok(user.filter(|_| matches && bounded))
}

async fn interaction_user(
    state: &AppState,
    jar: &CookieJar,
    id: &str,
) -> Result<(Interaction, User), PageError> {
    let interaction = load(state, jar, id).await?;
    let Some(user_id) = interaction.user_id.as_deref() else {
        return Err(PageError::expired());
    };
    let user = state
        .stores
        .users
        .find_user(user_id)
        .await?
        .ok_or_else(PageError::expired)?;
    Ok((interaction, user))
}

fn pin_page_response(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
    user: &User,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let (jar, token) = csrf::issue(state, jar);
    let page = render(
        status,
        "pin.html",
        json!({
            "client_name": interaction.client_name,
            "username": user.username,
            "action": format!("{}/pin", interaction.path()),
            "csrf": token,
            "error": error,
        }),
    );
    (jar, page).into_response()
}

fn locked_page(state: &AppState, message: &str) -> Response {
    render(
        StatusCode::FORBIDDEN,
        "locked.html",
        json!({ "message": message, "max_attempts": state.pins.max_attempts() }),
    )
}

fn tries_left_message(tries_left: u32) -> String {
    match tries_left {
        1 => "That PIN is not correct. 1 try left.".to_owned(),
        n => format!("That PIN is not correct. {n} tries left."),
    }
}

pub async fn pin_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (interaction, user) = interaction_user(&state, &jar, &id).await?;
    if user.pin_failures >= state.pins.max_attempts() {
        return Ok(locked_page(&state, "Too many wrong PINs were entered."));
    }
    let tries_left = state.pins.max_attempts() - user.pin_failures;
    let notice =
        (user.pin_failures > 0).then(|| format!("{tries_left} tries left before your PIN locks."));
    Ok(pin_page_response(
        &state,
        jar,
        &interaction,
        &user,
        StatusCode::OK,
        notice,
    ))
}

#[derive(Deserialize)]
pub struct PinForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pin: String,
}

pub async fn pin_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<PinForm>,
) -> Result<Response, PageError> {
    if !csrf::verify(&state, &jar, &form.csrf) {
        return Err(PageError::csrf());
    }
    let (interaction, user) = interaction_user(&state, &jar, &id).await?;
    let typed = form.pin.trim();
    match state.pins.verify(&user, typed).await? {
        PinOutcome::Correct => {
            let (jar, session) = session::start(&state, jar, &user.id).await?;
            tracing::info!(client_id = %interaction.request.client_id, "signed in with password and PIN");
            finish(&state, jar, &interaction, &session).await
        }
        PinOutcome::Wrong { tries_left: 0 } => {
            tracing::warn!("PIN locked after too many wrong tries");
            Ok(locked_page(
                &state,
                "That PIN is not correct, and your PIN is now locked.",
            ))
        }
        PinOutcome::Wrong { tries_left } => {
            let message = tries_left_message(tries_left);
            Ok(pin_page_response(
                &state,
                jar,
                &interaction,
                &user,
                StatusCode::UNAUTHORIZED,
                Some(message),
            ))
        }
        PinOutcome::Locked => Ok(locked_page(&state, "Too many wrong PINs were entered.")),
        PinOutcome::NotDigits => {
            let message = "Your PIN is numbers only.".to_owned();
            Ok(pin_page_response(
                &state,
                jar,
                &interaction,
                &user,
                StatusCode::BAD_REQUEST,
                Some(message),
            ))
        }
        PinOutcome::NotSet => Err(PageError::bad_request(
            "Your account needs a new PIN",
            "Your PIN was reset. Contact support to choose a new one.",
        )),
    }
}
