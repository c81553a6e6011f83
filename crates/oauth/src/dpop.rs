//! DPoP proofs (RFC 9449): the checks of §4.3 on what a proof says, after
//! [`idp_token_issuer::dpop::verify`] checked how it is signed: the method and URL of the
//! request it came with, a fresh `iat`, a `jti` never seen before by any node, the access
//! token's hash where one is presented, and the server's nonce where nonces are asked for.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use idp_core::clock::UnixTime;
use idp_core::model::EphemeralKind;
use idp_core::store::EphemeralStore;
use idp_core::{ErrorCode, OAuthError, StoreError};
use idp_token_issuer::dpop::{ProofError, access_token_hash};
use sha2::Sha256;

pub use idp_token_issuer::dpop::ALGORITHMS;

/// How far a proof's `iat` may be from the server's clock, either way (RFC 9449 §11.1).
pub const IAT_WINDOW_SECS: i64 = 60;

/// How long one nonce slot lasts; a nonce is accepted in its slot and the next.
pub const NONCE_SLOT_SECS: i64 = 300;

/// The request a proof must be made for.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The HTTP method (`POST`, `GET`).
    pub method: &'a str,
    /// The endpoint's URL from the issuer identifier (normalised here, as `htu` is).
    pub url: &'a str,
    /// The access token presented with the proof, whose hash `ath` must carry.
    pub access_token: Option<&'a str>,
    /// The server's nonces, when the deployment asks for them.
    pub nonces: Option<&'a Nonces>,
}

/// A proof that passed every check: the thumbprint of its key (what tokens are bound to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub jkt: String,
}

/// Why a request's proof is refused: an invalid proof, a nonce the client must fetch (the
/// caller answers with a fresh one in `DPoP-Nonce`), or the store that failed.
#[derive(Debug)]
pub enum DpopError {
    OAuth(OAuthError),
    Store(StoreError),
}

impl From<StoreError> for DpopError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

pub fn invalid(description: impl Into<std::borrow::Cow<'static, str>>) -> DpopError {
    DpopError::OAuth(OAuthError::new(ErrorCode::InvalidDpopProof, description))
}

fn use_nonce(description: &'static str) -> DpopError {
    DpopError::OAuth(OAuthError::new(ErrorCode::UseDpopNonce, description))
}

impl From<ProofError> for DpopError {
    fn from(error: ProofError) -> Self {
        invalid(error.to_string())
    }
}

/// The DPoP proof of a request, from its `DPoP` header values: none, or exactly one (RFC 9449
/// §4.3 check 1: more than one is refused).
pub fn one_proof<'a>(values: &[&'a str]) -> Result<Option<&'a str>, DpopError> {
    match values {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(invalid("more than one DPoP header")),
    }
}

/// A URL as `htu` is compared (RFC 9449 §4.3 check 9, RFC 3986 §6.2.2 and §6.2.3): without
/// query or fragment, scheme and host in lower case, without the scheme's default port.
pub fn normalise_url(url: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
        return None;
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    // `url` already lower-cases scheme and host and drops a default port.
    Some(parsed.to_string())
}

/// The `dpop_jkt` of an authorization request (RFC 9449 §10), when it has one: a JWK SHA-256
/// thumbprint, base64url (43 characters).
pub fn requested_key(dpop_jkt: Option<&str>) -> Result<Option<String>, OAuthError> {
    let Some(jkt) = dpop_jkt else {
        return Ok(None);
    };
    let decoded = URL_SAFE_NO_PAD.decode(jkt).ok();
    if decoded.is_none_or(|bytes| bytes.len() != 32) {
        return Err(OAuthError::invalid_request(
            "dpop_jkt must be the base64url SHA-256 thumbprint of a JWK",
        ));
    }
    Ok(Some(jkt.to_owned()))
}

/// The key a pushed authorization request binds its code to (RFC 9449 §10.1): the proof's
/// (`proven`), the `dpop_jkt` parameter's, which must then be the same, or none.
pub fn pushed_key(
    proven: Option<&str>,
    dpop_jkt: Option<&str>,
) -> Result<Option<String>, DpopError> {
    let requested = requested_key(dpop_jkt).map_err(DpopError::OAuth)?;
    match (proven, requested) {
        (Some(proven), Some(requested)) if proven != requested => Err(invalid(
            "dpop_jkt is not the thumbprint of the DPoP proof's key",
        )),
        (Some(proven), _) => Ok(Some(proven.to_owned())),
        (None, requested) => Ok(requested),
    }
}

