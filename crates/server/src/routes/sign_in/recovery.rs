//! PIN recovery: a user who forgot or locked their PIN, and who has just given the right
//! password, proves who they are again with a one-time code sent to a confirmed e-mail address
//! or phone (and, when set, the answers to their security questions), then chooses a new PIN
//! and continues to the relying party.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::model::{AuditKind, Channel, CodePurpose, User};
use idp_core::security_questions;
use idp_recovery::{CodeCheck, mask};
use serde::Deserialize;
use serde_json::json;

use idp_signin::{Event, SecondFactor, SignIn};

use super::steps;
use crate::audit;
use crate::codes::{self, Sent};
use crate::error::PageError;
use crate::factors::{self, Checked};
use crate::i18n::{FieldError, Text, question_text};
use crate::messages;
use crate::oauth::interaction::Interaction;
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;
use crate::web::code_entry::{self, CodePage, CodeScreen, Resend};
use crate::web::csrf;
use crate::web::extract::{Step, StepForm};
use crate::web::sign_in::Loaded;

/// The confirmed destinations a code can go to.
pub(super) fn destinations(user: &User) -> Vec<(Channel, String, String)> {
    let mut out = Vec::new();
    if user.email_verified {
        out.push((Channel::Email, user.email.clone(), mask::email(&user.email)));
    }
    if let Some(phone) = user.phone.as_ref().filter(|_| user.phone_verified) {
        out.push((Channel::Sms, phone.clone(), mask::phone(phone)));
    }
    out
}

fn recover_path(interaction: &Interaction) -> String {
    format!("{}/recover", interaction.path())
}

fn choose_form(
    state: &AppState,
    jar: CookieJar,
    loaded: &Loaded,
    status: StatusCode,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let options: Vec<_> = destinations(loaded.user()?)
        .into_iter()
        .map(|(channel, _, masked)| json!({ "value": channel.as_str(), "label": masked }))
        .collect();
    Ok(csrf::form_page(
        state,
        jar,
        status,
        "recover_choose.html",
        json!({
            "action": recover_path(&loaded.interaction),
            "cancel": crate::web::sign_in::cancel(&loaded.interaction),
            "options": options,
            "saved_code": loaded.accepts(state, saved_code_used()),
            "error": error,
        }),
    ))
}

/// The event of a right saved recovery code (channel `recovery_code`).
fn saved_code_used() -> Event {
    Event::SecondFactorVerified {
        factor: SecondFactor::SavedCode,
    }
}

/// Whether the machine lets a recovery code go out now (after the password in this sign-in,
/// never on a session alone).
fn may_send(state: &AppState, loaded: &Loaded, channel: Channel) -> bool {
    loaded.accepts(state, Event::RecoveryCodeSent { channel })
}

/// "Forgot PIN?" and "Unlock your PIN".
pub async fn choose_page(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    if !may_send(&state, &loaded, Channel::Email) {
        // A step-up asks for the password first (the machine's rule), or the sign-in is at
        // another step.
        return steps::advance(&state, jar, loaded, Event::ForgotPin, &from).await;
    }
    let loaded = loaded.with_factors(&state).await?;
    choose_form(&state, jar, &loaded, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct ChooseForm {
    #[serde(default)]
    channel: String,
    /// With channel `recovery_code`: one of the person's saved recovery codes.
    #[serde(default)]
    recovery_code: String,
}

/// A saved recovery code in place of a code sent to a contact.
async fn with_saved_code(
    state: &AppState,
    jar: CookieJar,
    loaded: Loaded,
    typed: &str,
    from: &ClientInfo,
) -> Result<Response, PageError> {
    if !loaded.accepts(state, saved_code_used()) {
        return Ok(steps::to_current_page(&loaded));
    }
    let user = loaded.user()?.clone();
    if typed.trim().is_empty() {
        let message = FieldError::on("recovery_code", Text::new("factor-code-missing"));
        return choose_form(state, jar, &loaded, StatusCode::BAD_REQUEST, Some(message));
    }
    match factors::use_saved_code(state, &user, typed, from).await? {
        Checked::Right => steps::advance(state, jar, loaded, saved_code_used(), from).await,
        Checked::Wrong | Checked::Used => {
            let message = FieldError::on("recovery_code", Text::new("factor-saved-code-wrong"));
            choose_form(state, jar, &loaded, StatusCode::UNAUTHORIZED, Some(message))
        }
    }
}

pub async fn choose_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<ChooseForm>,
) -> Result<Response, PageError> {
    let loaded = loaded.with_factors(&state).await?;
    if form.channel == "recovery_code" {
        return with_saved_code(&state, jar, loaded, &form.recovery_code, &from).await;
    }
    let chosen = Channel::parse(&form.channel);
    if !may_send(&state, &loaded, chosen.unwrap_or(Channel::Email)) {
        return Ok(steps::to_current_page(&loaded));
    }
    let user = loaded.user()?.clone();
    let interaction = &loaded.interaction;
    let counted = throttle::per_ip_try(&state, throttle::Action::Recovery, from.ip()).await?;
    let Some((channel, recipient, _)) = destinations(&user)
        .into_iter()
        .find(|(channel, _, _)| Some(*channel) == chosen)
    else {
        let message = FieldError::on("channel", Text::new("recover-choose-channel"));
        return choose_form(&state, jar, &loaded, StatusCode::BAD_REQUEST, Some(message));
    };
    let sent = codes::send(
        &state,
        &user.id,
        CodePurpose::Recovery,
        json!({ "channel": channel }),
        (channel, &recipient),
        (messages::Purpose::RecoverPin, codes::Delivery::Now),
    )
    .await;
    let refusal = match sent {
        Ok(Sent::Delivered) => None,
        Ok(Sent::TooMany) => Some((StatusCode::TOO_MANY_REQUESTS, "recover-too-many-codes")),
        // A code made but not delivered stands, to be guessed: it counts (see `codes`).
        Ok(Sent::NotDelivered) => Some((StatusCode::SERVICE_UNAVAILABLE, "code-not-sent")),
        Err(error) => {
            if error.is_outage() {
                counted.give_back(&state).await;
            }
            return Err(error.into());
        }
    };
    if let Some((status, message)) = refusal {
        let message = FieldError::general(Text::new(message));
        return choose_form(&state, jar, &loaded, status, Some(message));
    }
    let event = audit::event(&state, AuditKind::RecoveryStarted, &from)
        .user(&user.id)
        .client(&interaction.request.client_id)
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
    user: &User,
    channel: Channel,
    status: StatusCode,
    error: Option<FieldError>,
) -> Response {
    let sent_to = match channel {
        Channel::Email => Text::new("code-to-email"),
        Channel::Sms => Text::new("code-to-phone"),
    };
    let questions = asked(state, user)
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("answer_{}", i + 1), question_text(&a.question)))
        .collect();
    CodeScreen {
        page: CodePage::Recovery,
        title: Text::new("code-title"),
        hint: Text::new("code-sent-to").with("to", sent_to.words()),
        action: format!("{}/code", recover_path(interaction)),
        submit: Text::new("continue"),
        resend: Resend::Link(recover_path(interaction)),
        questions,
        app: None,
        passkey: None,
        cancel: Some(crate::web::sign_in::cancel(interaction)),
    }
    .render(state, jar, status, error)
}

