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

#[cfg(test)]
mod tests {
    use idp_core::model::TokenEndpointAuthMethod;

    use super::*;
    use crate::test_stores::client;

    #[test]
    fn only_an_admin_client_may_ask_for_admin_and_nothing_else_is_granted() {
        let secret = Some("hash".to_owned());
        let mut admin = client(
            "a",
            TokenEndpointAuthMethod::ClientSecretBasic,
            secret.clone(),
        );
        admin.admin = true;
        let plain = client("p", TokenEndpointAuthMethod::ClientSecretBasic, secret);
        let public = client("app", TokenEndpointAuthMethod::None, None);
        assert_eq!(
            granted_scopes(&admin, Some("admin  admin")).unwrap(),
            ["admin"]
        );
        assert_eq!(granted_scopes(&admin, None).unwrap(), Vec::<String>::new());
        assert_eq!(granted_scopes(&plain, None).unwrap(), Vec::<String>::new());
        let code = |result: Result<Vec<String>, OAuthError>| result.unwrap_err().code;
        assert_eq!(
            code(granted_scopes(&plain, Some("admin"))),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            code(granted_scopes(&admin, Some("openid"))),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            code(granted_scopes(&public, None)),
            ErrorCode::UnauthorizedClient
        );
    }
}
