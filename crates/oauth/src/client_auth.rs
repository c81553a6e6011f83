//! Client authentication at the token endpoint (RFC 6749 §2.3): `client_secret_basic`,
//! `client_secret_post`, `private_key_jwt` (RFC 7523), a TLS client certificate
//! (`tls_client_auth`, `self_signed_tls_client_auth`, RFC 8705), or `none` for a public client
//! (which must then use PKCE).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use idp_core::model::{Client, Consumed, EphemeralKind, TokenEndpointAuthMethod};
use idp_core::random::{constant_time_eq, sha256_b64};
use idp_core::store::{ClientStore, EphemeralStore};
use idp_core::{Clock, OAuthError, StoreError};
use idp_token_issuer::client_assertion;
use idp_token_issuer::client_keys::ALGORITHMS;

use crate::authorization_request::ProtocolOptions;
use crate::client_keys::{ClientKeys, VerifyError};
use crate::fapi::{self, Rules};

/// The credentials a request presented.
#[derive(Debug, Default)]
pub struct Presented<'a> {
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    pub form_client_id: Option<&'a str>,
    pub form_client_secret: Option<&'a str>,
    pub client_assertion_type: Option<&'a str>,
    pub client_assertion: Option<&'a str>,
    /// The TLS client certificate a trusted proxy forwarded (RFC 8705).
    pub certificate: Option<&'a crate::mtls::ClientCertificate>,
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

/// The client the request authenticates as. `keys` gives a client's public keys (registered
/// or at its `jwks_uri`); `used_assertions` remembers the `jti` of each client assertion until
/// it expires; `audiences` are those a client assertion may name: the issuer first, then the
/// token endpoint (RFC 7523 §3). A client under the FAPI 2.0 profile (`protocol`, see
/// [`crate::fapi`]) authenticates only with an assertion, signed PS256, ES256 or EdDSA, whose
/// `aud` is the issuer alone.
pub async fn authenticate(
    presented: Presented<'_>,
    clients: &dyn ClientStore,
    keys: &dyn ClientKeys,
    used_assertions: &dyn EphemeralStore,
    clock: &dyn Clock,
    audiences: &[&str],
    protocol: ProtocolOptions,
) -> Result<Client, AuthError> {
    if presented.client_assertion.is_some() || presented.client_assertion_type.is_some() {
        return authenticate_with_assertion(
            presented,
            clients,
            keys,
            used_assertions,
            clock,
            audiences,
            protocol,
        )
        .await;
    }
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
    if method == TokenEndpointAuthMethod::None && client.token_endpoint_auth_method.is_tls() {
        return authenticate_with_certificate(client, presented.certificate, keys).await;
    }
    // Only the method the client registered (RFC 7591 §2): a secret registered for the
    // Authorization header is never accepted from a form body that proxies may log.
    // The answer is the same as for a wrong secret: it tells nobody which clients exist or
    // how they authenticate.
    if method != client.token_endpoint_auth_method {
        return Err(failed());
    }
    let client = match (&client.secret_hash, secret) {
        // A public client presents no secret; PKCE binds its code instead.
        (None, None) if client.is_public() => client,
        (Some(stored), Some(secret))
            if constant_time_eq(sha256_b64(&secret).as_bytes(), stored.as_bytes()) =>
        {
            client
        }
        _ => return Err(failed()),
    };
    // Said only to a client that proved who it is.
    if !Rules::for_client(&client.metadata, protocol).allows_auth_method(method) {
        return Err(AuthError::OAuth(OAuthError::invalid_client(
            "under the FAPI 2.0 profile the client authenticates with private_key_jwt, tls_client_auth or self_signed_tls_client_auth",
        )));
    }
    Ok(client)
}

/// `tls_client_auth` and `self_signed_tls_client_auth` (RFC 8705 §2): the certificate names
/// the client as it registered, or is one in its JWK Set (fetched again once from its
/// `jwks_uri` when none matches, as for a rotated signing key).
async fn authenticate_with_certificate(
    client: Client,
    certificate: Option<&crate::mtls::ClientCertificate>,
    keys: &dyn ClientKeys,
) -> Result<Client, AuthError> {
    let self_signed =
        client.token_endpoint_auth_method == TokenEndpointAuthMethod::SelfSignedTlsClientAuth;
    let jwks = match self_signed && certificate.is_some() {
        true => keys.jwks(&client, false).await.ok(),
        false => None,
    };
    if crate::mtls::authenticates(&client, certificate, jwks.as_deref()) {
        return Ok(client);
    }
    if self_signed && certificate.is_some() && client.metadata.jwks_uri.is_some() {
        let fresh = keys.jwks(&client, true).await.ok();
        if crate::mtls::authenticates(&client, certificate, fresh.as_deref()) {
            return Ok(client);
        }
    }
    Err(failed())
}

