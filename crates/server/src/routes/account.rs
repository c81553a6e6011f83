//! The account page: contact details and their confirmation, password and PIN changes,
//! sessions, and recent sign-ins. Every page needs a full sign-in (password and PIN); every
//! change needs the current secret it replaces.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::hashing::Turn;
use idp_core::model::{AuditKind, Channel, CodePurpose, Session, User};
use idp_core::security_questions::{self, SecurityAnswer};
use idp_core::{StoreError, validate};
use idp_pin_verifier::PinOutcome;
use idp_recovery::CodeCheck;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::codes::{self, Sent};
use super::session;
use crate::audit;
use crate::error::PageError;
use crate::i18n::{FieldError, Text, question_text};
use crate::messages;
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;
use crate::web::code_entry::{self, CodePage, CodeScreen, Resend};
use crate::web::cookies;
use crate::web::csrf;
use crate::web::extract::{SignedIn, SignedInForm};
use idp_core::password_policy::PasswordRejection;

/// Sign-in events shown on the account page.
const SIGN_IN_EVENTS: [AuditKind; 5] = [
    AuditKind::SignInSucceeded,
    AuditKind::PasswordWrong,
    AuditKind::PasswordThrottled,
    AuditKind::PinWrong,
    AuditKind::PinLocked,
];

/// What a contact code confirms: the data kept with the code.
#[derive(Serialize, Deserialize)]
struct PendingContact {
    channel: Channel,
    value: String,
}

/// The account page, with a notice or an error from the last action.
async fn page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    status: StatusCode,
    notice: Option<Text>,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let sessions: Vec<_> = state
        .stores
        .sessions
        .list_sessions(&user.id, state.now())
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "sid": s.sid,
                "current": s.sid == session.sid,
                "created_at": s.created_at,
                "ip": s.ip,
                "user_agent": s.user_agent,
            })
        })
        .collect();
    let events: Vec<_> = state
        .stores
        .audit
        .recent_for_user(&user.id, &SIGN_IN_EVENTS, 20)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "at": e.at,
                "outcome": outcome_label(e.kind),
                "ip": e.ip,
                "user_agent": e.user_agent,
            })
        })
        .collect();
    let devices: Vec<_> = state
        .stores
        .devices
        .list_devices(&user.id)
        .await?
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id,
                "created_at": d.created_at,
                "last_seen_at": d.last_seen_at,
                "ip": d.ip,
                "user_agent": d.user_agent,
            })
        })
        .collect();
    let mut consents = Vec::new();
    for (client_id, scopes, granted_at) in state.stores.consents.list_consents(&user.id).await? {
        let name = state
            .stores
            .clients
            .find_client(&client_id)
            .await?
            .map_or_else(|| Text::new("account-removed-app").words(), |c| c.name);
        let scopes: Vec<_> = scopes.iter().map(|s| super::consent::describe(s)).collect();
        consents.push(json!({ "client_id": client_id, "name": name, "scopes": scopes, "granted_at": granted_at }));
    }
    Ok(csrf::form_page(
        state,
        jar,
        status,
        "account.html",
        json!({
            "username": user.username,
            "email": user.email,
            "email_verified": user.email_verified,
            "phone": user.phone,
            "phone_verified": user.phone_verified,
            "sessions": sessions,
            "devices": devices,
            "consents": consents,
            "questions": security_questions::QUESTIONS
                .iter()
                .map(|(id, _)| json!({ "id": id, "text": question_text(id) }))
                .collect::<Vec<_>>(),
            "questions_set": user
                .security_questions
                .iter()
                .map(|a| question_text(&a.question))
                .collect::<Vec<_>>(),
            "events": events,
            "notice": notice,
            "error": error,
        }),
    ))
}

/// The account page after a change, with a notice.
async fn done(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    notice: &'static str,
) -> Result<Response, PageError> {
    page(
        state,
        jar,
        session,
        user,
        StatusCode::OK,
        Some(Text::new(notice)),
        None,
    )
    .await
}