/// Checks `proof` for the request `expected`, then records its `jti` so that no node accepts
/// it again. The answer carries the key's thumbprint.
pub async fn check(
    proof: &str,
    expected: Expected<'_>,
    replays: &dyn EphemeralStore,
    now: UnixTime,
) -> Result<Proof, DpopError> {
    let signed = idp_token_issuer::dpop::verify(proof)?;
    let jti = check_claims(&signed.claims, expected, now)?;
    // Remembered for as long as its `iat` is acceptable; the id is hashed to bound its length.
    let id = idp_core::random::sha256_b64(&format!("{}:{jti}", signed.jkt));
    let until = now + 2 * IAT_WINDOW_SECS + 1;
    if !replays
        .first_use(EphemeralKind::DpopJti, &id, until, now)
        .await?
    {
        return Err(invalid("the DPoP proof was already used (jti)"));
    }
    Ok(Proof { jkt: signed.jkt })
}

/// The claims' checks of RFC 9449 §4.3 (checks 8 to 12); answers the `jti`.
pub fn check_claims<'a>(
    claims: &'a serde_json::Map<String, serde_json::Value>,
    expected: Expected<'_>,
    now: UnixTime,
) -> Result<&'a str, DpopError> {
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str());
    let jti = text("jti")
        .filter(|jti| !jti.is_empty() && jti.len() <= 256)
        .ok_or_else(|| invalid("the DPoP proof has no jti"))?;
    if text("htm") != Some(expected.method) {
        return Err(invalid("the DPoP proof's htm is not this request's method"));
    }
    let htu = text("htu").and_then(normalise_url);
    if htu.is_none() || htu != normalise_url(expected.url) {
        return Err(invalid("the DPoP proof's htu is not this endpoint's URL"));
    }
    let iat = claims
        .get("iat")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| invalid("the DPoP proof has no iat"))?;
    if (iat - now).abs() > IAT_WINDOW_SECS {
        return Err(invalid("the DPoP proof's iat is too far from now"));
    }
    match (expected.access_token, text("ath")) {
        (Some(token), Some(ath))
            if idp_core::random::constant_time_eq(
                ath.as_bytes(),
                access_token_hash(token).as_bytes(),
            ) => {}
        (Some(_), _) => {
            return Err(invalid(
                "the DPoP proof's ath is not the hash of the access token",
            ));
        }
        (None, _) => {}
    }
    if let Some(nonces) = expected.nonces {
        match text("nonce") {
            None => return Err(use_nonce("the DPoP proof must carry the server's nonce")),
            Some(nonce) if !nonces.accepts(nonce, now) => {
                return Err(use_nonce("the DPoP proof's nonce is not current"));
            }
            Some(_) => {}
        }
    }
    Ok(jti)
}

/// Server nonces (RFC 9449 §8): an HMAC of the current time slot under a key every node
/// shares, so that each node accepts every node's nonce without storing any. A nonce is good
/// in its slot and the next.
#[derive(Clone)]
pub struct Nonces {
    key: Vec<u8>,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces").finish_non_exhaustive()
    }
}

impl Nonces {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn of_slot(&self, slot: i64) -> String {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(b"dpop-nonce:");
        mac.update(&slot.to_be_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The nonce to hand out at `now`.
    pub fn current(&self, now: UnixTime) -> String {
        self.of_slot(now.div_euclid(NONCE_SLOT_SECS))
    }

    /// Whether `nonce` is this slot's or the previous one's.
    pub fn accepts(&self, nonce: &str, now: UnixTime) -> bool {
        let slot = now.div_euclid(NONCE_SLOT_SECS);
        [slot, slot - 1].into_iter().any(|slot| {
            idp_core::random::constant_time_eq(nonce.as_bytes(), self.of_slot(slot).as_bytes())
        })
    }
}

#[cfg(test)]
#[path = "dpop_tests.rs"]
mod tests;
