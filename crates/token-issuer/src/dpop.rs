//! The signature of a DPoP proof (RFC 9449 §4.2, §4.3 checks 1 to 7): a JWT of type
//! `dpop+jwt` signed with the public key its own header carries. What its claims must say is
//! checked by the caller (`idp_oauth::dpop`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sha2::{Digest as _, Sha256};

/// The algorithms a proof may be signed with, as discovery lists them
/// (`dpop_signing_alg_values_supported`): asymmetric, never `none` or HMAC.
pub const ALGORITHMS: [&str; 3] = ["ES256", "PS256", "EdDSA"];

/// The JWK members that only a private (or symmetric) key has.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// Why a proof's signature was not accepted; each says which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the DPoP proof is not a signed JWT")]
    Malformed,
    #[error("the DPoP proof's typ must be dpop+jwt")]
    Type,
    #[error("the DPoP proof's alg must be one of ES256, PS256, EdDSA")]
    Algorithm,
    #[error("the DPoP proof's header must carry a public jwk")]
    Key,
    #[error("the DPoP proof's jwk must not contain a private key")]
    PrivateKey,
    #[error("the DPoP proof's signature does not verify with its jwk")]
    Signature,
}

/// A proof whose signature verified with the key it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedProof {
    pub alg: &'static str,
    /// The key's JWK SHA-256 thumbprint (RFC 7638), base64url: what a token is bound to.
    pub jkt: String,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

fn header(jws: &str) -> Result<serde_json::Map<String, serde_json::Value>, ProofError> {
    let mut parts = jws.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| ProofError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| ProofError::Malformed)
}

/// Verifies the header and signature of `proof`: `typ` `dpop+jwt`, an `alg` of
/// [`ALGORITHMS`], a public `jwk` (no private member), and a signature that key made.
pub fn verify(proof: &str) -> Result<SignedProof, ProofError> {
    let header = header(proof)?;
    if header.get("typ").and_then(|t| t.as_str()) != Some("dpop+jwt") {
        return Err(ProofError::Type);
    }
    let (alg, algorithm) = match header.get("alg").and_then(|a| a.as_str()) {
        Some("ES256") => ("ES256", Algorithm::ES256),
        Some("PS256") => ("PS256", Algorithm::PS256),
        Some("EdDSA") => ("EdDSA", Algorithm::EdDSA),
        _ => return Err(ProofError::Algorithm),
    };
    let Some(serde_json::Value::Object(raw)) = header.get("jwk") else {
        return Err(ProofError::Key);
    };
    if PRIVATE_MEMBERS.iter().any(|m| raw.contains_key(*m)) {
        return Err(ProofError::PrivateKey);
    }
    let jwk: Jwk = serde_json::from_value(serde_json::Value::Object(raw.clone()))
        .map_err(|_| ProofError::Key)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| ProofError::Key)?;
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| ProofError::Key)?;
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
        proof,
        &key,
        &validation,
    )
    .map_err(|_| ProofError::Signature)?;
    Ok(SignedProof {
        alg,
        jkt,
        claims: data.claims,
    })
}

/// The `ath` a proof presented with `access_token` must carry (RFC 9449 §4.2): the base64url
/// SHA-256 of the token's ASCII.
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use idp_core::model::SigningAlg;
    use jsonwebtoken::EncodingKey;
    use serde_json::json;

    use super::*;
    use crate::SigningKey;

    fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    /// A client's proof key: what signs, and its public JWK.
    struct ProofKey {
        alg: Algorithm,
        key: EncodingKey,
        jwk: serde_json::Value,
    }

    impl ProofKey {
        fn new(alg: Algorithm) -> Self {
            let (der, key) = match alg {
                Algorithm::ES256 => {
                    let der = SigningKey::generate(SigningAlg::ES256).unwrap();
                    let key = EncodingKey::from_ec_der(&der);
                    (der, key)
                }
                Algorithm::EdDSA => {
                    let der = SigningKey::generate(SigningAlg::EdDSA).unwrap();
                    let key = EncodingKey::from_ed_der(&der);
                    (der, key)
                }
                _ => {
                    let der = SigningKey::generate(SigningAlg::RS256).unwrap();
                    let pem = crate::keys::pkcs8_pem(&der);
                    (der, EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap())
                }
            };
            drop(der);
            let jwk = Jwk::from_encoding_key(&key, alg).unwrap();
            let mut jwk = serde_json::to_value(jwk).unwrap();
            jwk.as_object_mut()
                .unwrap()
                .retain(|k, _| !["alg", "use", "kid"].contains(&k.as_str()));
            Self { alg, key, jwk }
        }

        /// A proof with the usual header, `extra` members replacing or adding to it.
        fn proof(&self, extra: serde_json::Value) -> String {
            let alg = serde_json::to_value(self.alg).unwrap();
            let mut header = json!({ "typ": "dpop+jwt", "alg": alg, "jwk": self.jwk });
            for (k, v) in extra.as_object().unwrap() {
                header[k] = v.clone();
            }
            let input = format!("{}.{}", b64(&header), b64(&json!({ "jti": "j" })));
            let signature =
                jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, self.alg).unwrap();
            format!("{input}.{signature}")
        }
    }

    #[test]
    fn a_proof_verifies_with_its_own_key() {
        for alg in [Algorithm::ES256, Algorithm::PS256, Algorithm::EdDSA] {
            let key = ProofKey::new(alg);
            let signed = verify(&key.proof(json!({}))).unwrap();
            assert_eq!(signed.claims["jti"], "j");
            let parsed: Jwk = serde_json::from_value(key.jwk.clone()).unwrap();
            assert_eq!(
                signed.jkt,
                parsed.thumbprint(ThumbprintHash::SHA256).unwrap()
            );
        }
    }

    #[test]
    fn bad_headers_are_refused() {
        let key = ProofKey::new(Algorithm::ES256);
        assert_eq!(
            verify(&key.proof(json!({ "typ": "JWT" }))),
            Err(ProofError::Type)
        );
        assert_eq!(
            verify(&key.proof(json!({ "typ": null }))),
            Err(ProofError::Type)
        );
        for member in PRIVATE_MEMBERS {
            let mut private = key.jwk.clone();
            private[member] = json!("AAAA");
            assert_eq!(
                verify(&key.proof(json!({ "jwk": private }))),
                Err(ProofError::PrivateKey),
                "{member}"
            );
        }
        assert_eq!(
            verify(&key.proof(json!({ "jwk": null }))),
            Err(ProofError::Key)
        );
        assert_eq!(
            verify(&key.proof(json!({ "jwk": { "kty": "EC" } }))),
            Err(ProofError::Key)
        );
        // Another key than the one that signed.
        let other = ProofKey::new(Algorithm::ES256);
        assert_eq!(
            verify(&key.proof(json!({ "jwk": other.jwk }))),
            Err(ProofError::Signature)
        );
        for alg in ["none", "HS256", "RS256", "ES384", "ES256K"] {
            assert_eq!(
                verify(&key.proof(json!({ "alg": alg }))),
                Err(ProofError::Algorithm),
                "{alg}"
            );
        }
        let unsigned = format!(
            "{}.{}.",
            b64(&json!({ "typ": "dpop+jwt", "alg": "none", "jwk": key.jwk })),
            b64(&json!({ "jti": "j" }))
        );
        assert_eq!(verify(&unsigned), Err(ProofError::Algorithm));
        assert_eq!(verify("a.b"), Err(ProofError::Malformed));
        assert_eq!(verify("a.b.c.d"), Err(ProofError::Malformed));
        assert_eq!(
            access_token_hash("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