/// The account page after a refused change, with the reason.
async fn refused(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    status: StatusCode,
    error: FieldError,
) -> Result<Response, PageError> {
    page(state, jar, session, user, status, None, Some(error)).await
}

fn outcome_label(kind: AuditKind) -> Text {
    Text::new(match kind {
        AuditKind::SignInSucceeded => "outcome-signed-in",
        AuditKind::PasswordWrong => "outcome-password-wrong",
        AuditKind::PasswordThrottled => "outcome-throttled",
        AuditKind::PinWrong => "outcome-pin-wrong",
        AuditKind::PinLocked => "outcome-pin-locked",
        _ => "outcome-other",
    })
}

pub async fn account_page(
    State(state): State<AppState>,
    jar: CookieJar,
    SignedIn { session, user }: SignedIn,
) -> Result<Response, PageError> {
    page(&state, jar, &session, &user, StatusCode::OK, None, None).await
}

/// Runs a form action for the signed-in user after the CSRF check.

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
            FieldError::on(
                if why == PasswordRejection::Mismatch {
                    "password_confirm"
                } else {
                    "password"
                },
                why.into(),
            ),
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
async fn wrong_current_password(
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
        let message = FieldError::general(throttle::wait_message(wait));
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
    let error = match state
        .pins
        .verify(Turn::New, &user, form.current_pin.trim())
        .await?
    {
        PinOutcome::Correct => None,
        PinOutcome::Wrong { tries_left: 0 } | PinOutcome::Locked => {
            let event = audit::event(&state, AuditKind::PinLocked, &from).user(&user.id);
            audit::record(&state, event).await;
            state.notifier.send_later(messages::pin_locked(&user));
            Some(Text::new("account-pin-wrong-locked"))
        }
        PinOutcome::Wrong { tries_left } => {
            let event = audit::event(&state, AuditKind::PinWrong, &from)
                .user(&user.id)
                .detail(format!("{tries_left} tries left"));
            audit::record(&state, event).await;
            Some(Text::new("account-pin-wrong").count("tries", i64::from(tries_left)))
        }
        PinOutcome::NotDigits => Some(Text::new("pin-numbers-only")),
        PinOutcome::NotSet => Some(Text::new("account-no-pin")),
    };
    if let Some(error) = error {
        return refused(
            &state,
            jar,
            &session,
            &user,
            StatusCode::UNAUTHORIZED,
            FieldError::on("current_pin", error),
        )
        .await;
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
    let pending = PendingContact { channel, value };
    let data = serde_json::to_value(&pending).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let purpose = match channel {
        Channel::Email => messages::Purpose::ConfirmEmail,
        Channel::Sms => messages::Purpose::ConfirmPhone,
    };
    let sent = codes::send(
        &state,
        &user.id,
        CodePurpose::Contact,
        data,
        (channel, &pending.value),
        purpose,
    )
    .await?;
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
        .ok_or_else(PageError::expired)?;
    let notice = match pending.channel {
        Channel::Email => "account-email-confirmed",
        Channel::Sms => "account-phone-confirmed",
    };
    done(&state, jar, &session, &user, notice).await
}

#[derive(Deserialize)]
pub struct EndSessionForm {
    #[serde(default)]
    sid: String,
}

/// Signs out one session of the user's (this one included).
pub async fn end_session(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<EndSessionForm>,
) -> Result<Response, PageError> {
    let target = state
        .stores
        .sessions
        .list_sessions(&user.id, state.now())
        .await?
        .into_iter()
        .find(|s| s.sid == form.sid);
    let Some(target) = target else {
        let error = FieldError::general(Text::new("account-session-gone"));
        return refused(&state, jar, &session, &user, StatusCode::NOT_FOUND, error).await;
    };
    super::logout::end(&state, &target, &from).await?;
    if form.sid == session.sid {
        let jar = jar.add(cookies::removal(&state, cookies::SESSION, "/"));
        return Ok((jar, Redirect::to("/account")).into_response());
    }
    done(&state, jar, &session, &user, "account-session-ended").await
}

#[derive(Deserialize)]
pub struct ForgetDeviceForm {
    #[serde(default)]
    id: String,
}

/// Forgets a trusted device: its next sign-in needs a new-device code again.
pub async fn forget_device(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<ForgetDeviceForm>,
) -> Result<Response, PageError> {
    if !state
        .stores
        .devices
        .forget_device(&user.id, &form.id)
        .await?
    {
        let error = FieldError::general(Text::new("account-device-unknown"));
        return refused(&state, jar, &session, &user, StatusCode::NOT_FOUND, error).await;
    }
    audit::record(
        &state,
        audit::event(&state, AuditKind::DeviceForgotten, &from).user(&user.id),
    )
    .await;
    done(&state, jar, &session, &user, "account-device-forgotten").await
}

#[derive(Deserialize)]
pub struct QuestionsForm {
    #[serde(default)]
    current_password: String,
    /// "1" to remove the questions instead of setting them.
    #[serde(default)]
    remove: String,
    #[serde(default)]
    question_1: String,
    #[serde(default)]
    answer_1: String,
    #[serde(default)]
    question_2: String,
    #[serde(default)]
    answer_2: String,
}

/// Sets (or removes) the security questions that recovery asks besides the code.
pub async fn set_questions(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<QuestionsForm>,
) -> Result<Response, PageError> {
    if let Some(refusal) = wrong_current_password(
        &state,
        &jar,
        &session,
        &user,
        &from,
        &form.current_password,
        "questions_password",
    )
    .await?
    {
        return Ok(refusal);
    }
    let mut answers = Vec::new();
    if form.remove != "1" {
        let choices = [
            (form.question_1.as_str(), form.answer_1.as_str()),
            (form.question_2.as_str(), form.answer_2.as_str()),
        ];
        let checked = match security_questions::check(&choices) {
            Ok(checked) => checked,
            Err(why) => {
                return refused(
                    &state,
                    jar,
                    &session,
                    &user,
                    StatusCode::BAD_REQUEST,
                    FieldError::general(why.into()),
                )
                .await;
            }
        };
        for (question, answer) in checked {
            answers.push(SecurityAnswer {
                question,
                answer_hash: state.pins.hash_keyed(&answer).await?,
            });
        }
    }
    state
        .stores
        .users
        .set_security_questions(&user.id, &answers)
        .await?;
    let detail = if answers.is_empty() { "removed" } else { "set" };
    let event = audit::event(&state, AuditKind::SecurityQuestionsChanged, &from)
        .user(&user.id)
        .detail(detail);
    audit::record(&state, event).await;
    let user = state
        .stores
        .users
        .find_user(&user.id)
        .await?
        .ok_or_else(PageError::expired)?;
    let notice = if answers.is_empty() {
        "account-questions-removed"
    } else {
        "account-questions-saved"
    };
    done(&state, jar, &session, &user, notice).await
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    client_id: String,
}

/// Withdraws consent from a third-party application, and revokes what it holds.
pub async fn withdraw_consent(
    State(state): State<AppState>,
    jar: CookieJar,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<WithdrawForm>,
) -> Result<Response, PageError> {
    if !state
        .stores
        .consents
        .withdraw_consent(&user.id, &form.client_id)
        .await?
    {
        let error = FieldError::general(Text::new("account-app-unknown"));
        return refused(&state, jar, &session, &user, StatusCode::NOT_FOUND, error).await;
    }
    state
        .stores
        .grants
        .revoke_grants_of(&user.id, &form.client_id, state.now())
        .await?;
    done(&state, jar, &session, &user, "account-app-withdrawn").await
}
