//! Saved recovery codes: look-up secrets (NIST SP 800-63B §5.1.2). Each code is 80 random bits
//! written as 16 characters of Crockford's base32 in groups of four, `7K3M-9QXD-…`; the
//! database keeps only a keyed hash of each.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use rand::{RngCore as _, TryRngCore as _};
use sha2::Sha256;

/// Codes per set.
pub const COUNT: usize = 10;
/// Characters of a code without its hyphens (16 × 5 bits = 80 bits).
pub const LEN: usize = 16;
const BYTES: usize = LEN * 5 / 8;

/// Crockford's base32 alphabet: digits and letters without I, L, O and U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A fresh set of codes, for display, from the operating system's CSPRNG.
pub fn generate() -> Vec<String> {
    // Without the OS RNG no code can be made; UnwrapErr panics, as rand::rng() would.
    let mut rng = rand::rngs::OsRng.unwrap_err();
    (0..COUNT)
        .map(|_| {
            let mut bytes = [0u8; BYTES];
            rng.fill_bytes(&mut bytes);
            display(&encode(&bytes))
        })
        .collect()
}

/// The canonical form of a typed code: upper case, without spaces and hyphens, with
/// Crockford's look-alikes mapped (O to 0, I and L to 1); `None` when it is not a code.
pub fn normalise(input: &str) -> Option<String> {
    let mut canonical = String::with_capacity(LEN);
    for c in input.chars().filter(|c| !matches!(c, ' ' | '-')) {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || canonical.len() == LEN {
            return None;
        }
        canonical.push(c);
    }
    (canonical.len() == LEN).then_some(canonical)
}

/// What the database stores for a code: base64url(HMAC-SHA256(key, user id, code)). The user
/// id is length-prefixed, so no two (user, code) pairs hash the same input; the server key
/// means a copy of the database alone does not let anyone test guesses.
pub fn hash(key: &[u8; 32], user_id: &str, canonical: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes a key of any length");
    };
    mac.update(&(user_id.len() as u64).to_be_bytes());
    mac.update(user_id.as_bytes());
    mac.update(canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// 80 bits as 16 base32 characters, most significant bits first.
fn encode(bytes: &[u8; BYTES]) -> String {
    let mut value = bytes
        .iter()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
    let mut chars = [0u8; LEN];
    for slot in chars.iter_mut().rev() {
        *slot = ALPHABET[(value & 31) as usize];
        value >>= 5;
    }
    chars.iter().map(|&b| char::from(b)).collect()
}

/// `XXXX-XXXX-XXXX-XXXX`.
fn display(canonical: &str) -> String {
    let mut shown = String::with_capacity(LEN + LEN / 4);
    for (i, c) in canonical.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            shown.push('-');
        }
        shown.push(c);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ten_distinct_codes_of_the_right_shape() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        assert_eq!(codes.iter().collect::<HashSet<_>>().len(), COUNT);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4);
            assert!(groups.iter().all(|g| g.len() == 4));
            assert!(
                code.chars()
                    .all(|c| c == '-' || ALPHABET.contains(&(c as u8)))
            );
            assert_eq!(normalise(code).unwrap(), code.replace('-', ""));
        }
    }

    #[test]
    fn encoding_keeps_all_80_bits() {
        assert_eq!(encode(&[0; BYTES]), "0000000000000000");
        assert_eq!(encode(&[0xff; BYTES]), "ZZZZZZZZZZZZZZZZ");
        assert_eq!(
            encode(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            "G000000000000001"
        );
    }

    #[test]
    fn normalise_forgives_typing_and_refuses_non_codes() {
        let canonical = "7K3M9QXD0A1BZZ42";
        for typed in [
            "7K3M-9QXD-0A1B-ZZ42",
            "7k3m 9qxd 0a1b zz42",
            " 7K3M9QXD-OA1B-ZZ42 ",
            "7K3M-9QXD-0AIB-ZZ42",
            "7K3M-9QXD-0AlB-ZZ42",
            "7k3m--9qxd--oalb--zz42",
        ] {
            assert_eq!(normalise(typed).as_deref(), Some(canonical), "{typed:?}");
        }
        for bad in [
            "",
            "7K3M-9QXD-0A1B-ZZ4",
            "7K3M-9QXD-0A1B-ZZ421",
            "7K3M-9QXD-0A1B-ZZ4U",
            "7K3M-9QXD-0A1B-ZZ4!",
            "7K3M_9QXD_0A1B_ZZ42",
            "7K3M-9QXD-0A1B-ZZ4é",
            "７K3M-9QXD-0A1B-ZZ42",
        ] {
            assert_eq!(normalise(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hash_depends_on_user_key_and_code() {
        let key = [1u8; 32];
        let code = "7K3M9QXD0A1BZZ42";
        let base = hash(&key, "u1", code);
        assert_eq!(base, hash(&key, "u1", code));
        assert_eq!(base.len(), 43);
        assert_ne!(base, hash(&key, "u2", code));
        assert_ne!(base, hash(&[2u8; 32], "u1", code));
        assert_ne!(base, hash(&key, "u1", "7K3M9QXD0A1BZZ43"));
        // Moving characters between the user id and the code changes the input.
        assert_ne!(
            hash(&key, "u17", "K3M9QXD0A1BZZ42"),
            hash(&key, "u1", "7K3M9QXD0A1BZZ42")
        );
    }
}
