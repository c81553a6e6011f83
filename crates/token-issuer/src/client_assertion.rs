//! Client authentication with a signed JWT (`private_key_jwt`, RFC 7523 §2.2 and §3, OpenID
//! Connect Core §9): the client signs an assertion about itself with a key it registered.

use idp_core::clock::UnixTime;
use serde::Deserialize;

use crate::TokenError;

/// The assertion type of RFC 7523 §2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live: a client signs one per request.
const MAX_LIFETIME_SECS: i64 = 600;
/// How far ahead of this server's clock a client's clock may be.
const MAX_SKEW_SECS: i64 = 60;

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    jti: String,
}

/// What a valid assertion proves: who signed it, its `jti` (for replay detection) and when it
/// expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub client_id: String,
    pub jti: String,
    pub exp: UnixTime,
}

/// The client an assertion names (`sub`), before anything is verified: to find its keys.
pub fn claimed_client(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value["sub"].as_str().map(str::to_owned)
}

/// Verifies an assertion from `client_id` against its `jwks`: a known key (by `kid`, or any
/// of the header's algorithm), an asymmetric algorithm (never `none` or HMAC), then
/// [`check_claims`]. The caller checks that the `jti` was not used before.
pub fn verify(
    assertion: &str,
    client_id: &str,
    jwks: &serde_json::Value,
    audiences: &[&str],
    now: UnixTime,
) -> Result<VerifiedAssertion, TokenError> {
    let signed = crate::client_keys::verify(assertion, jwks, &crate::client_keys::ALGORITHMS)
        .map_err(|_| TokenError::Invalid("assertion signature"))?;
    check_claims(signed.claims, client_id, audiences, now)
}

/// What a signed assertion must say: `iss` and `sub` equal to the client, an audience naming
/// this provider, and a short, unexpired lifetime.
pub fn check_claims(
    claims: serde_json::Map<String, serde_json::Value>,
    client_id: &str,
    audiences: &[&str],
    now: UnixTime,
) -> Result<VerifiedAssertion, TokenError> {
    let claims: AssertionClaims = serde_json::from_value(serde_json::Value::Object(claims))
        .map_err(|_| TokenError::Invalid("assertion claims"))?;
    if claims.iss != client_id || claims.sub != client_id {
        return Err(TokenError::Invalid(
            "assertion iss and sub must be the client",
        ));
    }
    let audience_ok = match &claims.aud {
        serde_json::Value::String(aud) => audiences.contains(&aud.as_str()),
        serde_json::Value::Array(list) => list
            .iter()
            .filter_map(|v| v.as_str())
            .any(|aud| audiences.contains(&aud)),
        _ => false,
    };
    if !audience_ok {
        return Err(TokenError::Invalid("assertion audience"));
    }
    if claims.exp <= now {
        return Err(TokenError::Invalid("assertion expired"));
    }
    // Made, or valid from, at most a minute ahead of this clock (RFC 7523 §3, a little skew).
    let ahead = |at: Option<i64>| at.is_some_and(|at| at > now + MAX_SKEW_SECS);
    if claims.exp - now > MAX_LIFETIME_SECS || ahead(claims.iat) || ahead(claims.nbf) {
        return Err(TokenError::Invalid("assertion lifetime"));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(TokenError::Invalid("assertion jti"));
    }
    Ok(VerifiedAssertion {
        client_id: client_id.to_owned(),
        jti: claims.jti,
        exp: claims.exp,
    })
}

#[cfg(test)]
mod tests {
    use idp_core::model::SigningAlg;
    use serde_json::json;

    use super::*;
    use crate::{KeySet, SigningKey};

    fn client_keys() -> KeySet {
        let der = SigningKey::generate(SigningAlg::ES256).unwrap();
        KeySet::new(vec![
            SigningKey::from_pkcs8(SigningAlg::ES256, &der).unwrap(),
        ])
    }

    fn assertion(keys: &KeySet, claims: serde_json::Value) -> String {
        keys.sign(SigningAlg::ES256, "JWT", &claims).unwrap()
    }

    const AUD: &str = "https://idp.example/token";

    fn good(exp: i64) -> serde_json::Value {
        json!({ "iss": "c1", "sub": "c1", "aud": AUD, "exp": exp, "iat": 1000, "jti": "j1" })
    }

    #[test]
    fn a_good_assertion_verifies() {
        let keys = client_keys();
        let jwks = serde_json::to_value(keys.jwks()).unwrap();
        let verified = verify(&assertion(&keys, good(1100)), "c1", &jwks, &[AUD], 1000).unwrap();
        assert_eq!(verified.jti, "j1");
        let skewed = json!({
            "iss": "c1", "sub": "c1", "aud": AUD, "exp": 1100, "iat": 1008, "nbf": 1008, "jti": "j2",
        });
        assert!(verify(&assertion(&keys, skewed), "c1", &jwks, &[AUD], 1000).is_ok());
        assert_eq!(
            claimed_client(&assertion(&keys, good(1100))).as_deref(),
            Some("c1")
        );
    }

    #[test]
    fn bad_assertions_are_refused() {
        let keys = client_keys();
        let jwks = serde_json::to_value(keys.jwks()).unwrap();
        let mut cases = vec![
            json!({ "iss": "c2", "sub": "c2", "aud": AUD, "exp": 1100, "jti": "j" }),
            json!({ "iss": "c1", "sub": "c1", "aud": "https://other.example", "exp": 1100, "jti": "j" }),
            json!({ "iss": "c1", "sub": "c1", "aud": AUD, "exp": 999, "jti": "j" }),
            json!({ "iss": "c1", "sub": "c1", "aud": AUD, "exp": 99_999, "jti": "j" }),
            json!({ "iss": "c1", "sub": "c1", "aud": AUD, "exp": 1100, "jti": "" }),
            json!({ "iss": "c1", "sub": "c1", "aud": AUD, "exp": 1100, "nbf": 1061, "jti": "j" }),
            json!({ "iss": "c1", "sub": "c1", "aud": AUD, "exp": 1100, "iat": 1061, "jti": "j" }),
        ];
        cases.push(json!({ "iss": "c1", "sub": "c1", "aud": [AUD], "exp": 1100 }));
        for claims in cases {
            assert!(
                verify(&assertion(&keys, claims.clone()), "c1", &jwks, &[AUD], 1000).is_err(),
                "{claims}"
            );
        }
        // Signed by a key the client did not register.
        let other = client_keys();
        assert!(verify(&assertion(&other, good(1100)), "c1", &jwks, &[AUD], 1000).is_err());
        // alg: none.
        let b64 = |v: &serde_json::Value| {
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                serde_json::to_vec(v).unwrap(),
            )
        };
        let unsigned = format!("{}.{}.", b64(&json!({ "alg": "none" })), b64(&good(1100)));
        assert!(verify(&unsigned, "c1", &jwks, &[AUD], 1000).is_err());
    }
}