/// `private_key_jwt` (RFC 7523 §2.2): the assertion must verify against the client's
/// registered keys and be used only once (its `jti` is remembered until it expires).
async fn authenticate_with_assertion(
    presented: Presented<'_>,
    clients: &dyn ClientStore,
    keys: &dyn ClientKeys,
    used_assertions: &dyn EphemeralStore,
    clock: &dyn Clock,
    audiences: &[&str],
    protocol: ProtocolOptions,
) -> Result<Client, AuthError> {
    if presented.authorization.is_some() || presented.form_client_secret.is_some() {
        return Err(
            OAuthError::invalid_request("use one client authentication method, not both").into(),
        );
    }
    if presented.client_assertion_type != Some(client_assertion::JWT_BEARER) {
        return Err(OAuthError::invalid_client("client_assertion_type must be jwt-bearer").into());
    }
    let assertion = presented.client_assertion.ok_or_else(failed)?;
    let claimed = client_assertion::claimed_client(assertion);
    let client_id = match (presented.form_client_id, claimed.as_deref()) {
        (Some(form), Some(claimed)) if form != claimed => return Err(failed()),
        (Some(form), _) => form.to_owned(),
        (None, Some(claimed)) => claimed.to_owned(),
        (None, None) => return Err(failed()),
    };
    let client = clients
        .find_client(&client_id)
        .await
        .map_err(AuthError::Store)?
        .ok_or_else(failed)?;
    if client.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
        return Err(failed());
    }
    if client.metadata.jwks.is_none() && client.metadata.jwks_uri.is_none() {
        return Err(failed());
    }
    let signed = crate::client_keys::verify(keys, &client, assertion, &ALGORITHMS)
        .await
        .map_err(|error| match error {
            VerifyError::Unavailable(why) => AuthError::OAuth(OAuthError::invalid_client(format!(
                "the client's keys (jwks_uri) could not be fetched: {why}"
            ))),
            VerifyError::Signature(_) => failed(),
        })?;
    // What the FAPI 2.0 profile adds is said only to a client whose signature verified.
    let rules = Rules::for_client(&client.metadata, protocol);
    if !rules
        .assertion_algorithms(&ALGORITHMS)
        .contains(&signed.alg)
    {
        return Err(AuthError::OAuth(OAuthError::invalid_client(format!(
            "under the FAPI 2.0 profile client assertions are signed with {}",
            fapi::ASSERTION_ALGORITHMS.join(", ")
        ))));
    }
    let issuer = audiences.first().copied().unwrap_or_default();
    if !rules.assertion_audience_ok(signed.claims.get("aud"), issuer) {
        return Err(AuthError::OAuth(OAuthError::invalid_client(
            "under the FAPI 2.0 profile the client assertion's aud must be the issuer, as one string",
        )));
    }
    let verified =
        client_assertion::check_claims(signed.claims, &client.id, audiences, clock.now())
            .map_err(|_| failed())?;
    let key = format!("{}:{}", client.id, verified.jti);
    used_assertions
        .put(
            EphemeralKind::AssertionJti,
            &key,
            &serde_json::json!({}),
            verified.exp + 60,
        )
        .await
        .map_err(AuthError::Store)?;
    match used_assertions
        .consume(EphemeralKind::AssertionJti, &key, clock.now())
        .await
    {
        Ok(Consumed::Fresh(_)) => Ok(client),
        Ok(_) => Err(AuthError::OAuth(OAuthError::invalid_client(
            "the client assertion was already used",
        ))),
        Err(error) => Err(AuthError::Store(error)),
    }
}

#[cfg(test)]
mod tests {
    use idp_core::ErrorCode;
    use idp_core::clock::ManualClock;
    use idp_core::model::SigningAlg;
    use idp_token_issuer::{KeySet, SigningKey};
    use serde_json::json;

    use super::*;
    use crate::test_stores::{MemoryEphemeral, OneClient, client};

    const ISSUER: &str = "https://idp.example";
    const TOKEN_ENDPOINT: &str = "https://idp.example/token";

