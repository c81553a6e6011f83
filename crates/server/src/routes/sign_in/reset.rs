//! "Forgot password?": the person names their username, gets a code at a confirmed e-mail
//! address or phone, enters it, then their PIN (which guards a password reset as the password
//! guards a PIN recovery), chooses a new password, and continues to the relying party. Every
//! other session of theirs ends, and they are told.
//!
//! The pages do not tell whether the username exists or has a confirmed contact: a reset of
//! nobody goes through the same pages, a code is "sent" to nowhere and every code typed is
//! wrong, with the tries and the lifetime a real code would have (`Interaction::decoy_code`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::model::{AuditKind, Channel, CodePurpose, User};
use idp_recovery::CodeCheck;
use idp_signin::{Event, SignIn};
use serde::Deserialize;
use serde_json::json;

use super::recovery::destinations;
use super::steps;
use crate::audit;
use crate::codes::{self, Delivery, Sent};
use crate::error::{Expired, PageError};
use crate::i18n::{FieldError, Text};
use crate::messages;
use crate::oauth::interaction::{DecoyCode, Interaction};
use crate::session;
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;
use crate::web::code_entry::{self, CodePage, CodeScreen, Resend};
use crate::web::csrf;
use crate::web::extract::{Step, StepForm};
use crate::web::sign_in::{self, Loaded};

/// The first page of a reset.
pub fn start_path(interaction: &Interaction) -> String {
    format!("{}/forgot-password", interaction.path())
}

/// The person a reset is for, when it is for someone.
fn person(loaded: &Loaded) -> Option<&User> {
    let wanted = loaded.interaction.signin.user_id()?;
    loaded.user.as_ref().filter(|u| u.id == wanted)
}

fn username_form(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
    status: StatusCode,
    username: &str,
    error: Option<FieldError>,
) -> Response {
    csrf::form_page(
        state,
        jar,
        status,
        "reset_username.html",
        json!({
            "action": start_path(interaction),
            "cancel": crate::web::sign_in::cancel(interaction),
            "back": interaction.path(),
            "username": username,
            "error": error,
        }),
    )
}

/// A reset starts where a password is asked, or over again from its own first pages.
fn at_start(loaded: Loaded) -> Result<Loaded, PageError> {
    steps::at(loaded, |s| {
        matches!(
            s,
            SignIn::AwaitingPassword { .. } | SignIn::ResettingPassword { .. }
        )
    })
}

pub async fn username_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    let loaded = at_start(loaded)?;
    let hint = loaded.interaction.request.login_hint.clone();
    Ok(username_form(
        &state,
        jar,
        &loaded.interaction,
        StatusCode::OK,
        hint.as_deref().unwrap_or_default(),
        None,
    ))
}

#[derive(Deserialize)]
pub struct UsernameForm {
    #[serde(default)]
    username: String,
}

pub async fn username_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<UsernameForm>,
) -> Result<Response, PageError> {
    let loaded = at_start(loaded)?;
    let typed = form.username.trim();
    if typed.is_empty() {
        let message = FieldError::on("username", Text::new("reset-username-missing"));
        return Ok(username_form(
            &state,
            jar,
            &loaded.interaction,
            StatusCode::BAD_REQUEST,
            typed,
            Some(message),
        ));
    }
    let user = sign_in::person_named(&state, typed).await?;
    let account = user
        .as_ref()
        .map(|u| sign_in::account(u, idp_signin::Factors::default()));
    steps::advance(
        &state,
        jar,
        loaded,
        Event::ForgotPassword { account },
        &from,
    )
    .await
}

fn channel_form(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
    status: StatusCode,
    error: Option<FieldError>,
) -> Response {
    csrf::form_page(
        state,
        jar,
        status,
        "reset_channel.html",
        json!({
            "action": format!("{}/channel", start_path(interaction)),
            "cancel": crate::web::sign_in::cancel(interaction),
            "back": start_path(interaction),
            "error": error,
        }),
    )
}

fn at_resetting(loaded: Loaded) -> Result<Loaded, PageError> {
    steps::at(loaded, |s| matches!(s, SignIn::ResettingPassword { .. }))
}

pub async fn channel_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    let loaded = at_resetting(loaded)?;
    Ok(channel_form(
        &state,
        jar,
        &loaded.interaction,
        StatusCode::OK,
        None,
    ))
}

#[derive(Deserialize)]
pub struct ChannelForm {
    #[serde(default)]
    channel: String,
}

