//! Changing the PIN: the new one is checked against the PIN rules, the current one must be
//! typed (and counts toward its lockout); and that check of the current PIN, which removing a
//! second factor asks for too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::hashing::Turn;
use idp_core::model::{AuditKind, Session, User};
use idp_pin_verifier::PinOutcome;
use serde::Deserialize;

use super::{done, refused};
use crate::audit;
use crate::error::PageError;
use crate::i18n::{FieldError, Text};
use crate::messages;
use crate::session;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::extract::SignedInForm;

#[derive(Deserialize)]
pub struct PinForm {
    #[serde(default)]
    current_pin: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    pin_confirm: String,
}

pub async fn change_pin(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<PinForm>,
) -> Result<Response, PageError> {
    let (pin, confirmation) = (form.pin.trim(), form.pin_confirm.trim());
    // The new PIN is checked first, so that a typo in it does not cost a try of the current one.
    if let Err(why) = state
        .pins
        .policy()
        .check_new(pin, confirmation, user.phone.as_deref())
    {
        return refused(
            &state,
            jar,
            &session,
            &user,
            StatusCode::BAD_REQUEST,
            FieldError::on(
                if why == idp_pin_verifier::PinRejection::Mismatch {
                    "new_pin_confirm"
                } else {
                    "new_pin"
                },
                why.into(),
            ),
        )
        .await;
    }
    if let Some(refusal) = wrong_current_pin(
        &state,
        &jar,
        &session,
        &user,
        &from,
        &form.current_pin,
        "current_pin",
    )
    .await?
    {
        return Ok(refusal);
    }
    if state
        .pins
        .matches_hash(pin, user.pin_hash.as_deref().unwrap_or_default())
        .await?
    {
        let error = FieldError::on("new_pin", Text::new("account-pin-same"));
        return refused(&state, jar, &session, &user, StatusCode::BAD_REQUEST, error).await;
    }
    let hash = state.pins.hash_new_pin(pin).await?;
    state.stores.users.set_pin(&user.id, Some(&hash)).await?;
    // Whoever else knew the old PIN is signed out everywhere else.
    session::credentials_changed(&state, &jar, &user.id, &from).await?;
    audit::record(
        &state,
        audit::event(&state, AuditKind::PinChanged, &from).user(&user.id),
    )
    .await;
    state.notifier.send_later(messages::pin_changed(&user));
    done(&state, jar, &session, &user, "account-pin-changed").await
}

/// The refusal to show when `typed` is not the user's current PIN, or `None` to go on. A
/// wrong PIN counts toward the PIN's lockout, as at sign-in; something not digits does not.
pub(super) async fn wrong_current_pin(
    state: &AppState,
    jar: &CookieJar,
    session: &Session,
    user: &User,
    from: &ClientInfo,
    typed: &str,
    field: &'static str,
) -> Result<Option<Response>, PageError> {
    let error = match state.pins.verify(Turn::New, user, typed.trim()).await? {
        PinOutcome::Correct => return Ok(None),
        PinOutcome::Wrong { tries_left: 0 } | PinOutcome::Locked => {
            let event = audit::event(state, AuditKind::PinLocked, from).user(&user.id);
            audit::record(state, event).await;
            state.notifier.send_later(messages::pin_locked(user));
            Text::new("account-pin-wrong-locked")
        }
        PinOutcome::Wrong { tries_left } => {
            let event = audit::event(state, AuditKind::PinWrong, from)
                .user(&user.id)
                .detail(format!("{tries_left} tries left"));
            audit::record(state, event).await;
            Text::new("account-pin-wrong").count("tries", i64::from(tries_left))
        }
        PinOutcome::NotDigits => Text::new("pin-numbers-only"),
        PinOutcome::NotSet => Text::new("account-no-pin"),
    };
    let error = FieldError::on(field, error);
    let status = StatusCode::UNAUTHORIZED;
    refused(state, jar.clone(), session, user, status, error)
        .await
        .map(Some)
}
