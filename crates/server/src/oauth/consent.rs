//! How the scopes of a consent are put to people (whether to ask is `idp_oauth::consent`).

use crate::i18n::Text;

/// A scope in people's words.
pub fn describe(scope: &str) -> Text {
    Text::new(match scope {
        "openid" => "scope-openid",
        "profile" => "scope-profile",
        "email" => "scope-email",
        "phone" => "scope-phone",
        "address" => "scope-address",
        "offline_access" => "scope-offline_access",
        _ => "scope-other",
    })
}
