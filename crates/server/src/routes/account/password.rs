//! Changing the password, and the check of the current password that every change of a
//! secret or of the contacts asks for.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::hashing::Turn;
use idp_core::model::{AuditKind, Session, User};
use serde::Deserialize;

use super::{done, refused};
use crate::audit;
use crate::error::PageError;
use crate::i18n::{FieldError, Text};
use crate::messages;
use crate::session;
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;
use crate::web::extract::SignedInForm;

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<PasswordForm>,
) -> Result<Response, PageError> {
    if let Some(refusal) = wrong_current_password(
        &state,
        &jar,
        &session,
        &user,
        &from,
        &form.current_password,
        "current_password",
    )
    .await?
    {
        return Ok(refusal);
    }
    if let Err(why) =
        state
            .password_policy
            .check(&form.password, &form.password_confirm, &user.username)
    {
        return refused(
            &state,
            jar,
            &session,
            &user,
            StatusCode::BAD_REQUEST,
            FieldError::on(crate::i18n::password_field(why), why.into()),
        )
        .await;
    }
    let hash = state.hasher.hash(form.password.clone(), None).await?;
    state.stores.users.set_password(&user.id, &hash).await?;
    // Whatever was issued under the old password goes (relying parties must sign in again),
    // with every other session and trusted browser.
    session::credentials_changed(&state, &jar, &user.id, &from).await?;
    audit::record(
        &state,
        audit::event(&state, AuditKind::PasswordChanged, &from).user(&user.id),
    )
    .await;
    state.notifier.send_later(messages::password_changed(&user));
    done(&state, jar, &session, &user, "account-password-changed").await
}

/// The refusal to show when `typed` is not the user's current password, or `None` to go on.
/// These checks count toward the same password throttle as sign-in, so a signed-in browser
/// in the wrong hands cannot test passwords any faster than the sign-in page allows.
pub(super) async fn wrong_current_password(
    state: &AppState,
    jar: &CookieJar,
    session: &Session,
    user: &User,
    from: &ClientInfo,
    typed: &str,
    field: &'static str,
) -> Result<Option<Response>, PageError> {
    if let throttle::Verdict::Wait(wait) =
        throttle::password_attempt(state, &user.username, from.ip()).await?
    {
        let event = audit::event(state, AuditKind::PasswordThrottled, from).user(&user.id);
        audit::record(state, event).await;
        let message = FieldError::on(field, throttle::wait_message(wait));
        let status = StatusCode::TOO_MANY_REQUESTS;
        let mut page = refused(state, jar.clone(), session, user, status, message).await?;
        crate::error::retry_after_header(&mut page, wait);
        return Ok(Some(page));
    }
    let bounded = typed.chars().count() <= state.password_policy.max_length;
    let typed = if bounded { typed } else { "" };
    let checked = state
        .hasher
        .verify(
            Turn::New,
            typed.to_owned(),
            user.password_hash.clone(),
            None,
        )
        .await;
    let matches = match checked {
        Ok(matches) => matches,
        Err(error) => {
            // Never checked: the refusal is ours, and costs the person no try.
            throttle::password_unchecked(state, &user.username, from.ip()).await;
            return Err(error.into());
        }
    };
    if matches && bounded {
        crate::rehash::password(state, user, typed).await;
        throttle::password_succeeded(state, &user.username, from.ip()).await?;
        return Ok(None);
    }
    let error = FieldError::on(field, Text::new("account-password-wrong"));
    refused(
        state,
        jar.clone(),
        session,
        user,
        StatusCode::UNAUTHORIZED,
        error,
    )
    .await
    .map(Some)
}
