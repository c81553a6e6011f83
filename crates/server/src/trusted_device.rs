//! Trusted browsers: a browser that passed the new-device check carries a long-lived device
//! cookie and is trusted for the person from then on; one that did not is sent a one-time code
//! (see `routes::sign_in::device` for its page and the sending of the code).

use axum_extra::extract::CookieJar;
use idp_core::StoreError;
use idp_core::model::{DEVICE_TRUST_SECS, Device, User};
use idp_core::random::{random_token, sha256_b64};

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
