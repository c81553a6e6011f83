//! Client authentication at the token endpoint (RFC 6749 §2.3): `client_secret_basic`,
//! `client_secret_post`, or `none` for a public client (which must then use PKCE).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use idp_core::model::{Client, TokenEndpointAuthMethod};
use idp_core::random::{constant_time_eq, sha256_b64};
use idp_core::store::ClientStore;
use idp_core::{OAuthError, StoreError};

/// The credentials a request presented.
#[derive(Debug, Default)]
pub struct Presented<'a> {
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    pub form_client_id: Option<&'a str>,
    pub form_client_secret: Option<&'a str>,
}

#[derive(Debug)]
pub enum AuthError {
    OAuth(OAuthError),
    Store(StoreError),
}

impl From<OAuthError> for AuthError {
    fn from(error: OAuthError) -> Self {
        Self::OAuth(error)
    }
}

fn failed() -> AuthError {
    AuthError::OAuth(OAuthError::invalid_client("client authentication failed"))
}

/// `client_secret_basic`: both parts are form-urlencoded before base64 (RFC 6749 §2.3.1).
fn parse_basic(header: &str) -> Result<(String, String), AuthError> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
        .ok_or_else(|| OAuthError::invalid_request("unsupported Authorization scheme"))?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| failed())?;
    let text = String::from_utf8(decoded).map_err(|_| failed())?;
    let (id, secret) = text.split_once(':').ok_or_else(failed)?;
    let unescape = |s: &str| -> Result<String, AuthError> {
        let pairs = format!("v={s}");
        url::form_urlencoded::parse(pairs.as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .ok_or_else(failed)
    };
    Ok((unescape(id)?, unescape(secret)?))
}

pub async fn authenticate(
    presented: Presented<'_>,
    clients: &dyn ClientStore,
) -> Result<Client, AuthError> {
    let method = match (presented.authorization, presented.form_client_secret) {
        (Some(_), _) => TokenEndpointAuthMethod::ClientSecretBasic,
        (None, Some(_)) => TokenEndpointAuthMethod::ClientSecretPost,
        (None, None) => TokenEndpointAuthMethod::None,
    };
    let (client_id, secret) = match (presented.authorization, presented.form_client_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not both",
            )
            .into());
        }
        (Some(header), None) => {
            let (id, secret) = parse_basic(header)?;
            if presented
                .form_client_id
                .is_some_and(|form_id| form_id != id)
            {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the authenticated client",
                )
                .into());
            }
            (id, Some(secret))
        }
        (None, secret) => {
            let id = presented
                .form_client_id
                .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
            (id.to_owned(), secret.map(str::to_owned))
        }
    };
    let client = clients
        .find_client(&client_id)
        .await
        .map_err(AuthError::Store)?
        .ok_or_else(failed)?;
    // Only the method the client registered (RFC 7591 §2): a secret registered for the
    // Authorization header is never accepted from a form body that proxies may log.
    if method != client.token_endpoint_auth_method {
        return Err(AuthError::OAuth(OAuthError::invalid_client(format!(
            "this client authenticates with {}",
            client.token_endpoint_auth_method.as_str()
        ))));
    }
    match (&client.secret_hash, secret) {
        // A public client presents no secret; PKCE binds its code instead.
        (None, None) if client.is_public() => Ok(client),
        (Some(stored), Some(secret)) => {
            if constant_time_eq(sha256_b64(&secret).as_bytes(), stored.as_bytes()) {
                Ok(client)
            } else {
                Err(failed())
            }
        }
        _ => Err(failed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%3Aclient:s%2Bcr+t"));
        let (id, secret) = parse_basic(&header).map_err(|_| ()).unwrap();
        assert_eq!(id, "my:client");
        assert_eq!(secret, "s+cr t");
    }

    #[test]
    fn malformed_basic_is_refused() {
        assert!(parse_basic("Basic !!!").is_err());
        assert!(parse_basic(&format!("Basic {}", STANDARD.encode("nocolon"))).is_err());
        assert!(parse_basic("Bearer abc").is_err());
    }
}
