//! Asymmetric signing keys: generated with aws-lc-rs, kept as PKCS#8, published as JWKs whose
//! `kid` is the RFC 7638 thumbprint.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use idp_core::clock::UnixTime;
use idp_core::model::SigningAlg;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::TokenError;

pub(crate) fn jwt_alg(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    }
}

/// One key pair, ready to sign and to verify.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    /// Signs new tokens. A published key that does not sign is either about to (pre-published
    /// so that caches hold it first) or retired (kept until what it signed has expired).
    pub signing: bool,
    /// The private key, parsed once (parsing it again for every token would cost more than
    /// the signature itself).
    signer: std::sync::Arc<Signer>,
    decoding: DecodingKey,
    jwk: Jwk,
}

enum Signer {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl Signer {
    fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, TokenError> {
        let rejected = |_| TokenError::Key("the private key cannot be read".into());
        Ok(match alg {
            SigningAlg::ES256 => Self::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(rejected)?,
            ),
            SigningAlg::RS256 => Self::Rsa(RsaKeyPair::from_pkcs8(der).map_err(rejected)?),
            SigningAlg::EdDSA => {
                Self::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?)
            }
        })
    }

    /// The JWS signature of `message` (RFC 7518 §3: ES256 as R || S).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        let failed = |_| TokenError::Key("signing failed".into());
        match self {
            Self::Ecdsa(pair) => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            Self::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Self::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(failed)?;
                Ok(signature)
            }
        }
    }
}

/// The protected header of the tokens this provider signs.
#[derive(Serialize)]
struct JwsHeader<'a> {
    typ: &'a str,
    alg: &'static str,
    kid: &'a str,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a new private key for `alg`, as PKCS#8 DER.
    pub fn generate(alg: SigningAlg) -> Result<Vec<u8>, TokenError> {
        let rejected = |_| TokenError::Key("key generation failed".into());
        match alg {
            SigningAlg::ES256 => {
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &SystemRandom::new(),
                )
                .map_err(rejected)?;
                Ok(pkcs8.as_ref().to_vec())
            }
            SigningAlg::RS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(rejected)?;
                let der = pair.as_der().map_err(rejected)?;
                Ok(der.as_ref().to_vec())
            }
            // PKCS#8 v1: jsonwebtoken cannot build a JWK from the v2 form.
            SigningAlg::EdDSA => Ok(Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new())
                .map_err(rejected)?
                .as_ref()
                .to_vec()),
        }
    }

    /// Loads a PKCS#8 DER private key.
    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, TokenError> {
        let encoding = match alg {
            SigningAlg::ES256 => EncodingKey::from_ec_der(der),
            // jsonwebtoken signs RSA with a PKCS#1 key, which it extracts from a PKCS#8 PEM.
            SigningAlg::RS256 => EncodingKey::from_rsa_pem(pkcs8_pem(der).as_bytes())?,
            SigningAlg::EdDSA => EncodingKey::from_ed_der(der),
        };
        let mut jwk = Jwk::from_encoding_key(&encoding, jwt_alg(alg))?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(match alg {
            SigningAlg::ES256 => KeyAlgorithm::ES256,
            SigningAlg::RS256 => KeyAlgorithm::RS256,
            SigningAlg::EdDSA => KeyAlgorithm::EdDSA,
        });
        let decoding = DecodingKey::from_jwk(&jwk)?;
        Ok(Self {
            kid,
            alg,
            signing: true,
            signer: std::sync::Arc::new(Signer::from_pkcs8(alg, der)?),
            decoding,
            jwk,
        })
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn duplicate(&self) -> Self {
        Self {
            kid: self.kid.clone(),
            alg: self.alg,
            signing: self.signing,
            signer: self.signer.clone(),
            decoding: self.decoding.clone(),
            jwk: self.jwk.clone(),
        }
    }

    #[cfg(test)]
    fn clone_key(&self) -> Self {
        Self {
            kid: self.kid.clone(),
            alg: self.alg,
            signing: self.signing,
            signer: self.signer.clone(),
            decoding: self.decoding.clone(),
            jwk: self.jwk.clone(),
        }
    }
}

/// JSON serialisation behind a trait object, so that one closure encodes header and claims.
mod erased {
    use crate::TokenError;

