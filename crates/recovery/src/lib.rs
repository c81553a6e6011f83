//! One-time codes that re-prove identity: sent to a confirmed e-mail address or phone, they
//! open PIN recovery, confirm new contact details and vouch for a new device. A code is six
//! digits, single use, valid for ten minutes (configurable) and five tries (SPEC "Recovery
//! codes"), and stored only as a keyed hash: six digits are too few to survive an offline
//! search of a plain hash. Tries are taken atomically by the store, so concurrent guesses get
//! no more than five.
//!
//! Across codes, a user's wrong codes (and wrong security answers) in a row are counted too,
//! and a new code never resets that count (a right one does): at the cap (100 by default,
//! NIST SP 800-63B §5.2.2) the user's code checks are refused until support unlocks them.
//! Otherwise ten codes an hour of five tries each would let guessing go on without end.

pub mod mask;

use hmac::{Hmac, Mac};
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{CodePurpose, OneTimeCode};
use idp_core::random::constant_time_eq;
use idp_core::store::CodeStore;
use rand::Rng as _;
use sha2::Sha256;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const CODE_DIGITS: usize = 6;
/// The default lifetime of a code (SPEC: 10 minutes).
pub const CODE_LIFETIME_SECS: i64 = 600;
pub const CODE_TRIES: u32 = 5;
/// Wrong codes in a row for one user, over every code, before their checks are refused.
pub const MAX_FAILURES: u32 = 100;

/// HMAC-SHA-256 (RFC 2104) of `message` under `key`, base64url.
fn hmac(key: &[u8], message: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(message);
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right: the code is used up; here is what it was sent for.
    Correct(serde_json::Value),
    Wrong {
        tries_left: u32,
    },
    /// Expired, used, or out of tries: a new code must be sent.
    Spent,
    /// The user has had too many wrong codes in a row: no code is checked for them until
    /// support unlocks them.
    Blocked,
}

/// Issues and checks codes under one server-side key and lifetime.
#[derive(Clone)]
pub struct CodeIssuer {
    key: [u8; 32],
    lifetime_secs: i64,
    max_failures: u32,
}

impl std::fmt::Debug for CodeIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeIssuer")
            .field("lifetime_secs", &self.lifetime_secs)
            .field("max_failures", &self.max_failures)
            .finish_non_exhaustive()
    }
}

/// Whether a wrong code of `purpose` counts toward the person's cap on wrong codes in a row.
/// A password reset's does not: anyone who knows a username can start a reset, and counting
/// its wrong codes would let a stranger block the person's new-device and recovery codes. Its
/// own tries, the per-address limit on wrong codes, its own hourly sending limit and the PIN
/// that follows it bound it instead.
pub fn counts_toward_cap(purpose: CodePurpose) -> bool {
    purpose != CodePurpose::PasswordReset
}

impl CodeIssuer {
    pub fn new(key: [u8; 32], lifetime_secs: i64) -> Self {
        Self {
            key,
            lifetime_secs,
            max_failures: MAX_FAILURES,
        }
    }

    /// With another cap on a user's wrong codes in a row.
    pub fn with_max_failures(self, max_failures: u32) -> Self {
        Self {
            max_failures,
            ..self
        }
    }

    /// A fresh code for `data` (what it is sent for): the digits to send and the record to keep.
    pub fn issue(&self, now: UnixTime, data: serde_json::Value) -> (String, OneTimeCode) {
        let mut rng = rand::rng();
        let code: String = (0..CODE_DIGITS)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect();
        let record = OneTimeCode {
            hash: hmac(&self.key, code.as_bytes()),
            expires_at: now + self.lifetime_secs,
            tries_left: CODE_TRIES,
            data,
        };
        (code, record)
    }

    /// Checks a typed code for the user's live code of `purpose`, taking one try.
    pub async fn check(
        &self,
        store: &dyn CodeStore,
        purpose: CodePurpose,
        user_id: &str,
        typed: &str,
        now: UnixTime,
    ) -> Result<CodeCheck, StoreError> {
        let code = match self.take_try(store, purpose, user_id, now).await? {
            Ok(code) => code,
            Err(refused) => return Ok(refused),
        };
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if !constant_time_eq(
            hmac(&self.key, typed.as_bytes()).as_bytes(),
            code.hash.as_bytes(),
        ) {
            return Ok(CodeCheck::Wrong {
                tries_left: code.tries_left,
            });
        }
        // Two right answers at once: only one consumes the code.
        if store.consume_code(purpose, user_id, &code.hash).await? {
            if counts_toward_cap(purpose) {
                store.reset_code_failures(user_id).await?;
            }
            Ok(CodeCheck::Correct(code.data))
        } else {
            Ok(CodeCheck::Spent)
        }
    }

