//! One-time codes that re-prove identity: sent to a confirmed e-mail address or phone, they
//! open PIN recovery and confirm new contact details. A code is six digits, single use, valid
//! for ten minutes and five tries (SPEC "Recovery codes"), and stored only as a keyed hash: six
//! digits are too few to survive an offline search of a plain hash.

use hmac::{Hmac, Mac};
use idp_core::clock::UnixTime;
use idp_core::random::constant_time_eq;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub mod mask;

pub const CODE_DIGITS: usize = 6;
/// The default lifetime of a code (SPEC: 10 minutes).
pub const CODE_LIFETIME_SECS: i64 = 600;
pub const CODE_TRIES: u32 = 5;

/// Issues and checks codes under one server-side key and lifetime.
#[derive(Clone)]
pub struct CodeIssuer {
    key: [u8; 32],
    lifetime_secs: i64,
}

impl std::fmt::Debug for CodeIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeIssuer")
            .field("lifetime_secs", &self.lifetime_secs)
            .finish_non_exhaustive()
    }
}

impl CodeIssuer {
    pub fn new(key: [u8; 32], lifetime_secs: i64) -> Self {
        Self { key, lifetime_secs }
    }

    /// A fresh code: the digits to send and the record to keep.
    pub fn issue(&self, now: UnixTime) -> (String, StoredCode) {
        issue_code_for(&self.key, now, self.lifetime_secs)
    }

    /// Checks a typed code against its record, spending one try (see [`StoredCode::check`]).
    pub fn check(&self, stored: &mut StoredCode, typed: &str, now: UnixTime) -> CodeCheck {
        stored.check(&self.key, typed, now)
    }
}

/// HMAC-SHA-256 (RFC 2104) of `message` under `key`.
fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A code as stored: its keyed hash, when it expires, and the tries it has left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCode {
    hash: [u8; 32],
    pub expires_at: UnixTime,
    pub tries_left: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Correct,
    Wrong {
        tries_left: u32,
    },
    /// Expired, or out of tries: a new code must be sent.
    Spent,
}

/// Makes a fresh code valid for the default ten minutes.
pub fn issue_code(key: &[u8], now: UnixTime) -> (String, StoredCode) {
    issue_code_for(key, now, CODE_LIFETIME_SECS)
}

fn issue_code_for(key: &[u8], now: UnixTime, lifetime_secs: i64) -> (String, StoredCode) {
    let mut rng = rand::rng();
    let code: String = (0..CODE_DIGITS)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    let stored = StoredCode {
        hash: hmac(key, code.as_bytes()),
        expires_at: now + lifetime_secs,
        tries_left: CODE_TRIES,
    };
    (code, stored)
}

impl StoredCode {
    /// Spends one try without looking at the code: another proof given with it (a security
    /// answer) was wrong, and the caller must not say which.
    pub fn spend_try(&mut self, now: UnixTime) -> CodeCheck {
        if now >= self.expires_at || self.tries_left == 0 {
            return CodeCheck::Spent;
        }
        self.tries_left -= 1;
        CodeCheck::Wrong {
            tries_left: self.tries_left,
        }
    }

    /// Checks a typed code, spending one try. The caller stores the updated record, or deletes
    /// it on `Correct` so that it cannot be used twice.
    pub fn check(&mut self, key: &[u8], typed: &str, now: UnixTime) -> CodeCheck {
        if now >= self.expires_at || self.tries_left == 0 {
            return CodeCheck::Spent;
        }
        self.tries_left -= 1;
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if constant_time_eq(&hmac(key, typed.as_bytes()), &self.hash) {
            self.tries_left = 0;
            return CodeCheck::Correct;
        }
        CodeCheck::Wrong {
            tries_left: self.tries_left,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"server-side code key";

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_code_is_six_digits_and_works_once() {
        let (code, mut stored) = issue_code(KEY, 1000);
        assert_eq!(code.len(), 6);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(stored.check(KEY, &code, 1001), CodeCheck::Correct);
        assert_eq!(stored.check(KEY, &code, 1002), CodeCheck::Spent);
    }

    #[test]
    fn five_wrong_tries_spend_the_code() {
        let (code, mut stored) = issue_code(KEY, 1000);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for left in (0..5).rev() {
            assert_eq!(
                stored.check(KEY, wrong, 1001),
                CodeCheck::Wrong { tries_left: left }
            );
        }
        assert_eq!(stored.check(KEY, &code, 1001), CodeCheck::Spent);
    }

    #[test]
    fn a_try_can_be_spent_without_a_code() {
        let (code, mut stored) = issue_code(KEY, 1000);
        assert_eq!(stored.spend_try(1001), CodeCheck::Wrong { tries_left: 4 });
        assert_eq!(stored.check(KEY, &code, 1002), CodeCheck::Correct);
        assert_eq!(stored.spend_try(1003), CodeCheck::Spent);
    }

    #[test]
    fn a_code_expires_after_ten_minutes() {
        let (code, mut stored) = issue_code(KEY, 1000);
        assert_eq!(
            stored.check(KEY, &code, 1000 + CODE_LIFETIME_SECS),
            CodeCheck::Spent
        );
    }

    #[test]
    fn the_stored_record_does_not_contain_the_code() {
        let (code, stored) = issue_code(KEY, 1000);
        let json = serde_json::to_string(&stored).unwrap();
        assert!(!json.contains(&code));
        // And a different key does not accept it.
        let mut stored = stored;
        assert_eq!(
            stored.check(b"other key", &code, 1001),
            CodeCheck::Wrong { tries_left: 4 }
        );
    }
}