    pub trait Json {
        fn to_json(&self) -> Result<Vec<u8>, TokenError>;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> Result<Vec<u8>, TokenError> {
            serde_json::to_vec(self).map_err(|e| TokenError::Key(format!("token encoding: {e}")))
        }
    }
}

pub(crate) fn pkcs8_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// The keys the provider signs with and publishes.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    pub fn new(keys: Vec<SigningKey>) -> Self {
        Self { keys }
    }

    /// The algorithms this set signs with.
    pub fn algorithms(&self) -> Vec<SigningAlg> {
        SigningAlg::ALL
            .into_iter()
            .filter(|alg| self.keys.iter().any(|k| k.alg == *alg && k.signing))
            .collect()
    }

    /// The same set without the keys whose `kid` is not in `kids` (removed elsewhere).
    pub fn retaining(&self, kids: &[String]) -> KeySet {
        KeySet {
            keys: self
                .keys
                .iter()
                .filter(|k| kids.contains(&k.kid))
                .map(SigningKey::duplicate)
                .collect(),
        }
    }

    /// The JWKS document (RFC 7517 §5).
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().map(|k| k.jwk.clone()).collect(),
        }
    }

    /// Signs `claims` as a JWS with the active key for `alg`; `typ` is the JOSE header type.
    pub fn sign<T: Serialize>(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: &T,
    ) -> Result<String, TokenError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.alg == alg && k.signing)
            .ok_or(TokenError::NoKey(alg.as_str()))?;
        let header = JwsHeader {
            typ,
            alg: alg.as_str(),
            kid: &key.kid,
        };
        let encode = |value: &dyn erased::Json| -> Result<String, TokenError> {
            Ok(URL_SAFE_NO_PAD.encode(value.to_json()?))
        };
        let mut jws = encode(&header)?;
        jws.push('.');
        jws.push_str(&encode(claims)?);
        let signature = key.signer.sign(jws.as_bytes())?;
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(jws)
    }

    /// Verifies a token this provider signed: known `kid`, the key's own algorithm (never the
    /// header's choice alone, so `alg: none` or an algorithm swap fails), the expected `typ` and
    /// issuer, and `exp` against `now` (the caller's clock, not the system's).
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
        now: UnixTime,
    ) -> Result<T, TokenError> {
        self.verify_inner(token, typ, issuer, Some(now))
    }

    /// Like [`KeySet::verify`], but an expired token is accepted: for an `id_token_hint`,
    /// which names a past sign-in (OpenID Connect RP-Initiated Logout §2).
    pub fn verify_ignoring_expiry<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
    ) -> Result<T, TokenError> {
        self.verify_inner(token, typ, issuer, None)
    }

    fn verify_inner<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
        now: Option<UnixTime>,
    ) -> Result<T, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        let kid = header.kid.ok_or(TokenError::Invalid("no kid"))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::Invalid("unknown kid"))?;
        if header.typ.as_deref() != Some(typ) {
            return Err(TokenError::Invalid("wrong typ"));
        }
        let mut validation = Validation::new(jwt_alg(key.alg));
        validation.set_issuer(&[issuer]);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key.decoding, &validation)?;
        let exp = data
            .claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .ok_or(TokenError::Invalid("no exp"))?;
        if now.is_some_and(|now| exp <= now) {
            return Err(TokenError::Invalid("expired"));
        }
        serde_json::from_value(data.claims).map_err(|_| TokenError::Invalid("claims"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
    struct Claims {
        iss: String,
        sub: String,
        exp: i64,
    }

    fn keyset() -> KeySet {
        let keys = SigningAlg::ALL
            .into_iter()
            .map(|alg| SigningKey::from_pkcs8(alg, &SigningKey::generate(alg).unwrap()).unwrap())
            .collect();
        KeySet::new(keys)
    }

    #[test]
    fn signs_and_verifies_with_every_algorithm() {
        let keys = keyset();
        for alg in SigningAlg::ALL {
            let claims = Claims {
                iss: "https://idp.example".into(),
                sub: "u1".into(),
                exp: 2000,
            };
            let token = keys.sign(alg, "JWT", &claims).unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.alg, jwt_alg(alg));
            let back: Claims = keys
                .verify(&token, "JWT", "https://idp.example", 1000)
                .unwrap();
            assert_eq!(back, claims);
            assert!(
                keys.verify::<Claims>(&token, "JWT", "https://idp.example", 2000)
                    .is_err(),
                "expired"
            );
            assert!(
                keys.verify::<Claims>(&token, "JWT", "https://other.example", 1000)
                    .is_err(),
                "issuer"
            );
            assert!(
                keys.verify::<Claims>(&token, "at+jwt", "https://idp.example", 1000)
                    .is_err(),
                "typ"
            );
        }
    }

    #[test]
    fn jwks_publishes_public_parts_only_with_thumbprint_kids() {
        let keys = keyset();
        let jwks = serde_json::to_value(keys.jwks()).unwrap();
        let list = jwks["keys"].as_array().unwrap();
        assert_eq!(list.len(), 3);
        for jwk in list {
            assert!(
                jwk.get("d").is_none() && jwk.get("p").is_none(),
                "no private parts: {jwk}"
            );
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["kid"].as_str().unwrap().len(), 43);
        }
        assert_eq!(list[0]["kty"], "EC");
        assert_eq!(list[0]["crv"], "P-256");
        assert_eq!(list[1]["kty"], "RSA");
        assert_eq!(
            (list[2]["kty"].as_str(), list[2]["crv"].as_str()),
            (Some("OKP"), Some("Ed25519"))
        );
    }

    #[test]
    fn only_signing_keys_sign_but_every_published_key_verifies() {
        let make = |signing| {
            let mut key = SigningKey::from_pkcs8(
                SigningAlg::ES256,
                &SigningKey::generate(SigningAlg::ES256).unwrap(),
            )
            .unwrap();
            key.signing = signing;
            key
        };
        let (retired, active) = (make(false), make(true));
        let (retired_kid, active_kid) = (retired.kid.clone(), active.kid.clone());
        let old = KeySet::new(vec![make_signing(&retired)]);
        let claims = Claims {
            iss: "i".into(),
            sub: "u".into(),
            exp: 2000,
        };
        let old_token = old.sign(SigningAlg::ES256, "JWT", &claims).unwrap();
        let keys = KeySet::new(vec![retired, active]);
        let token = keys.sign(SigningAlg::ES256, "JWT", &claims).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(),
            Some(active_kid.as_str())
        );
        assert_eq!(
            jsonwebtoken::decode_header(&old_token)
                .unwrap()
                .kid
                .as_deref(),
            Some(retired_kid.as_str())
        );
        assert!(
            keys.verify::<Claims>(&old_token, "JWT", "i", 1000).is_ok(),
            "a retired key still verifies"
        );
        assert_eq!(keys.jwks().keys.len(), 2);
        assert!(
            KeySet::new(vec![make(false)])
                .sign(SigningAlg::ES256, "JWT", &claims)
                .is_err()
        );
    }

    /// The same key, signing.
    fn make_signing(key: &SigningKey) -> SigningKey {
        SigningKey {
            signing: true,
            ..key.clone_key()
        }
    }

    #[test]
    fn a_stored_key_loads_to_the_same_kid() {
        let der = SigningKey::generate(SigningAlg::ES256).unwrap();
        let a = SigningKey::from_pkcs8(SigningAlg::ES256, &der).unwrap();
        let b = SigningKey::from_pkcs8(SigningAlg::ES256, &der).unwrap();
        assert_eq!(a.kid, b.kid);
    }

    #[test]
    fn unsigned_and_foreign_tokens_are_refused() {
        let keys = keyset();
        let claims = Claims {
            iss: "i".into(),
            sub: "u".into(),
            exp: 2000,
        };
        let token = keys.sign(SigningAlg::ES256, "JWT", &claims).unwrap();
        // alg: none with the same kid.
        let mut parts = token.split('.');
        let header: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts.next().unwrap())
                .unwrap(),
        )
        .unwrap();
        let none_header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": header["kid"]});
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
        };
        let unsigned = format!(
            "{}.{}.",
            b64(&none_header),
            b64(&serde_json::to_value(&claims).unwrap())
        );
        assert!(keys.verify::<Claims>(&unsigned, "JWT", "i", 1000).is_err());
        // Signed by a key this set does not hold.
        let other = keyset();
        let foreign = other.sign(SigningAlg::ES256, "JWT", &claims).unwrap();
        assert!(keys.verify::<Claims>(&foreign, "JWT", "i", 1000).is_err());
    }
}
