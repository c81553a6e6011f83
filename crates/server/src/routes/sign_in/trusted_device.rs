//! Trusted browsers: a browser that passed the new-device check carries a long-lived device
//! cookie and is trusted for the person from then on; one that did not is sent a one-time code
//! (see `routes::device` for its page).

use axum_extra::extract::CookieJar;
use idp_core::StoreError;
use idp_core::model::{AuditKind, Channel, CodePurpose, DEVICE_TRUST_SECS, Device, User};
use idp_core::random::{random_token, sha256_b64};
use idp_signin::Destination;
use serde_json::json;

use super::codes::{self, Sent};
use crate::audit;
use crate::error::PageError;
use crate::i18n::Text;
use crate::messages;
use crate::oauth::interaction::Interaction;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::cookies;

fn cookie_value(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(&cookies::name(&state.settings, cookies::DEVICE, true))
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
    let cookie = cookies::build(
        &state.settings,
        cookies::DEVICE,
        value,
        Some(DEVICE_TRUST_SECS),
    );
    Ok(jar.add(cookie))
}

/// The digest of this browser's device cookie, if it has one.
pub fn this_device(state: &AppState, jar: &CookieJar) -> Option<String> {
    cookie_value(state, jar).map(|value| sha256_b64(&value))
}

/// Whether this browser is one the person trusted (and was seen within the trust lifetime).
pub async fn is_trusted(
    state: &AppState,
    jar: &CookieJar,
    user: &User,
) -> Result<bool, StoreError> {
    match this_device(state, jar) {
        Some(id_hash) => {
            state
                .stores
                .devices
                .device_is_trusted(&id_hash, &user.id, state.now())
                .await
        }
        None => Ok(false),
    }
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
        json!({}),
        (to.channel, &to.recipient),
        messages::Purpose::NewDevice,
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
