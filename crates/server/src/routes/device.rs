//! The new-device check: a sign-in from a browser the user has not signed in on before needs,
//! after the PIN, a one-time code sent to the user's e-mail or phone. A browser that completes
//! it gets a long-lived device cookie and is trusted from then on.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::StoreError;
use idp_core::model::{AuditKind, Channel, CodePurpose, Device, User};
use idp_core::random::{random_token, sha256_b64};
use idp_recovery::{CodeCheck, mask};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::login::{load_with_user, signed_in};
use crate::audit;
use crate::error::PageError;
use crate::i18n::{FieldError, Text};
use crate::messages;
use crate::oauth::interaction::Interaction;
use crate::oauth::{AMR_PASSWORD_PIN, acr};
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;
use crate::web::{cookies, csrf};

/// How long a browser stays trusted without being used: 400 days, the most browsers keep a
/// cookie.
const DEVICE_COOKIE_MAX_AGE: i64 = 400 * 86_400;

/// The check in progress, kept in the interaction; the code itself is in the code store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceCheck {
    channel: Channel,
    recipient: String,
    /// The code goes to an e-mail address not yet confirmed (a new account's first sign-in
    /// elsewhere): receiving it confirms the address.
    confirms_email: bool,
}

/// RFC 8176 methods of a sign-in that also used a one-time code sent over `channel`.
pub fn amr_with_code(channel: Channel) -> Vec<&'static str> {
    let mut amr = AMR_PASSWORD_PIN.to_vec();
    amr.push("otp");
    if channel == Channel::Sms {
        amr.push("sms");
    }
    amr
}

