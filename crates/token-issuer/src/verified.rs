//! Access tokens already verified: a resource server introspects the same token again and
//! again, and checking its signature each time would cost more than the rest of the request.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};

use crate::{AccessTokenClaims, KeySet};

/// Verified access tokens remembered at most by default (past it the memory starts over).
pub const VERIFIED_TOKENS: usize = 10_000;

/// The claims of access tokens whose signature, `typ` and issuer one key set verified, by
/// SHA-256 of the token (the token itself is not kept). Its owner pairs it with that key set
/// and drops it with them, so a revoked key's tokens are never found here again. Only the
/// signature is remembered: expiry and revocation are for the caller to check on every use.
/// When full, the memory starts over rather than tracking which entry is oldest.
#[derive(Debug)]
pub struct VerifiedTokens {
    claims: Mutex<HashMap<[u8; 32], AccessTokenClaims>>,
    bound: usize,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self::with_bound(VERIFIED_TOKENS)
    }
}

impl VerifiedTokens {
    /// A memory of at most `bound` tokens.
    pub fn with_bound(bound: usize) -> Self {
        Self {
            claims: Mutex::default(),
            bound,
        }
    }

    /// The claims of `token` if `keys` signed it as an access token (`at+jwt`) of `issuer`,
    /// verified once per token; `None` for a token they did not sign.
    pub fn access_token_claims(
        &self,
        keys: &KeySet,
        token: &str,
        issuer: &str,
    ) -> Option<AccessTokenClaims> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // A poisoned lock only costs the memory: the token is verified again.
        if let Ok(verified) = self.claims.lock()
            && let Some(claims) = verified.get(&digest)
        {
            return Some(claims.clone());
        }
        let claims: AccessTokenClaims =
            keys.verify_ignoring_expiry(token, "at+jwt", issuer).ok()?;
        if let Ok(mut verified) = self.claims.lock() {
            if verified.len() >= self.bound {
                verified.clear();
            }
            verified.insert(digest, claims.clone());
        }
        Some(claims)
    }

    /// How many tokens are remembered.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.claims.lock().map(|c| c.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use idp_core::model::SigningAlg;

    use super::*;
    use crate::SigningKey;

    const ISSUER: &str = "https://idp.example";

    fn keys() -> KeySet {
        let der = SigningKey::generate(SigningAlg::ES256).unwrap();
        KeySet::new(vec![
            SigningKey::from_pkcs8(SigningAlg::ES256, &der).unwrap(),
        ])
    }

    fn access_token(keys: &KeySet, jti: &str) -> (String, AccessTokenClaims) {
        let claims = AccessTokenClaims {
            iss: ISSUER.into(),
            sub: "u1".into(),
            aud: "rp1".into(),
            exp: 2_000,
            iat: 1_000,
            jti: jti.into(),
            client_id: "rp1".into(),
            scope: "openid".into(),
            auth_time: Some(1_000),
            acr: None,
            amr: None,
            grant_id: Some("g1".into()),
        };
        let token = keys.sign(SigningAlg::ES256, "at+jwt", &claims).unwrap();
        (token, claims)
    }

    #[test]
    fn a_token_is_verified_once_and_then_found() {
        let keys = keys();
        let verified = VerifiedTokens::default();
        let (token, claims) = access_token(&keys, "t1");
        // `exp` is long past on any clock: expiry is the caller's to check.
        assert_eq!(
            verified.access_token_claims(&keys, &token, ISSUER),
            Some(claims.clone())
        );
        assert_eq!(verified.remembered(), 1);
        // Found without the keys: the signature is not checked again.
        assert_eq!(
            verified.access_token_claims(&KeySet::default(), &token, ISSUER),
            Some(claims)
        );
    }

    #[test]
    fn tokens_the_keys_did_not_sign_are_refused_and_not_remembered() {
        let keys = keys();
        let verified = VerifiedTokens::default();
        let (foreign, _) = access_token(&self::keys(), "t1");
        assert_eq!(verified.access_token_claims(&keys, &foreign, ISSUER), None);
        let (token, _) = access_token(&keys, "t2");
        assert_eq!(
            verified.access_token_claims(&keys, &token, "https://other.example"),
            None,
            "another issuer"
        );
        let id_token = keys
            .sign(SigningAlg::ES256, "JWT", &access_token(&keys, "t3").1)
            .unwrap();
        assert_eq!(
            verified.access_token_claims(&keys, &id_token, ISSUER),
            None,
            "not an at+jwt"
        );
        assert_eq!(
            verified.access_token_claims(&keys, "not a jwt", ISSUER),
            None
        );
        assert_eq!(verified.remembered(), 0);
    }

    #[test]
    fn the_memory_starts_over_when_full() {
        let keys = keys();
        let verified = VerifiedTokens::with_bound(2);
        let tokens: Vec<_> = ["t1", "t2", "t3"]
            .into_iter()
            .map(|jti| access_token(&keys, jti))
            .collect();
        for (token, _) in &tokens[..2] {
            verified.access_token_claims(&keys, token, ISSUER).unwrap();
        }
        assert_eq!(verified.remembered(), 2);
        verified
            .access_token_claims(&keys, &tokens[2].0, ISSUER)
            .unwrap();
        assert_eq!(verified.remembered(), 1, "cleared, then the third one");
        // The first token is no longer remembered: without the keys it is not found.
        assert_eq!(
            verified.access_token_claims(&KeySet::default(), &tokens[0].0, ISSUER),
            None
        );
        assert!(
            verified
                .access_token_claims(&KeySet::default(), &tokens[2].0, ISSUER)
                .is_some()
        );
    }
}
