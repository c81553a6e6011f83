//! The client-credentials grant (RFC 6749 §4.4): a confidential client acting for itself.

use idp_core::model::Client;
use idp_core::{ErrorCode, OAuthError};

/// The scopes a client may ask for on its own behalf: `admin` for clients created with
/// `--admin`, nothing else.
fn allowed(client: &Client, scope: &str) -> bool {
    scope == "admin" && client.admin
}

/// The scopes the client's token is issued for (each once, in the order asked), or why it gets
/// none.
pub fn granted_scopes(client: &Client, scope: Option<&str>) -> Result<Vec<String>, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "a public client cannot use client_credentials",
        ));
    }
    let mut scopes: Vec<String> = Vec::new();
    for requested in scope
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        if !allowed(client, requested) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!(
                    "this client may not ask for `{}`",
                    requested.chars().take(40).collect::<String>()
                ),
            ));
        }
        if !scopes.iter().any(|s| s == requested) {
            scopes.push(requested.to_owned());
        }
    }
    Ok(scopes)
}
