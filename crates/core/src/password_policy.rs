//! The password policy of SPEC: at least 12 characters and not a common password. Following
//! NIST SP 800-63B §3.1.1.2 there are no composition rules; length and a block list do the work.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRejection {
    TooShort { min: usize },
    TooLong { max: usize },
    Mismatch,
    Common,
    ContainsUsername,
}

impl fmt::Display for PasswordRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { min } => write!(f, "Use at least {min} characters for your password."),
            Self::TooLong { max } => write!(f, "Use at most {max} characters for your password."),
            Self::Mismatch => f.write_str("The two passwords are not the same."),
            Self::Common => f.write_str(
                "That password is too common and easy to guess. Try a few unrelated words.",
            ),
            Self::ContainsUsername => f.write_str("Your password may not contain your username."),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            max_length: 128,
        }
    }
}

impl PasswordPolicy {
    /// Checks a new password and its confirmation. `username` is already normalised.
    pub fn check(
        &self,
        password: &str,
        confirmation: &str,
        username: &str,
    ) -> Result<(), PasswordRejection> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(PasswordRejection::TooShort {
                min: self.min_length,
            });
        }
        if length > self.max_length {
            return Err(PasswordRejection::TooLong {
                max: self.max_length,
            });
        }
        if password != confirmation {
            return Err(PasswordRejection::Mismatch);
        }
        let lower = password.to_lowercase();
        if is_common(&lower) {
            return Err(PasswordRejection::Common);
        }
        if username.len() >= 3 && lower.contains(username) {
            return Err(PasswordRejection::ContainsUsername);
        }
        Ok(())
    }
}

/// On the list as typed, on the list once leading and trailing digits and symbols are removed
/// (`Password2024!`), or one short unit repeated (`abcabcabcabc`).
fn is_common(lower: &str) -> bool {
    if COMMON_PASSWORDS.contains(lower) {
        return true;
    }
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    if core.chars().count() >= 4 && COMMON_PASSWORDS.contains(core) {
        return true;
    }
    let chars: Vec<char> = lower.chars().collect();
    (1..=chars.len() / 2).any(|unit| {
        chars.len().is_multiple_of(unit) && chars.chunks(unit).all(|chunk| chunk == &chars[..unit])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<(), PasswordRejection> {
        PasswordPolicy::default().check(password, password, "alice")
    }

    #[test]
    fn accepts_a_long_uncommon_password() {
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check("Lighthouse-Pebble-42"), Ok(()));
    }

    #[test]
    fn refuses_short_long_and_mismatched() {
        assert_eq!(
            check("short-pass1"),
            Err(PasswordRejection::TooShort { min: 12 })
        );
        assert_eq!(
            check(&"x1y2".repeat(40)),
            Err(PasswordRejection::TooLong { max: 128 })
        );
        assert_eq!(
            PasswordPolicy::default().check(
                "correct horse battery",
                "correct horse battery!",
                "bob"
            ),
            Err(PasswordRejection::Mismatch)
        );
    }

    #[test]
    fn refuses_common_passwords_and_their_decorations() {
        assert_eq!(check("qwerty123456"), Err(PasswordRejection::Common));
        assert_eq!(check("Password2024!"), Err(PasswordRejection::Common));
        assert_eq!(check("!!Sunshine123"), Err(PasswordRejection::Common));
        assert_eq!(check("abcabcabcabc"), Err(PasswordRejection::Common));
        assert_eq!(check("zzzzzzzzzzzz"), Err(PasswordRejection::Common));
    }

    #[test]
    fn refuses_the_username_inside_the_password() {
        assert_eq!(
            check("my name is Alice, hi"),
            Err(PasswordRejection::ContainsUsername)
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        // 11 characters, 22 bytes: still too short.
        assert_eq!(
            check("ééééééééééé"),
            Err(PasswordRejection::TooShort { min: 12 })
        );
    }
}