/// The interaction once a recovery code went out, and by which channel.
fn at_code_step(loaded: Loaded) -> Result<(Loaded, Channel), PageError> {
    match loaded.interaction.signin {
        SignIn::Recovering {
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
        loaded.user()?,
        channel,
        StatusCode::OK,
        None,
    ))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    answer_1: String,
    #[serde(default)]
    answer_2: String,
}

/// The person's security questions that recovery asks: none where the operator turned them
/// off (`factors.security_questions`).
fn asked<'a>(state: &AppState, user: &'a User) -> &'a [security_questions::SecurityAnswer] {
    if state.settings.factors.security_questions {
        &user.security_questions
    } else {
        &[]
    }
}

/// Whether the typed answers match the user's security questions (true when none are asked).
async fn answers_match(state: &AppState, user: &User, typed: &[&str]) -> Result<bool, PageError> {
    let mut all = true;
    for (i, stored) in asked(state, user).iter().enumerate() {
        let answer = security_questions::normalise(typed.get(i).copied().unwrap_or_default());
        // Every answer is checked, so the time taken does not tell which one was wrong.
        all &= state
            .pins
            .matches_hash(&answer, &stored.answer_hash)
            .await?;
    }
    Ok(all)
}

pub async fn code_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<CodeForm>,
) -> Result<Response, PageError> {
    let (loaded, channel) = at_code_step(loaded)?;
    let user = loaded.user()?.clone();
    let interaction = &loaded.interaction;
    let tried = throttle::per_ip_try(&state, throttle::Action::CodeTry, from.ip()).await?;
    // With security questions, a wrong answer spends a try like a wrong code, and the message
    // does not say which of them was wrong.
    let (store, now) = (state.stores.codes.as_ref(), state.now());
    let answers = [form.answer_1.as_str(), form.answer_2.as_str()];
    let checked = match answers_match(&state, &user, &answers).await {
        Ok(true) => state
            .codes
            .check(store, CodePurpose::Recovery, &user.id, &form.code, now)
            .await
            .map_err(PageError::from),
        Ok(false) => state
            .codes
            .spend_try(store, CodePurpose::Recovery, &user.id, now)
            .await
            .map_err(PageError::from),
        Err(error) => Err(error),
    };
    let outcome = tried
        .settle(&state, checked, |o| matches!(o, CodeCheck::Wrong { .. }))
        .await?;
    let with_questions = !asked(&state, &user).is_empty();
    match outcome {
        CodeCheck::Correct(data) => {
            // Where this very code went, as its record says.
            let sent_by = serde_json::from_value(data["channel"].clone()).unwrap_or(channel);
            let event = Event::RecoveryVerified { channel: sent_by };
            steps::advance(&state, jar, loaded, event, &from).await
        }
        CodeCheck::Wrong { tries_left } => {
            let event = audit::event(&state, AuditKind::RecoveryCodeWrong, &from)
                .user(&user.id)
                .client(&interaction.request.client_id)
                .detail(format!("{tries_left} tries left"));
            audit::record(&state, event).await;
            let message = code_entry::wrong_code(tries_left, with_questions);
            Ok(code_form(
                &state,
                jar,
                interaction,
                &user,
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
                &user,
                channel,
                StatusCode::GONE,
                Some(message),
            ))
        }
    }
}