pub async fn channel_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<ChannelForm>,
) -> Result<Response, PageError> {
    let mut loaded = at_resetting(loaded)?;
    let Some(channel) = Channel::parse(&form.channel) else {
        let message = FieldError::on("channel", Text::new("recover-choose-channel"));
        return Ok(channel_form(
            &state,
            jar,
            &loaded.interaction,
            StatusCode::BAD_REQUEST,
            Some(message),
        ));
    };
    // Counted as a PIN recovery's code is, whoever the username names.
    let counted = throttle::per_ip_try(&state, throttle::Action::Recovery, from.ip()).await?;
    let client_id = loaded.interaction.request.client_id.clone();
    // A confirmed contact only, as for a PIN recovery.
    let to = person(&loaded).and_then(|u| {
        let (_, recipient, _) = destinations(u).into_iter().find(|d| d.0 == channel)?;
        Some((u.clone(), recipient))
    });
    let Some((user, recipient)) = to else {
        // Nobody's, or no confirmed contact by that channel: nothing goes out, and the code
        // step answers as a real one does.
        if let Some(user) = person(&loaded) {
            let event = audit::event(&state, AuditKind::PasswordResetStarted, &from)
                .user(&user.id)
                .client(&client_id)
                .detail(format!("no confirmed contact by {}", channel.as_str()));
            audit::record(&state, event).await;
        }
        loaded.interaction.decoy_code = Some(DecoyCode {
            tries_left: idp_recovery::CODE_TRIES,
            expires_at: state.now() + state.settings.codes.lifetime_secs,
        });
        let event = Event::RecoveryCodeSent { channel };
        return steps::advance(&state, jar, loaded, event, &from).await;
    };
    loaded.interaction.decoy_code = None;
    let sent = codes::send(
        &state,
        &user.id,
        CodePurpose::PasswordReset,
        json!({ "channel": channel }),
        (channel, &recipient),
        (messages::Purpose::ResetPassword, Delivery::Behind),
    )
    .await;
    match sent {
        Ok(Sent::Delivered | Sent::NotDelivered) => {}
        Ok(Sent::TooMany) => {
            let message = FieldError::general(Text::new("recover-too-many-codes"));
            return Ok(channel_form(
                &state,
                jar,
                &loaded.interaction,
                StatusCode::TOO_MANY_REQUESTS,
                Some(message),
            ));
        }
        Err(error) => {
            if error.is_outage() {
                counted.give_back(&state).await;
            }
            return Err(error.into());
        }
    }
    let event = audit::event(&state, AuditKind::PasswordResetStarted, &from)
        .user(&user.id)
        .client(&client_id)
        .detail(format!("code sent by {}", channel.as_str()));
    audit::record(&state, event).await;
    steps::advance(
        &state,
        jar,
        loaded,
        Event::RecoveryCodeSent { channel },
        &from,
    )
    .await
}

fn code_form(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
    channel: Channel,
    status: StatusCode,
    error: Option<FieldError>,
) -> Response {
    let hint = match channel {
        Channel::Email => Text::new("reset-code-sent-email"),
        Channel::Sms => Text::new("reset-code-sent-sms"),
    };
    CodeScreen {
        page: CodePage::Reset,
        title: Text::new("code-title"),
        hint,
        action: format!("{}/code", start_path(interaction)),
        submit: Text::new("continue"),
        resend: Resend::Link(format!("{}/channel", start_path(interaction))),
        questions: Vec::new(),
        app: None,
        passkey: None,
        cancel: Some(crate::web::sign_in::cancel(interaction)),
    }
    .render(state, jar, status, error)
}

/// The reset once a code went out (or would have), and by which channel.
fn at_code_step(loaded: Loaded) -> Result<(Loaded, Channel), PageError> {
    match loaded.interaction.signin {
        SignIn::ResettingPassword {
            channel: Some(channel),
            ..
        } => Ok((loaded, channel)),
        _ => Err(PageError::Elsewhere(steps::page_of(&loaded.interaction))),
    }
}