    /// The client `presented` authenticates as, or the code it is refused with.
    async fn outcome(
        presented: Presented<'_>,
        client: &Client,
        used: &MemoryEphemeral,
        clock: &ManualClock,
    ) -> Result<String, ErrorCode> {
        let clients = OneClient(client.clone());
        let keys = crate::client_keys::RegisteredKeys;
        let audiences = [ISSUER, TOKEN_ENDPOINT];
        let protocol = ProtocolOptions::default();
        match authenticate(
            presented, &clients, &keys, used, clock, &audiences, protocol,
        )
        .await
        {
            Ok(client) => Ok(client.id),
            Err(AuthError::OAuth(error)) => Err(error.code),
            Err(AuthError::Store(error)) => panic!("{error:?}"),
        }
    }

    #[tokio::test]
    async fn a_secret_is_taken_only_by_the_method_the_client_registered() {
        let registered = client(
            "c1",
            TokenEndpointAuthMethod::ClientSecretBasic,
            Some(sha256_b64("s3cret")),
        );
        let (used, clock) = (MemoryEphemeral::default(), ManualClock::new(1000));
        let basic = format!("Basic {}", STANDARD.encode("c1:s3cret"));
        let wrong = format!("Basic {}", STANDARD.encode("c1:wrong"));
        let in_header = |header| Presented {
            authorization: Some(header),
            ..Presented::default()
        };
        let in_form = Presented {
            form_client_id: Some("c1"),
            form_client_secret: Some("s3cret"),
            ..Presented::default()
        };
        let both = Presented {
            authorization: Some(&basic),
            form_client_secret: Some("s3cret"),
            ..Presented::default()
        };
        let outcome = |presented| outcome(presented, &registered, &used, &clock);
        assert_eq!(outcome(in_header(&basic)).await, Ok("c1".to_owned()));
        assert_eq!(
            outcome(in_header(&wrong)).await,
            Err(ErrorCode::InvalidClient)
        );
        assert_eq!(outcome(in_form).await, Err(ErrorCode::InvalidClient));
        assert_eq!(outcome(both).await, Err(ErrorCode::InvalidRequest));
    }

    #[tokio::test]
    async fn a_public_client_presents_its_id_and_nothing_else() {
        let registered = client("app", TokenEndpointAuthMethod::None, None);
        let (used, clock) = (MemoryEphemeral::default(), ManualClock::new(1000));
        let outcome = |presented| outcome(presented, &registered, &used, &clock);
        let id_only = Presented {
            form_client_id: Some("app"),
            ..Presented::default()
        };
        let with_secret = Presented {
            form_client_id: Some("app"),
            form_client_secret: Some("guess"),
            ..Presented::default()
        };
        assert_eq!(outcome(id_only).await, Ok("app".to_owned()));
        assert_eq!(outcome(with_secret).await, Err(ErrorCode::InvalidClient));
        assert_eq!(
            outcome(Presented::default()).await,
            Err(ErrorCode::InvalidClient)
        );
    }

    #[tokio::test]
    async fn a_client_assertion_is_taken_once_and_only_while_it_lives() {
        let der = SigningKey::generate(SigningAlg::ES256).unwrap();
        let keys = KeySet::new(vec![
            SigningKey::from_pkcs8(SigningAlg::ES256, &der).unwrap(),
        ]);
        let mut registered = client("c1", TokenEndpointAuthMethod::PrivateKeyJwt, None);
        registered.metadata.jwks = Some(serde_json::to_value(keys.jwks()).unwrap());
        let (used, clock) = (MemoryEphemeral::default(), ManualClock::new(1000));
        let sign = |aud: &str, jti: &str| {
            let claims = json!({ "iss": "c1", "sub": "c1", "aud": aud, "exp": 1100, "jti": jti });
            keys.sign(SigningAlg::ES256, "JWT", &claims).unwrap()
        };
        let presenting = |assertion| Presented {
            client_assertion_type: Some(client_assertion::JWT_BEARER),
            client_assertion: Some(assertion),
            ..Presented::default()
        };
        let outcome = |presented| outcome(presented, &registered, &used, &clock);
        let first = sign(TOKEN_ENDPOINT, "j1");
        assert_eq!(outcome(presenting(&first)).await, Ok("c1".to_owned()));
        assert_eq!(
            outcome(presenting(&first)).await,
            Err(ErrorCode::InvalidClient),
            "used again"
        );
        let to_issuer = sign(ISSUER, "j2");
        assert_eq!(outcome(presenting(&to_issuer)).await, Ok("c1".to_owned()));
        let elsewhere = sign("https://other.example/token", "j3");
        assert_eq!(
            outcome(presenting(&elsewhere)).await,
            Err(ErrorCode::InvalidClient)
        );
        let late = sign(TOKEN_ENDPOINT, "j4");
        clock.advance(100);
        assert_eq!(
            outcome(presenting(&late)).await,
            Err(ErrorCode::InvalidClient),
            "expired"
        );
    }

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
