//! The new-device check's page: a sign-in from a browser the user has not signed in on before
//! needs, after the PIN, a one-time code sent to the user's e-mail or phone. A browser that
//! completes it gets a long-lived device cookie and is trusted from then on (see
//! `crate::trusted_device`). Where the code goes and its sending are here too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::model::{AuditKind, Channel, CodePurpose, User};
use idp_recovery::{CodeCheck, mask};
use idp_signin::{Destination, Event, SecondFactor, SignIn};
use serde::Deserialize;
use serde_json::json;

use super::steps;
use crate::audit;
use crate::codes::{self, Sent};
use crate::error::PageError;
use crate::factors::{self, Checked};
use crate::i18n::{FieldError, Text};
use crate::messages;
use crate::oauth::interaction::Interaction;
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;
use crate::web::code_entry::{self, CodePage, CodeScreen, Resend};
use crate::web::extract::{Step, StepForm};
use crate::web::passkey::PasskeyForm;
use crate::web::sign_in::Loaded;

fn device_path(interaction: &Interaction) -> String {
    format!("{}/device", interaction.path())
}

/// The interaction at its new-device step, with where the code went.
fn at_device_step(loaded: Loaded) -> Result<(Loaded, Destination), PageError> {
    match &loaded.interaction.signin {
        SignIn::AwaitingDeviceCode { to, .. } => {
            let to = to.clone();
            Ok((loaded, to))
        }
        _ => Err(PageError::Elsewhere(steps::page_of(&loaded.interaction))),
    }
}

async fn code_form(
    state: &AppState,
    jar: CookieJar,
    loaded: &Loaded,
    to: &Destination,
    status: StatusCode,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let interaction = &loaded.interaction;
    // A person with an authenticator app or a passkey may use it instead.
    let counts = |factor| loaded.accepts(state, Event::SecondFactorVerified { factor });
    let app_counts = counts(SecondFactor::App);
    let passkey = if counts(SecondFactor::Passkey { synced: true }) {
        let user = loaded.user()?;
        factors::begin_passkey_sign_in(state, user, &interaction.id)
            .await?
            .map(|begun| {
                let action = format!("{}/passkey", device_path(interaction));
                crate::web::passkey::ceremony(begun, false, action)
            })
    } else {
        None
    };
    let sent_to = match to.channel {
        Channel::Email => mask::email(&to.recipient),
        Channel::Sms => mask::phone(&to.recipient),
    };
    Ok(CodeScreen {
        page: CodePage::Device,
        title: Text::new("device-title"),
        hint: Text::new("device-body")
            .with("client", interaction.client_name.clone())
            .with("to", sent_to),
        action: device_path(interaction),
        submit: Text::new("continue"),
        resend: Resend::Post(format!("{}/resend", device_path(interaction))),
        questions: Vec::new(),
        app: app_counts.then(|| format!("{}/app", device_path(interaction))),
        passkey,
        cancel: Some(crate::web::sign_in::cancel(interaction)),
    }
    .render(state, jar, status, error))
}

pub async fn device_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    let (loaded, to) = at_device_step(loaded)?;
    code_form(&state, jar, &loaded, &to, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn device_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<CodeForm>,
) -> Result<Response, PageError> {
    let (loaded, to) = at_device_step(loaded)?;
    let user = loaded.user()?.clone();
    let tried = throttle::per_ip_try(&state, throttle::Action::CodeTry, from.ip()).await?;
    let store = state.stores.codes.as_ref();
    let checked = state
        .codes
        .check(
            store,
            CodePurpose::NewDevice,
            &user.id,
            &form.code,
            state.now(),
        )
        .await;
    let outcome = tried
        .settle(&state, checked, |o| matches!(o, CodeCheck::Wrong { .. }))
        .await?;
    match outcome {
        CodeCheck::Correct(data) if !sent_for(&data, &loaded.interaction, to.channel) => {
            let message = code_entry::wrong_code(0, false);
            code_form(
                &state,
                jar,
                &loaded,
                &to,
                StatusCode::UNAUTHORIZED,
                Some(message),
            )
            .await
        }
        CodeCheck::Correct(_) => {
            if to.confirms_email {
                state
                    .stores
                    .users
                    .set_email(&user.id, &to.recipient, true)
                    .await?;
            }
            let event = audit::event(&state, AuditKind::NewDeviceVerified, &from)
                .user(&user.id)
                .client(&loaded.interaction.request.client_id);
            audit::record(&state, event).await;
            state
                .notifier
                .send_later(messages::new_device(&user, &from));
            steps::advance(&state, jar, loaded, Event::DeviceCodeVerified, &from).await
        }
        CodeCheck::Wrong { tries_left } => {
            let message = code_entry::wrong_code(tries_left, false);
            code_form(
                &state,
                jar,
                &loaded,
                &to,
                StatusCode::UNAUTHORIZED,
                Some(message),
            )
            .await
        }
        CodeCheck::Blocked => Err(PageError::CodesBlocked),
        CodeCheck::Spent => {
            let message = FieldError::on("code", Text::new("code-expired"));
            code_form(&state, jar, &loaded, &to, StatusCode::GONE, Some(message)).await
        }
    }
}

