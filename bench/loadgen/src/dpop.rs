//! DPoP proofs (RFC 9449) as a client makes them: an ES256 key of its own, made once per
//! worker, and for each request a JWT of type `dpop+jwt` carrying that key's public half in its
//! header, with a new `jti`, `iat` now, and the request's method and URL.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::clock::{Clock as _, SystemClock};
use serde_json::json;

use crate::Failure;

pub struct ProofKey {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    /// The proof's header, base64url: the same for every proof of this key.
    header: String,
}

impl ProofKey {
    pub fn new() -> Result<Self, Failure> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| "could not make a P-256 key")?;
        // The uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = key.public_key().as_ref();
        let (x, y) = match point {
            [4, rest @ ..] if rest.len() == 64 => rest.split_at(32),
            _ => return Err("unexpected P-256 public key".into()),
        };
        let header = json!({
            "typ": "dpop+jwt",
            "alg": "ES256",
            "jwk": {
                "kty": "EC",
                "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(x),
                "y": URL_SAFE_NO_PAD.encode(y),
            },
        });
        Ok(Self {
            key,
            rng: SystemRandom::new(),
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
        })
    }

    /// A fresh proof for `method` at `url`.
    pub fn proof(&self, method: &str, url: &str) -> Result<String, Failure> {
        let claims = json!({
            "jti": idp_core::random::random_token(16),
            "htm": method,
            "htu": url,
            "iat": SystemClock.now(),
        });
        let input = format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| "could not sign a DPoP proof")?;
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}
