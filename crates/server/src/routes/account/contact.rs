//! The contact details: a new (or the current unconfirmed) e-mail address or phone number is
//! sent a one-time code, and counts only once the code comes back.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::model::{AuditKind, Channel, CodePurpose};
use idp_core::{StoreError, validate};
use idp_recovery::CodeCheck;
use serde::Deserialize;

use super::password::wrong_current_password;
use super::{done, refused};
use crate::audit;
use crate::codes::{self, PendingContact, Sent};
use crate::error::{Expired, PageError};
use crate::i18n::{FieldError, Text};
use crate::messages;
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;
use crate::web::code_entry::{self, CodePage, CodeScreen, Resend};
use crate::web::extract::{SignedIn, SignedInForm};

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    channel: String,
    /// The new address or number; empty to confirm the current one.
    #[serde(default)]
    value: String,
}

/// Sends a code to a new contact, or to the current unconfirmed one; the contact counts only
/// once the code comes back. Needs the password: the contacts are where recovery codes go.
pub async fn start_contact_change(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<ContactForm>,
) -> Result<Response, PageError> {
    if let Some(refusal) = wrong_current_password(
        &state,
        &jar,
        &session,
        &user,
        &from,
        &form.current_password,
        "contact_password",
    )
    .await?
    {
        return Ok(refusal);
    }
    let refuse = |message: Text| (StatusCode::BAD_REQUEST, FieldError::on("value", message));
    let checked = match (Channel::parse(&form.channel), form.value.trim()) {
        (Some(Channel::Email), "") => Ok((Channel::Email, user.email.clone())),
        (Some(Channel::Email), typed) => validate::email(typed)
            .map(|v| (Channel::Email, v))
            .map_err(|e| refuse(e.into())),
        (Some(Channel::Sms), "") => user
            .phone
            .clone()
            .map(|p| (Channel::Sms, p))
            .ok_or_else(|| refuse(Text::new("account-enter-phone"))),
        (Some(Channel::Sms), typed) => validate::phone(typed)
            .map(|v| (Channel::Sms, v))
            .map_err(|e| refuse(e.into())),
        (None, _) => Err((
            StatusCode::BAD_REQUEST,
            FieldError::general(Text::new("account-choose-channel")),
        )),
    };
    let (channel, value) = match checked {
        Ok(found) => found,
        Err((status, message)) => {
            return refused(&state, jar, &session, &user, status, message).await;
        }
    };
    let sent = codes::send_contact_confirmation(&state, &user.id, channel, value).await?;
    let (status, message) = match sent {
        Sent::Delivered => return Ok((jar, Redirect::to("/account/contact/code")).into_response()),
        Sent::TooMany => (StatusCode::TOO_MANY_REQUESTS, "recover-too-many-codes"),
        Sent::NotDelivered => (StatusCode::SERVICE_UNAVAILABLE, "code-not-sent"),
    };
    let message = FieldError::general(Text::new(message));
    refused(&state, jar, &session, &user, status, message).await
}

fn code_form(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    error: Option<FieldError>,
) -> Response {
    CodeScreen {
        page: CodePage::Contact,
        title: Text::new("code-title"),
        hint: Text::new("code-sent"),
        action: "/account/contact/code".to_owned(),
        submit: Text::new("account-code-confirm"),
        resend: Resend::Back("/account".to_owned()),
        questions: Vec::new(),
        app: None,
        passkey: None,
        cancel: None,
    }
    .render(state, jar, status, error)
}

pub async fn contact_code_page(
    State(state): State<AppState>,
    jar: CookieJar,
    _: SignedIn,
) -> Result<Response, PageError> {
    Ok(code_form(&state, jar, StatusCode::OK, None))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn confirm_contact(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<CodeForm>,
) -> Result<Response, PageError> {
    let tried = throttle::per_ip_try(&state, throttle::Action::CodeTry, from.ip()).await?;
    let store = state.stores.codes.as_ref();
    let checked = state
        .codes
        .check(
            store,
            CodePurpose::Contact,
            &user.id,
            &form.code,
            state.now(),
        )
        .await;
    let outcome = tried
        .settle(&state, checked, |o| matches!(o, CodeCheck::Wrong { .. }))
        .await?;
    let data = match outcome {
        CodeCheck::Correct(data) => data,
        CodeCheck::Wrong { tries_left } => {
            let message = code_entry::wrong_code(tries_left, false);
            return Ok(code_form(
                &state,
                jar,
                StatusCode::UNAUTHORIZED,
                Some(message),
            ));
        }
        CodeCheck::Blocked => return Err(PageError::CodesBlocked),
        CodeCheck::Spent => {
            let error = FieldError::general(Text::new("code-expired-ask"));
            return refused(&state, jar, &session, &user, StatusCode::GONE, error).await;
        }
    };
    let pending: PendingContact = serde_json::from_value(data)
        .map_err(|_| StoreError::Corrupt("contact code data".into()))?;
    let changed = match pending.channel {
        Channel::Email => user.email != pending.value,
        Channel::Sms => user.phone.as_deref() != Some(pending.value.as_str()),
    };
    match pending.channel {
        Channel::Email => {
            state
                .stores
                .users
                .set_email(&user.id, &pending.value, true)
                .await?
        }
        Channel::Sms => {
            state
                .stores
                .users
                .set_phone(&user.id, Some(&pending.value), true)
                .await?
        }
    }
    let kind = if changed {
        AuditKind::ContactChanged
    } else {
        AuditKind::ContactConfirmed
    };
    let event = audit::event(&state, kind, &from)
        .user(&user.id)
        .detail(pending.channel.as_str());
    audit::record(&state, event).await;
    if changed {
        // Told at the address the account had: a takeover would change the contacts first.
        state.notifier.send_later(messages::contact_changed(&user));
    }
    let user = state
        .stores
        .users
        .find_user(&user.id)
        .await?
        .ok_or(PageError::expired(Expired::AccountGone))?;
    let notice = match pending.channel {
        Channel::Email => "account-email-confirmed",
        Channel::Sms => "account-phone-confirmed",
    };
    done(&state, jar, &session, &user, notice).await
}
