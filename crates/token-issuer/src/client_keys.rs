//! Signatures made with a client's own keys, its JWK Set (registered as `jwks` or published at
//! its `jwks_uri`): client assertions (`private_key_jwt`, RFC 7523) and request objects
//! (RFC 9101). One verifier, so that both accept the same keys and algorithms.

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// The algorithms a client may sign with: asymmetric ones only, never `none` and never HMAC.
pub const ALGORITHMS: [&str; 5] = ["ES256", "ES384", "RS256", "PS256", "EdDSA"];

/// Why a client's signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("it is not a signed JWT (JWS compact serialization)")]
    Malformed,
    #[error("its signing algorithm is not accepted")]
    Algorithm,
    #[error("the client's keys are not a valid JWK Set")]
    KeySet,
    /// None of the keys could have made it: a `kid` the set lacks, or, without a `kid`, no key
    /// that verifies. A newer copy of the client's keys may have it.
    #[error("none of the client's keys matches its signature")]
    NoKey,
    #[error("its signature does not verify")]
    Signature,
}

impl SignatureError {
    /// Whether a fresh copy of the client's keys could change the answer (it rotated them).
    pub fn wants_fresh_keys(self) -> bool {
        self == Self::NoKey
    }
}

/// A JWS that one of the client's keys verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    /// The header's algorithm, as named in [`ALGORITHMS`].
    pub alg: &'static str,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// The algorithm the JOSE header of `jws` names, read without verifying anything (so `none`
/// too); `None` when the header cannot be read.
pub fn header_alg(jws: &str) -> Option<String> {
    header_field(jws, "alg")
}

/// A member of the JOSE header of `jws` that is a string (`alg`, `typ`), read without
/// verifying anything.
pub fn header_field(jws: &str, name: &str) -> Option<String> {
    let header = jws.split('.').next()?;
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value[name].as_str().map(str::to_owned)
}

/// The claims of `jws`, read without verifying its signature: only to find who it claims to
/// come from, or where to answer a request that failed.
pub fn unverified_claims(jws: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = jws.split('.').nth(1)?;
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Verifies `jws` with one of the keys in `jwks` (by `kid` when the header names one), for an
/// algorithm in `accepted` (a subset of [`ALGORITHMS`]). Checks only the signature: what the
/// claims must say is the caller's business.
pub fn verify(
    jws: &str,
    jwks: &serde_json::Value,
    accepted: &[&str],
) -> Result<Signed, SignatureError> {
    let header = jsonwebtoken::decode_header(jws).map_err(|_| SignatureError::Malformed)?;
    let alg = match header.alg {
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::PS256 => "PS256",
        Algorithm::EdDSA => "EdDSA",
        _ => return Err(SignatureError::Algorithm),
    };
    if !accepted.contains(&alg) {
        return Err(SignatureError::Algorithm);
    }
    let keys = jwks["keys"].as_array().ok_or(SignatureError::KeySet)?;
    // Keys this library cannot read (other key types, encryption-only algorithms) are
    // skipped, not fatal: a set may hold keys for other purposes.
    let keys: Vec<Jwk> = keys
        .iter()
        .filter_map(|key| serde_json::from_value(key.clone()).ok())
        .collect();
    let candidates: Vec<DecodingKey> = keys
        .iter()
        .filter(|k| k.common.public_key_use != Some(PublicKeyUse::Encryption))
        .filter(|k| header.kid.is_none() || k.common.key_id == header.kid)
        .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
        .collect();
    if candidates.is_empty() {
        return Err(SignatureError::NoKey);
    }
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = candidates.iter().find_map(|key| {
        jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(jws, key, &validation)
            .ok()
    });
    match claims {
        Some(data) => Ok(Signed {
            alg,
            claims: data.claims,
        }),
        None if header.kid.is_none() => Err(SignatureError::NoKey),
        None => Err(SignatureError::Signature),
    }
}

#[cfg(test)]
mod tests {
    use idp_core::model::SigningAlg;
    use serde_json::json;

    use super::*;
    use crate::{KeySet, SigningKey};

    fn keys(alg: SigningAlg) -> KeySet {
        let der = SigningKey::generate(alg).unwrap();
        KeySet::new(vec![SigningKey::from_pkcs8(alg, &der).unwrap()])
    }

    #[test]
    fn a_signature_verifies_with_the_clients_key_only() {
        for alg in SigningAlg::ALL {
            let mine = keys(alg);
            let jwks = serde_json::to_value(mine.jwks()).unwrap();
            let jws = mine.sign(alg, "JWT", &json!({ "a": 1 })).unwrap();
            let signed = verify(&jws, &jwks, &ALGORITHMS).unwrap();
            assert_eq!((signed.alg, &signed.claims["a"]), (alg.as_str(), &json!(1)));
            assert_eq!(header_alg(&jws).as_deref(), Some(alg.as_str()));
            assert_eq!(
                verify(&jws, &jwks, &["PS256"]),
                Err(SignatureError::Algorithm)
            );
            // Another key with the same kid would be a forgery; another kid is unknown.
            let theirs = keys(alg).sign(alg, "JWT", &json!({ "a": 1 })).unwrap();
            assert_eq!(
                verify(&theirs, &jwks, &ALGORITHMS),
                Err(SignatureError::NoKey)
            );
        }
        let unsigned = "eyJhbGciOiJub25lIn0.eyJhIjoxfQ.";
        assert_eq!(header_alg(unsigned).as_deref(), Some("none"));
        assert!(verify(unsigned, &json!({ "keys": [] }), &ALGORITHMS).is_err());
    }
}
