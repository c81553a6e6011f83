//! Normalisation and validation of what people type at sign-up.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRejection {
    UsernameLength,
    UsernameCharacters,
    Email,
    Phone,
}

impl fmt::Display for FieldRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UsernameLength => "Choose a username of 3 to 32 characters.",
            Self::UsernameCharacters => {
                "A username may use letters, digits, dots, dashes and underscores, and starts with a letter or digit."
            }
            Self::Email => "Enter an e-mail address like name@example.com.",
            Self::Phone => {
                "Enter the phone number with its country code, like +44 7700 900123."
            }
        })
    }
}

/// Usernames are case-insensitive: stored and compared in lower case.
pub fn username(input: &str) -> Result<String, FieldRejection> {
    let name = input.trim().to_lowercase();
    let length = name.chars().count();
    if !(3..=32).contains(&length) {
        return Err(FieldRejection::UsernameLength);
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !starts_well || !name.chars().all(allowed) {
        return Err(FieldRejection::UsernameCharacters);
    }
    Ok(name)
}

/// A plausible address (RFC 5321 lengths); the domain is lower-cased. Whether it is really the
/// user's is proven later by a code sent to it.
pub fn email(input: &str) -> Result<String, FieldRejection> {
    let address = input.trim();
    let (local, domain) = address.rsplit_once('@').ok_or(FieldRejection::Email)?;
    let printable = |s: &str| s.chars().all(|c| !c.is_whitespace() && !c.is_control());
    let valid = address.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && printable(local)
        && domain.len() >= 3
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if !valid {
        return Err(FieldRejection::Email);
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// An E.164 number (`+` and 8 to 15 digits); spaces, dashes, dots and brackets are dropped.
pub fn phone(input: &str) -> Result<String, FieldRejection> {
    let compact: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = compact.strip_prefix('+').ok_or(FieldRejection::Phone)?;
    if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(FieldRejection::Phone);
    }
    Ok(compact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(username("  Alice.Smith "), Ok("alice.smith".into()));
        assert_eq!(username("ab"), Err(FieldRejection::UsernameLength));
        assert_eq!(
            username(&"a".repeat(33)),
            Err(FieldRejection::UsernameLength)
        );
        assert_eq!(username("_alice"), Err(FieldRejection::UsernameCharacters));
        assert_eq!(username("al ice"), Err(FieldRejection::UsernameCharacters));
        assert_eq!(
            username("alice<script>"),
            Err(FieldRejection::UsernameCharacters)
        );
    }

    #[test]
    fn emails_are_checked() {
        assert_eq!(email("Ana@Example.COM"), Ok("Ana@example.com".into()));
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "ana@exa mple.com",
            "ana@.com",
        ] {
            assert_eq!(email(bad), Err(FieldRejection::Email), "{bad}");
        }
    }

    #[test]
    fn phones_are_e164() {
        assert_eq!(phone("+44 7700 900-123"), Ok("+447700900123".into()));
        assert_eq!(phone("07700900123"), Err(FieldRejection::Phone));
        assert_eq!(phone("+12"), Err(FieldRejection::Phone));
        assert_eq!(phone("+44 7700 9001x3"), Err(FieldRejection::Phone));
    }
}
