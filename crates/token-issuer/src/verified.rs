//! Access tokens already verified: a resource server introspects the same token again and
//! again, and checking its signature each time would cost more than the rest of the request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use crate::{AccessTokenClaims, KeySet};

/// Verified access tokens remembered at most by default (past it the memory starts over).
pub const VERIFIED_TOKENS: usize = 10_000;

/// One key set, and the claims of the access tokens whose signature and `typ` it verified, by
/// SHA-256 of the token (the token itself is not kept). The memory goes with the key set: a
/// new set (a key revoked) starts a new memory, so a revoked key's tokens are never found
/// again. Only the signature is remembered: the issuer is compared on every lookup, and expiry
/// and revocation are for the caller to check on every use. When full, the memory starts over
/// rather than tracking which entry is oldest.
#[derive(Debug)]
pub struct VerifiedTokens {
    keys: Arc<KeySet>,
    claims: Mutex<HashMap<[u8; 32], AccessTokenClaims>>,
    bound: usize,
}

impl VerifiedTokens {
    /// A memory for tokens `keys` signed.
    pub fn new(keys: Arc<KeySet>) -> Self {
        Self::with_bound(keys, VERIFIED_TOKENS)
    }

    /// A memory of at most `bound` tokens `keys` signed.
    pub fn with_bound(keys: Arc<KeySet>, bound: usize) -> Self {
        Self {
            keys,
            claims: Mutex::default(),
            bound,
        }
    }

    /// The key set whose tokens this remembers.
    pub fn keys(&self) -> &Arc<KeySet> {
        &self.keys
    }

    /// The claims of `token` if these keys signed it as an access token (`at+jwt`) of
    /// `issuer`, its signature verified once per token; `None` for any other token.
    pub fn access_token_claims(&self, token: &str, issuer: &str) -> Option<AccessTokenClaims> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // A poisoned lock only costs the memory: the token is verified again.
        if let Ok(verified) = self.claims.lock()
            && let Some(claims) = verified.get(&digest)
        {
            return (claims.iss == issuer).then(|| claims.clone());
        }
        let claims: AccessTokenClaims = self
            .keys
            .verify_ignoring_expiry(token, "at+jwt", issuer)
            .ok()?;
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

    fn keys() -> Arc<KeySet> {
        let der = SigningKey::generate(SigningAlg::ES256).unwrap();
        Arc::new(KeySet::new(vec![
            SigningKey::from_pkcs8(SigningAlg::ES256, &der).unwrap(),
        ]))
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
            userinfo_claims: None,
            cnf: None,
        };
        let token = keys.sign(SigningAlg::ES256, "at+jwt", &claims).unwrap();
        (token, claims)
    }

    #[test]
    fn a_token_is_verified_once_and_then_found_for_its_issuer_only() {
        let keys = keys();
        let verified = VerifiedTokens::new(keys.clone());
        let (token, claims) = access_token(&keys, "t1");
        // `exp` is long past on any clock: expiry is the caller's to check.
        assert_eq!(
            verified.access_token_claims(&token, ISSUER),
            Some(claims.clone())
        );
        assert_eq!(verified.remembered(), 1);
        assert_eq!(verified.access_token_claims(&token, ISSUER), Some(claims));
        assert_eq!(
            verified.remembered(),
            1,
            "found, not verified and stored again"
        );
        // Remembered, yet asked for as another issuer's: not found.
        assert_eq!(
            verified.access_token_claims(&token, "https://other.example"),
            None
        );
    }

    #[test]
    fn tokens_the_keys_did_not_sign_are_refused_and_not_remembered() {
        let keys = keys();
        let verified = VerifiedTokens::new(keys.clone());
        let (foreign, _) = access_token(&self::keys(), "t1");
        assert_eq!(verified.access_token_claims(&foreign, ISSUER), None);
        let (token, _) = access_token(&keys, "t2");
        assert_eq!(
            verified.access_token_claims(&token, "https://other.example"),
            None,
            "another issuer"
        );
        let id_token = keys
            .sign(SigningAlg::ES256, "JWT", &access_token(&keys, "t3").1)
            .unwrap();
        assert_eq!(
            verified.access_token_claims(&id_token, ISSUER),
            None,
            "not an at+jwt"
        );
        assert_eq!(verified.access_token_claims("not a jwt", ISSUER), None);
        assert_eq!(verified.remembered(), 0);
    }

    #[test]
    fn a_new_key_set_starts_a_new_memory() {
        let keys = keys();
        let (token, _) = access_token(&keys, "t1");
        let before = VerifiedTokens::new(keys.clone());
        assert!(before.access_token_claims(&token, ISSUER).is_some());
        // The key that signed it revoked: the next set does not have it.
        let after = VerifiedTokens::new(Arc::new(keys.retaining(&[])));
        assert_eq!(after.access_token_claims(&token, ISSUER), None);
    }

    #[test]
    fn the_memory_starts_over_when_full() {
        let keys = keys();
        let verified = VerifiedTokens::with_bound(keys.clone(), 2);
        let tokens: Vec<_> = ["t1", "t2", "t3"]
            .into_iter()
            .map(|jti| access_token(&keys, jti))
            .collect();
        for (token, _) in &tokens[..2] {
            verified.access_token_claims(token, ISSUER).unwrap();
        }
        assert_eq!(verified.remembered(), 2);
        verified.access_token_claims(&tokens[2].0, ISSUER).unwrap();
        assert_eq!(verified.remembered(), 1, "cleared, then the third one");
        // The first token is verified again (and remembered again) when asked for.
        verified.access_token_claims(&tokens[0].0, ISSUER).unwrap();
        assert_eq!(verified.remembered(), 2);
    }
}
