//! Sending a one-time code, the same way from every page that sends one (a new device, PIN
//! recovery, a new contact): within the person's hourly limit, stored, then delivered. A code
//! that could not be stored for our own outage costs the person nothing of that limit; one
//! stored but not delivered counts all the same, since it stands, fresh, to be guessed (so
//! that a failing mail server cannot hand out endless fresh codes).

use idp_core::StoreError;
use idp_core::model::{Channel, CodePurpose};
use serde::{Deserialize, Serialize};

use crate::messages;
use crate::state::AppState;
use crate::throttle;

/// What became of a code.
pub enum Sent {
    Delivered,
    /// The person has had as many codes this hour as they may: none was made.
    TooMany,
    /// The mail server or SMS webhook refused it or could not be reached (logged).
    NotDelivered,
}

/// How a code goes out once it is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Before the answer, which says whether it was delivered.
    Now,
    /// Behind the answer (logged when it fails): the answer takes as long whether a code went
    /// out or not, as a password reset needs, which must not tell whether a username has a
    /// confirmed contact.
    Behind,
}

/// Makes a code for `purpose` (carrying `data`), stores it for the user and sends it to
/// `recipient` over `channel`. Err when it could not be stored.
pub async fn send(
    state: &AppState,
    user_id: &str,
    purpose: CodePurpose,
    data: serde_json::Value,
    (channel, recipient): (Channel, &str),
    (message, delivery): (messages::Purpose, Delivery),
) -> Result<Sent, StoreError> {
    let Some(counted) = throttle::may_send_code(state, user_id, purpose).await? else {
        return Ok(Sent::TooMany);
    };
    let (code, record) = state.codes.issue(state.now(), data);
    let stored = state.stores.codes.put_code(purpose, user_id, &record).await;
    if let Err(error) = stored {
        if error.is_outage() {
            counted.give_back(state).await;
        }
        return Err(error);
    }
    let message = messages::one_time_code(channel, recipient, message, &code);
    if delivery == Delivery::Behind {
        state.notifier.send_later(message);
        return Ok(Sent::Delivered);
    }
    if let Err(error) = state.notifier.send(&message).await {
        tracing::warn!(%error, channel = channel.as_str(), purpose = ?purpose, "a one-time code was not delivered");
        return Ok(Sent::NotDelivered);
    }
    Ok(Sent::Delivered)
}

/// What a contact code confirms: the data kept with the code.
#[derive(Serialize, Deserialize)]
pub struct PendingContact {
    pub channel: Channel,
    pub value: String,
}

/// Sends a code that confirms `value` as the person's contact over `channel` once it comes
/// back on `/account/contact/code` (where the person is signed in); also what support sends.
pub async fn send_contact_confirmation(
    state: &AppState,
    user_id: &str,
    channel: Channel,
    value: String,
) -> Result<Sent, StoreError> {
    let pending = PendingContact { channel, value };
    let data = serde_json::to_value(&pending).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let purpose = match channel {
        Channel::Email => messages::Purpose::ConfirmEmail,
        Channel::Sms => messages::Purpose::ConfirmPhone,
    };
    send(
        state,
        user_id,
        CodePurpose::Contact,
        data,
        (channel, &pending.value),
        (purpose, Delivery::Now),
    )
    .await
}
