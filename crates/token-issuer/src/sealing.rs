//! Private keys at rest: sealed with AES-256-GCM under a key that is not in the database, so a
//! copy of the database does not yield a usable signing key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};

use crate::TokenError;

/// The format byte in front of every sealed value, so the format can change later.
const FORMAT_V1: u8 = 1;

fn cipher(key: &[u8; 32]) -> Result<LessSafeKey, TokenError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| TokenError::Key("cannot use the key-sealing key".into()))
}

/// Seals `plaintext`, authenticating `context` with it (a sealed value moved to another
/// context fails to open). Output: format byte, random 96-bit nonce, ciphertext and tag.
pub fn seal(key: &[u8; 32], context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, TokenError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| TokenError::Key("no randomness for a nonce".into()))?;
    let mut sealed = plaintext.to_vec();
    cipher(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context),
            &mut sealed,
        )
        .map_err(|_| TokenError::Key("sealing failed".into()))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens a value sealed by [`seal`] with the same key and context.
pub fn open(key: &[u8; 32], context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, TokenError> {
    let refused = || TokenError::Key("a sealed key does not open with this master key".into());
    let (&format, rest) = sealed.split_first().ok_or_else(refused)?;
    if format != FORMAT_V1 || rest.len() < NONCE_LEN {
        return Err(refused());
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
    let mut buffer = ciphertext.to_vec();
    let plaintext = cipher(key)?
        .open_in_place(nonce, Aad::from(context), &mut buffer)
        .map_err(|_| refused())?;
    Ok(plaintext.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn seals_and_opens() {
        let sealed = seal(&KEY, b"kid.ES256", b"private key").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"private key"));
        assert_eq!(open(&KEY, b"kid.ES256", &sealed).unwrap(), b"private key");
        assert_ne!(
            seal(&KEY, b"kid.ES256", b"private key").unwrap(),
            sealed,
            "fresh nonce"
        );
    }

    #[test]
    fn refuses_another_key_context_or_a_tampered_value() {
        let sealed = seal(&KEY, b"kid.ES256", b"private key").unwrap();
        assert!(open(&[8; 32], b"kid.ES256", &sealed).is_err());
        assert!(open(&KEY, b"other.ES256", &sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(open(&KEY, b"kid.ES256", &tampered).is_err());
        assert!(open(&KEY, b"kid.ES256", &sealed[..10]).is_err());
        assert!(open(&KEY, b"kid.ES256", &[]).is_err());
    }
}