fn cookie_value(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(&cookies::name(state, cookies::DEVICE, true))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// Trusts this browser for the user, giving it a device cookie if it has none.
pub async fn trust_this_device(
    state: &AppState,
    jar: CookieJar,
    user_id: &str,
    from: &ClientInfo,
) -> Result<CookieJar, StoreError> {
    let value = cookie_value(state, &jar).unwrap_or_else(|| random_token(32));
    let now = state.now();
    let device = Device {
        id: random_token(12),
        id_hash: sha256_b64(&value),
        user_id: user_id.to_owned(),
        created_at: now,
        last_seen_at: now,
        ip: from.ip.clone(),
        user_agent: from.user_agent.clone(),
    };
    state.stores.devices.trust_device(&device).await?;
    let cookie = cookies::build(state, cookies::DEVICE, value, Some(DEVICE_COOKIE_MAX_AGE));
    Ok(jar.add(cookie))
}

/// Where the code goes: a confirmed e-mail address, else a confirmed phone, else the
/// registered e-mail address (which the code then confirms).
fn destination(user: &User) -> (Channel, String, bool) {
    match (&user.phone, user.phone_verified) {
        _ if user.email_verified => (Channel::Email, user.email.clone(), false),
        (Some(phone), true) => (Channel::Sms, phone.clone(), false),
        _ => (Channel::Email, user.email.clone(), true),
    }
}

/// After a correct PIN: sign in at once on a trusted browser, otherwise send a code.
pub async fn after_pin(
    state: &AppState,
    jar: CookieJar,
    mut interaction: Interaction,
    user: &User,
    from: &ClientInfo,
) -> Result<Response, PageError> {
    let trusted = match cookie_value(state, &jar) {
        Some(value) => {
            state
                .stores
                .devices
                .device_is_trusted(&sha256_b64(&value), &user.id, state.now())
                .await?
        }
        None => false,
    };
    // The check runs on an unknown browser when it is enabled, and always when the relying
    // party asked for the device level.
    let device_level_required =
        interaction.request.acr.as_deref() == Some(acr::PASSWORD_PIN_DEVICE);
    if trusted || !(state.settings.new_device.enabled || device_level_required) {
        let level = if trusted {
            acr::PASSWORD_PIN_DEVICE
        } else {
            acr::PASSWORD_PIN
        };
        return signed_in(
            state,
            jar,
            &interaction,
            user,
            level,
            &AMR_PASSWORD_PIN,
            from,
        )
        .await;
    }
    let (channel, recipient, confirms_email) = destination(user);
    interaction.pin_verified = true;
    interaction.device_check = Some(DeviceCheck {
        channel,
        recipient,
        confirms_email,
    });
    interaction.save(state).await?;
    send_code(state, &interaction, user, from).await?;
    Ok((jar, Redirect::to(&device_path(&interaction))).into_response())
}

fn device_path(interaction: &Interaction) -> String {
    format!("{}/device", interaction.path())
}

/// Sends a new code for the interaction's check (within the user's hourly limit).
async fn send_code(
    state: &AppState,
    interaction: &Interaction,
    user: &User,
    from: &ClientInfo,
) -> Result<(), PageError> {
    let Some(check) = &interaction.device_check else {
        return Err(PageError::expired());
    };
    if !throttle::may_send_code(state, &user.id).await? {
        return Err(PageError::bad_request(
            "code-too-many-title",
            Text::new("recover-too-many-codes"),
        ));
    }
    let (code, record) = state.codes.issue(state.now(), json!({}));
    state
        .stores
        .codes
        .put_code(CodePurpose::NewDevice, &user.id, &record)
        .await?;
    let message = messages::one_time_code(
        check.channel,
        &check.recipient,
        messages::Purpose::NewDevice,
        &code,
    );
    if let Err(error) = state.notifier.send(&message).await {
        tracing::warn!(%error, channel = check.channel.as_str(), "new-device code not delivered");
        return Err(PageError::CodeNotSent);
    }
    let event = audit::event(state, AuditKind::NewDeviceCodeSent, from)
        .user(&user.id)
        .client(&interaction.request.client_id)
        .detail(format!("code sent by {}", check.channel.as_str()));
    audit::record(state, event).await;
    Ok(())
}

async fn load_check(
    state: &AppState,
    jar: &CookieJar,
    id: &str,
) -> Result<(Interaction, User, DeviceCheck), PageError> {
    let (interaction, user) = load_with_user(state, jar, id).await?;
    match (&interaction.device_check, interaction.pin_verified) {
        (Some(check), true) => {
            let check = check.clone();
            Ok((interaction, user, check))
        }
        _ => Err(PageError::expired()),
    }
}

fn code_form(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
    check: &DeviceCheck,
    status: StatusCode,
    error: Option<FieldError>,
) -> Response {
    let sent_to = match check.channel {
        Channel::Email => mask::email(&check.recipient),
        Channel::Sms => mask::phone(&check.recipient),
    };
    csrf::form_page(
        state,
        jar,
        status,
        "device.html",
        json!({
            "action": device_path(interaction),
            "resend": format!("{}/resend", device_path(interaction)),
            "sent_to": sent_to,
            "client_name": interaction.client_name,
            "error": error,
        }),
    )
}

pub async fn device_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (interaction, _, check) = load_check(&state, &jar, &id).await?;
    Ok(code_form(
        &state,
        jar,
        &interaction,
        &check,
        StatusCode::OK,
        None,
    ))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

pub async fn device_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    if !csrf::verify(&state, &jar, &form.csrf) {
        return Err(PageError::csrf());
    }
    let (mut interaction, user, check) = load_check(&state, &jar, &id).await?;
    throttle::per_ip_check(&state, throttle::Action::CodeTry, from.ip()).await?;
    let store = state.stores.codes.as_ref();
    let outcome = state
        .codes
        .check(
            store,
            CodePurpose::NewDevice,
            &user.id,
            &form.code,
            state.now(),
        )
        .await?;
    match outcome {
        CodeCheck::Correct(_) => {
            interaction.device_check = None;
            interaction.save(&state).await?;
            if check.confirms_email {
                state
                    .stores
                    .users
                    .set_email(&user.id, &check.recipient, true)
                    .await?;
            }
            let jar = trust_this_device(&state, jar, &user.id, &from).await?;
            let event = audit::event(&state, AuditKind::NewDeviceVerified, &from)
                .user(&user.id)
                .client(&interaction.request.client_id);
            audit::record(&state, event).await;
            state
                .notifier
                .send_later(messages::new_device(&user, &from));
            let amr = amr_with_code(check.channel);
            signed_in(
                &state,
                jar,
                &interaction,
                &user,
                acr::PASSWORD_PIN_DEVICE,
                &amr,
                &from,
            )
            .await
        }
        CodeCheck::Wrong { tries_left } => {
            throttle::per_ip_failed(&state, throttle::Action::CodeTry, from.ip()).await?;
            let message = FieldError::on(
                "code",
                match tries_left {
                    0 => Text::new("code-wrong-last"),
                    n => Text::new("code-wrong").count("tries", i64::from(n)),
                },
            );
            Ok(code_form(
                &state,
                jar,
                &interaction,
                &check,
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
                &interaction,
                &check,
                StatusCode::GONE,
                Some(message),
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    csrf: String,
}

pub async fn device_resend(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<ResendForm>,
) -> Result<Response, PageError> {
    if !csrf::verify(&state, &jar, &form.csrf) {
        return Err(PageError::csrf());
    }
    let (interaction, user, _) = load_check(&state, &jar, &id).await?;
    send_code(&state, &interaction, &user, &from).await?;
    Ok((jar, Redirect::to(&device_path(&interaction))).into_response())
}