    /// Takes one try without looking at a code: another proof given with it (a security
    /// answer) was wrong, and the caller must not say which.
    pub async fn spend_try(
        &self,
        store: &dyn CodeStore,
        purpose: CodePurpose,
        user_id: &str,
        now: UnixTime,
    ) -> Result<CodeCheck, StoreError> {
        Ok(match self.take_try(store, purpose, user_id, now).await? {
            Ok(code) => CodeCheck::Wrong {
                tries_left: code.tries_left,
            },
            Err(refused) => refused,
        })
    }

    /// Takes a try of the live code, and counts it as one of the person's failures in a row
    /// before anything is compared (forgotten only once a code is right); the answer instead
    /// when there is no live code, or the person has failed too often.
    async fn take_try(
        &self,
        store: &dyn CodeStore,
        purpose: CodePurpose,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Result<OneTimeCode, CodeCheck>, StoreError> {
        let Some(code) = store.take_code_try(purpose, user_id, now).await? else {
            return Ok(Err(CodeCheck::Spent));
        };
        if counts_toward_cap(purpose)
            && store
                .take_code_failure(user_id, self.max_failures)
                .await?
                .is_none()
        {
            return Ok(Err(CodeCheck::Blocked));
        }
        Ok(Ok(code))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;

    /// The code-store contract in memory; the SQL backends meet the same contract in the
    /// storage contract tests.
    #[derive(Default)]
    struct Codes(
        Mutex<HashMap<(CodePurpose, String), OneTimeCode>>,
        Mutex<HashMap<String, u32>>,
    );

    #[async_trait]
    impl CodeStore for Codes {
        async fn put_code(
            &self,
            p: CodePurpose,
            u: &str,
            c: &OneTimeCode,
        ) -> Result<(), StoreError> {
            self.0.lock().unwrap().insert((p, u.to_owned()), c.clone());
            Ok(())
        }
        async fn peek_code(
            &self,
            p: CodePurpose,
            u: &str,
            now: UnixTime,
        ) -> Result<Option<OneTimeCode>, StoreError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .get(&(p, u.to_owned()))
                .filter(|c| c.expires_at > now)
                .cloned())
        }
        async fn take_code_try(
            &self,
            p: CodePurpose,
            u: &str,
            now: UnixTime,
        ) -> Result<Option<OneTimeCode>, StoreError> {
            let mut map = self.0.lock().unwrap();
            Ok(map
                .get_mut(&(p, u.to_owned()))
                .filter(|c| c.expires_at > now && c.tries_left > 0)
                .map(|c| {
                    c.tries_left -= 1;
                    c.clone()
                }))
        }
        async fn consume_code(
            &self,
            p: CodePurpose,
            u: &str,
            hash: &str,
        ) -> Result<bool, StoreError> {
            let mut map = self.0.lock().unwrap();
            let key = (p, u.to_owned());
            if map.get(&key).is_some_and(|c| c.hash == hash) {
                map.remove(&key);
                return Ok(true);
            }
            Ok(false)
        }
        async fn take_code_failure(&self, u: &str, max: u32) -> Result<Option<u32>, StoreError> {
            let mut failures = self.1.lock().unwrap();
            let count = failures.entry(u.to_owned()).or_default();
            if *count >= max {
                return Ok(None);
            }
            *count += 1;
            Ok(Some(*count))
        }
        async fn reset_code_failures(&self, u: &str) -> Result<(), StoreError> {
            self.1.lock().unwrap().remove(u);
            Ok(())
        }
    }

    const PURPOSE: CodePurpose = CodePurpose::Recovery;

    async fn sent(issuer: &CodeIssuer, store: &Codes) -> String {
        let (code, record) = issuer.issue(1000, json!({ "channel": "email" }));
        store.put_code(PURPOSE, "u1", &record).await.unwrap();
        code
    }

    fn wrong_for(code: &str) -> &'static str {
        if code == "000000" { "111111" } else { "000000" }
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        let bytes = URL_SAFE_NO_PAD.decode(mac).unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[tokio::test]
    async fn a_code_is_six_digits_works_once_and_carries_its_data() {
        let (issuer, store) = (CodeIssuer::new([1; 32], 600), Codes::default());
        let code = sent(&issuer, &store).await;
        assert_eq!(code.len(), 6);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        let first = issuer
            .check(&store, PURPOSE, "u1", &spaced, 1001)
            .await
            .unwrap();
        assert_eq!(first, CodeCheck::Correct(json!({ "channel": "email" })));
        assert_eq!(
            issuer
                .check(&store, PURPOSE, "u1", &code, 1002)
                .await
                .unwrap(),
            CodeCheck::Spent
        );
    }

    #[tokio::test]
    async fn five_wrong_tries_spend_the_code() {
        let (issuer, store) = (CodeIssuer::new([1; 32], 600), Codes::default());
        let code = sent(&issuer, &store).await;
        for left in (0..5).rev() {
            let check = issuer
                .check(&store, PURPOSE, "u1", wrong_for(&code), 1001)
                .await
                .unwrap();
            assert_eq!(check, CodeCheck::Wrong { tries_left: left });
        }
        assert_eq!(
            issuer
                .check(&store, PURPOSE, "u1", &code, 1001)
                .await
                .unwrap(),
            CodeCheck::Spent
        );
    }

