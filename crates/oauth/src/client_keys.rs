//! Where a client's public keys come from: registered with it (`jwks`), or published at its
//! `jwks_uri` and fetched by the server (which keeps them for a while). A signature that none
//! of the keys matches asks once more for a fresh copy, so a client that rotated its keys is
//! recognised at once (OpenID Connect Core §10.1.1).

use std::sync::Arc;

use async_trait::async_trait;
use idp_core::model::Client;
use idp_token_issuer::client_keys::{self, SignatureError, Signed};

/// Why the client's keys could not be had; the words are safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeysUnavailable(pub String);

/// A client's JWK Set, wherever it is kept.
#[async_trait]
pub trait ClientKeys: Send + Sync {
    /// The client's keys. `fresh`: the copy given before lacked the key a signature was made
    /// with; fetch them again where they are fetched and the rate limit allows.
    async fn jwks(
        &self,
        client: &Client,
        fresh: bool,
    ) -> Result<Arc<serde_json::Value>, KeysUnavailable>;
}

/// Only the keys registered with the client (`jwks`): for callers that fetch nothing.
pub struct RegisteredKeys;

#[async_trait]
impl ClientKeys for RegisteredKeys {
    async fn jwks(
        &self,
        client: &Client,
        _fresh: bool,
    ) -> Result<Arc<serde_json::Value>, KeysUnavailable> {
        client
            .metadata
            .jwks
            .clone()
            .map(Arc::new)
            .ok_or_else(|| KeysUnavailable("the client registered no keys".into()))
    }
}

/// Why a client's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the client's keys could not be had: {0}")]
    Unavailable(KeysUnavailable),
    #[error("{0}")]
    Signature(SignatureError),
}

/// Verifies `jws` with `client`'s keys for an algorithm in `accepted`; when no key matches,
/// asks `keys` once for a fresh copy and tries again.
pub async fn verify(
    keys: &dyn ClientKeys,
    client: &Client,
    jws: &str,
    accepted: &[&str],
) -> Result<Signed, VerifyError> {
    let jwks = keys
        .jwks(client, false)
        .await
        .map_err(VerifyError::Unavailable)?;
    match client_keys::verify(jws, &jwks, accepted) {
        Err(error) if error.wants_fresh_keys() && client.metadata.jwks_uri.is_some() => {
            let jwks = keys
                .jwks(client, true)
                .await
                .map_err(VerifyError::Unavailable)?;
            client_keys::verify(jws, &jwks, accepted).map_err(VerifyError::Signature)
        }
        other => other.map_err(VerifyError::Signature),
    }
}

/// The keys and request object algorithm a client registers (RFC 7591 §2, OpenID Connect
/// Dynamic Registration §2): `jwks` or `jwks_uri`, never both; the URI over https to a public
/// host, as it is fetched on the client's behalf.
pub fn check_registered(
    request: &crate::client_metadata::RegistrationRequest,
) -> Result<(), String> {
    if request.jwks.is_some() && request.jwks_uri.is_some() {
        return Err("jwks and jwks_uri are mutually exclusive: send one".into());
    }
    if let Some(uri) = &request.jwks_uri {
        check_jwks_uri(uri, false)?;
    }
    for uri in request.request_uris.iter().flatten() {
        check_fetched_url("request_uris", uri, false)?;
    }
    if let Some(alg) = &request.request_object_signing_alg
        && alg != "none"
        && !client_keys::ALGORITHMS.contains(&alg.as_str())
    {
        return Err(format!(
            "request_object_signing_alg must be none or one of {}",
            client_keys::ALGORITHMS.join(", ")
        ));
    }
    Ok(())
}

/// A `jwks_uri`: an absolute http(s) URL without a fragment; https to a public host unless
/// `trusted` (a client an administrator sets up).
pub fn check_jwks_uri(uri: &str, trusted: bool) -> Result<(), String> {
    if uri.contains('#') {
        return Err("jwks_uri may not have a fragment".into());
    }
    check_fetched_url("jwks_uri", uri, trusted)
}

/// A URL the provider fetches for a client (`name` says which): absolute http(s); https to a
/// public host unless `trusted`.
pub fn check_fetched_url(name: &str, uri: &str, trusted: bool) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|e| format!("{name}: {e}"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(format!("{name} must be an http(s) URL"));
    }
    if trusted {
        return Ok(());
    }
    if parsed.scheme() != "https" {
        return Err(format!("{name} must use https"));
    }
    let internal = match parsed.host() {
        Some(url::Host::Domain(name)) => name == "localhost" || name.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => !crate::client_metadata::is_public_address(ip.into()),
        Some(url::Host::Ipv6(ip)) => !crate::client_metadata::is_public_address(ip.into()),
        None => true,
    };
    if internal {
        return Err(format!("{name} must name a public host"));
    }
    Ok(())
}