pub async fn code_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    let (loaded, channel) = at_code_step(loaded)?;
    Ok(code_form(
        &state,
        jar,
        &loaded.interaction,
        channel,
        StatusCode::OK,
        None,
    ))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn code_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<CodeForm>,
) -> Result<Response, PageError> {
    let (mut loaded, channel) = at_code_step(loaded)?;
    let tried = throttle::per_ip_try(&state, throttle::Action::CodeTry, from.ip()).await?;
    let user = person(&loaded).cloned();
    let now = state.now();
    let checked = match (&user, loaded.interaction.decoy_code) {
        (Some(user), None) => {
            let store = state.stores.codes.as_ref();
            state
                .codes
                .check(store, CodePurpose::PasswordReset, &user.id, &form.code, now)
                .await
                .map_err(PageError::from)
        }
        // No code went out: wrong, with one try fewer, until its tries or its lifetime are
        // over, as a real code would be.
        (_, decoy) => {
            let decoy = decoy.unwrap_or(DecoyCode {
                tries_left: 0,
                expires_at: now,
            });
            let answer = if decoy.tries_left == 0 || now >= decoy.expires_at {
                CodeCheck::Spent
            } else {
                CodeCheck::Wrong {
                    tries_left: decoy.tries_left - 1,
                }
            };
            if let CodeCheck::Wrong { tries_left } = answer {
                loaded.interaction.decoy_code = Some(DecoyCode {
                    tries_left,
                    ..decoy
                });
                sign_in::save(&state, &loaded.interaction).await?;
            }
            Ok(answer)
        }
    };
    let outcome = tried
        .settle(&state, checked, |o| matches!(o, CodeCheck::Wrong { .. }))
        .await?;
    let interaction = &loaded.interaction;
    match outcome {
        CodeCheck::Correct(data) => {
            // Where this very code went, as its record says.
            let sent_by = serde_json::from_value(data["channel"].clone()).unwrap_or(channel);
            let event = Event::RecoveryVerified { channel: sent_by };
            steps::advance(&state, jar, loaded, event, &from).await
        }
        CodeCheck::Wrong { tries_left } => {
            if let Some(user) = &user {
                let event = audit::event(&state, AuditKind::RecoveryCodeWrong, &from)
                    .user(&user.id)
                    .client(&interaction.request.client_id)
                    .detail(format!("password reset, {tries_left} tries left"));
                audit::record(&state, event).await;
            }
            let message = code_entry::wrong_code(tries_left, false);
            Ok(code_form(
                &state,
                jar,
                interaction,
                channel,
                StatusCode::UNAUTHORIZED,
                Some(message),
            ))
        }
        CodeCheck::Blocked => Err(PageError::CodesBlocked),
        CodeCheck::Spent => {
            let message = FieldError::on("code", Text::new("code-expired"));
            Ok(code_form(
                &state,
                jar,
                interaction,
                channel,
                StatusCode::GONE,
                Some(message),
            ))
        }
    }
}

fn new_password_form(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
    status: StatusCode,
    error: Option<FieldError>,
) -> Response {
    csrf::form_page(
        state,
        jar,
        status,
        "reset_password.html",
        json!({
            "action": format!("{}/new", start_path(interaction)),
            "cancel": crate::web::sign_in::cancel(interaction),
            "password_min": state.password_policy.min_length,
            "error": error,
        }),
    )
}

/// The reset at the step that chooses the new password: after the code and the PIN in this
/// sign-in (the machine's rule).
fn at_new_password_step(loaded: Loaded) -> Result<Loaded, PageError> {
    steps::at(loaded, |s| matches!(s, SignIn::ChoosingPassword { .. }))
}

pub async fn new_password_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    let loaded = at_new_password_step(loaded)?;
    Ok(new_password_form(
        &state,
        jar,
        &loaded.interaction,
        StatusCode::OK,
        None,
    ))
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn new_password_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<NewPasswordForm>,
) -> Result<Response, PageError> {
    let loaded = at_new_password_step(loaded)?;
    let user = loaded.user()?.clone();
    if let Err(why) =
        state
            .password_policy
            .check(&form.password, &form.password_confirm, &user.username)
    {
        let field = crate::i18n::password_field(why);
        return Ok(new_password_form(
            &state,
            jar,
            &loaded.interaction,
            StatusCode::BAD_REQUEST,
            Some(FieldError::on(field, why.into())),
        ));
    }
    let hash = state.hasher.hash(form.password.clone(), None).await?;
    state.stores.users.set_password(&user.id, &hash).await?;
    // The old password may be known to someone else: whatever was issued under it goes, with
    // every other session and trusted browser of the person.
    let read = session::credentials_changed(&state, &jar, &user.id, &from).await?;
    // Tries at the old password no longer hold the new one back.
    throttle::password_reset(&state, &user.username).await?;
    let event = audit::event(&state, AuditKind::PasswordReset, &from)
        .user(&user.id)
        .client(&loaded.interaction.request.client_id);
    audit::record(&state, event).await;
    state.notifier.send_later(messages::password_reset(&user));
    let changed = session::after_change(&state, read, &user.id)
        .await?
        .ok_or(PageError::expired(Expired::PersonGone))?;
    let event = Event::NewPasswordChosen {
        epoch: changed.credential_epoch,
    };
    steps::advance(&state, jar, loaded, event, &from).await
}
