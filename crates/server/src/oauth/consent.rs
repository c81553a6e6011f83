//! Whether a person must be asked before a client receives their data, and how the scopes are
//! put to them. Clients an administrator created are first-party and are never asked about;
//! a third-party client is asked about any scope not yet allowed.

use idp_core::StoreError;
use idp_core::model::Client;

use crate::i18n::Text;
use crate::state::AppState;

/// A scope in people's words.
pub fn describe(scope: &str) -> Text {
    Text::new(match scope {
        "openid" => "scope-openid",
        "profile" => "scope-profile",
        "email" => "scope-email",
        "phone" => "scope-phone",
        "offline_access" => "scope-offline_access",
        _ => "scope-other",
    })
}

/// Whether the person must be asked before the client gets these scopes.
pub async fn needed(
    state: &AppState,
    client: &Client,
    user_id: &str,
    scopes: &[String],
) -> Result<bool, StoreError> {
    if client.metadata.first_party {
        return Ok(false);
    }
    Ok(
        match state
            .stores
            .consents
            .consented_scopes(user_id, &client.id)
            .await?
        {
            Some(granted) => !scopes.iter().all(|s| granted.contains(s)),
            None => true,
        },
    )
}