    #[tokio::test]
    async fn a_try_can_be_spent_without_a_code() {
        let (issuer, store) = (CodeIssuer::new([1; 32], 600), Codes::default());
        let code = sent(&issuer, &store).await;
        assert_eq!(
            issuer.spend_try(&store, PURPOSE, "u1", 1001).await.unwrap(),
            CodeCheck::Wrong { tries_left: 4 }
        );
        assert!(matches!(
            issuer
                .check(&store, PURPOSE, "u1", &code, 1002)
                .await
                .unwrap(),
            CodeCheck::Correct(_)
        ));
    }

    #[tokio::test]
    async fn wrong_codes_in_a_row_are_capped_across_new_codes_until_a_right_one() {
        let issuer = CodeIssuer::new([1; 32], 600).with_max_failures(7);
        let store = Codes::default();
        // Each new code has five tries of its own; the user's count goes on across them.
        let code = sent(&issuer, &store).await;
        for _ in 0..5 {
            let check = issuer.check(&store, PURPOSE, "u1", wrong_for(&code), 1001);
            assert!(matches!(check.await.unwrap(), CodeCheck::Wrong { .. }));
        }
        let code = sent(&issuer, &store).await;
        issuer
            .check(&store, PURPOSE, "u1", wrong_for(&code), 1001)
            .await
            .unwrap();
        // A wrong security answer counts alike.
        issuer.spend_try(&store, PURPOSE, "u1", 1001).await.unwrap();
        let code = sent(&issuer, &store).await;
        let refused = issuer.check(&store, PURPOSE, "u1", &code, 1001).await;
        assert_eq!(refused.unwrap(), CodeCheck::Blocked, "even the right code");
        assert_eq!(
            issuer.spend_try(&store, PURPOSE, "u1", 1001).await.unwrap(),
            CodeCheck::Blocked
        );
        // Support's unlock forgets the count; a right code then resets it too.
        store.reset_code_failures("u1").await.unwrap();
        let code = sent(&issuer, &store).await;
        issuer
            .check(&store, PURPOSE, "u1", wrong_for(&code), 1001)
            .await
            .unwrap();
        let right = issuer.check(&store, PURPOSE, "u1", &code, 1001).await;
        assert!(matches!(right.unwrap(), CodeCheck::Correct(_)));
        assert_eq!(store.1.lock().unwrap().get("u1"), None);
    }

    #[tokio::test]
    async fn wrong_password_reset_codes_never_block_the_persons_other_codes() {
        let issuer = CodeIssuer::new([1; 32], 600).with_max_failures(3);
        let store = Codes::default();
        let reset = CodePurpose::PasswordReset;
        // A stranger who knows the username starts resets and types wrong codes.
        for _ in 0..4 {
            let (code, record) = issuer.issue(1000, json!({}));
            store.put_code(reset, "u1", &record).await.unwrap();
            for _ in 0..5 {
                let check = issuer.check(&store, reset, "u1", wrong_for(&code), 1001);
                assert!(matches!(check.await.unwrap(), CodeCheck::Wrong { .. }));
            }
        }
        assert_eq!(store.1.lock().unwrap().get("u1"), None, "nothing counted");
        // The person's own recovery code still works.
        let code = sent(&issuer, &store).await;
        let right = issuer.check(&store, PURPOSE, "u1", &code, 1001).await;
        assert!(matches!(right.unwrap(), CodeCheck::Correct(_)));
    }

    #[tokio::test]
    async fn a_code_expires() {
        let (issuer, store) = (CodeIssuer::new([1; 32], 600), Codes::default());
        let code = sent(&issuer, &store).await;
        assert_eq!(
            issuer
                .check(&store, PURPOSE, "u1", &code, 1600)
                .await
                .unwrap(),
            CodeCheck::Spent
        );
    }

    #[tokio::test]
    async fn codes_belong_to_their_user_purpose_and_key() {
        let (issuer, store) = (CodeIssuer::new([1; 32], 600), Codes::default());
        let code = sent(&issuer, &store).await;
        assert_eq!(
            issuer
                .check(&store, PURPOSE, "u2", &code, 1001)
                .await
                .unwrap(),
            CodeCheck::Spent
        );
        assert_eq!(
            issuer
                .check(&store, CodePurpose::NewDevice, "u1", &code, 1001)
                .await
                .unwrap(),
            CodeCheck::Spent
        );
        let other_key = CodeIssuer::new([2; 32], 600);
        assert_eq!(
            other_key
                .check(&store, PURPOSE, "u1", &code, 1001)
                .await
                .unwrap(),
            CodeCheck::Wrong { tries_left: 4 }
        );
        let stored = store.peek_code(PURPOSE, "u1", 1001).await.unwrap().unwrap();
        assert!(
            !stored.hash.contains(&code),
            "the record does not hold the code"
        );
    }
}