#[derive(Deserialize)]
pub struct AppForm {
    #[serde(default)]
    otp: String,
}

/// A code from the person's authenticator app in place of the new-device code.
pub async fn device_app(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<AppForm>,
) -> Result<Response, PageError> {
    let (loaded, to) = at_device_step(loaded)?;
    let event = Event::SecondFactorVerified {
        factor: SecondFactor::App,
    };
    if !loaded.accepts(&state, event.clone()) {
        return Ok(steps::to_current_page(&loaded));
    }
    let user = loaded.user()?.clone();
    let error = match factors::check_app_code(&state, &user, &form.otp, &from).await? {
        Checked::Right => {
            state
                .notifier
                .send_later(messages::new_device(&user, &from));
            return steps::advance(&state, jar, loaded, event, &from).await;
        }
        Checked::Used => "factor-app-code-used",
        Checked::Wrong => "factor-app-code-wrong",
    };
    let error = FieldError::on("otp", Text::new(error));
    code_form(
        &state,
        jar,
        &loaded,
        &to,
        StatusCode::UNAUTHORIZED,
        Some(error),
    )
    .await
}

/// A passkey in place of the new-device code.
pub async fn device_passkey(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<PasskeyForm>,
) -> Result<Response, PageError> {
    let (loaded, to) = at_device_step(loaded)?;
    let any = SecondFactor::Passkey { synced: true };
    if !loaded.accepts(&state, Event::SecondFactorVerified { factor: any }) {
        return Ok(steps::to_current_page(&loaded));
    }
    let user = loaded.user()?.clone();
    let place = loaded.interaction.id.clone();
    let answer = form.answer();
    match factors::finish_passkey_sign_in(&state, &user, &place, answer, &from).await? {
        Some(factor) => {
            state
                .notifier
                .send_later(messages::new_device(&user, &from));
            let event = Event::SecondFactorVerified { factor };
            steps::advance(&state, jar, loaded, event, &from).await
        }
        None => {
            let error = FieldError::general(Text::new("passkey-refused"));
            code_form(
                &state,
                jar,
                &loaded,
                &to,
                StatusCode::UNAUTHORIZED,
                Some(error),
            )
            .await
        }
    }
}

/// A resend carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct ResendForm {}

pub async fn device_resend(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, .. }: StepForm<ResendForm>,
) -> Result<Response, PageError> {
    let (loaded, to) = at_device_step(loaded)?;
    send_code(&state, &loaded.interaction, loaded.user()?, &to, &from).await?;
    Ok((jar, Redirect::to(&device_path(&loaded.interaction))).into_response())
}

/// Whether a right code was the one sent for this sign-in by `channel` (the person's latest
/// code may have been sent for another sign-in, by another channel).
pub fn sent_for(data: &serde_json::Value, interaction: &Interaction, channel: Channel) -> bool {
    data["interaction"] == interaction.id.as_str() && data["channel"] == json!(channel)
}

/// Where a new-device code goes: a confirmed e-mail address, else a confirmed phone, else the
/// registered e-mail address (which the code then confirms).
pub fn destination(user: &User) -> Destination {
    let (channel, recipient, confirms_email) = match (&user.phone, user.phone_verified) {
        _ if user.email_verified => (Channel::Email, user.email.clone(), false),
        (Some(phone), true) => (Channel::Sms, phone.clone(), false),
        _ => (Channel::Email, user.email.clone(), true),
    };
    Destination {
        channel,
        recipient,
        confirms_email,
    }
}

/// Sends a new code for the interaction's check (within the person's hourly limit).
pub async fn send_code(
    state: &AppState,
    interaction: &Interaction,
    user: &User,
    to: &Destination,
    from: &ClientInfo,
) -> Result<(), PageError> {
    let sent = codes::send(
        state,
        &user.id,
        CodePurpose::NewDevice,
        // Where it went and for which sign-in: a code sent for another one never counts here.
        json!({ "channel": to.channel, "interaction": interaction.id }),
        (to.channel, &to.recipient),
        (messages::Purpose::NewDevice, codes::Delivery::Now),
    )
    .await?;
    match sent {
        Sent::Delivered => {}
        Sent::TooMany => {
            return Err(PageError::bad_request(
                "code-too-many-title",
                Text::new("recover-too-many-codes"),
            ));
        }
        Sent::NotDelivered => return Err(PageError::CodeNotSent),
    }
    let event = audit::event(state, AuditKind::NewDeviceCodeSent, from)
        .user(&user.id)
        .client(&interaction.request.client_id)
        .detail(format!("code sent by {}", to.channel.as_str()));
    audit::record(state, event).await;
    Ok(())
}
