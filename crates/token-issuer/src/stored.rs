//! Signing keys as stored records: a new key generated and sealed into one, and the stored
//! records opened into the [`KeySet`] the provider signs with. Reading and writing the records
//! is the caller's, through its `KeyStore`.

use idp_core::clock::UnixTime;
use idp_core::model::{KeyState, SigningAlg, SigningKeyRecord};

use crate::{KeySet, SigningKey, TokenError, sealing};

/// What a sealed key is bound to: moving it to another row makes it fail to open.
pub fn sealing_context(kid: &str, alg: SigningAlg) -> Vec<u8> {
    format!("signing-key:{kid}:{}", alg.as_str()).into_bytes()
}

/// A new key for `alg`, generated and sealed under `sealing_key`, as the record to store.
pub fn new_record(
    sealing_key: &[u8; 32],
    alg: SigningAlg,
    state: KeyState,
    now: UnixTime,
    activate_at: Option<UnixTime>,
) -> Result<SigningKeyRecord, TokenError> {
    let der = SigningKey::generate(alg)?;
    let key = SigningKey::from_pkcs8(alg, &der)?;
    Ok(SigningKeyRecord {
        sealed_private_key: sealing::seal(sealing_key, &sealing_context(&key.kid, alg), &der)?,
        kid: key.kid,
        alg,
        state,
        created_at: now,
        activate_at,
        remove_after: None,
    })
}

/// The published keys (next, active and retired), opened with the sealing key. Only active
/// keys sign; of two active keys of one algorithm, the newer signs.
pub fn open_records(
    records: &[SigningKeyRecord],
    sealing_key: &[u8; 32],
) -> Result<KeySet, TokenError> {
    let mut records: Vec<&SigningKeyRecord> = records.iter().collect();
    // Newest first, so the newest active key of an algorithm signs.
    records.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.kid.cmp(&b.kid))
    });
    let keys = records
        .into_iter()
        .map(|r| {
            let der = sealing::open(
                sealing_key,
                &sealing_context(&r.kid, r.alg),
                &r.sealed_private_key,
            )?;
            let mut key = SigningKey::from_pkcs8(r.alg, &der)?;
            if key.kid != r.kid {
                return Err(TokenError::Key(format!(
                    "key {} does not match its kid",
                    r.kid
                )));
            }
            key.signing = r.state == KeyState::Active;
            Ok(key)
        })
        .collect::<Result<Vec<_>, TokenError>>()?;
    Ok(KeySet::new(keys))
}

/// The private key of `record` sealed again, under `new_sealing_key` instead of `sealing_key`.
pub fn reseal(
    record: &SigningKeyRecord,
    sealing_key: &[u8; 32],
    new_sealing_key: &[u8; 32],
) -> Result<Vec<u8>, TokenError> {
    let context = sealing_context(&record.kid, record.alg);
    let der = sealing::open(sealing_key, &context, &record.sealed_private_key)?;
    sealing::seal(new_sealing_key, &context, &der)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEALING: [u8; 32] = [7; 32];

    fn kid_of(token: &str) -> String {
        jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
    }

    #[test]
    fn a_new_record_is_sealed_and_opens_to_its_kid() {
        let record =
            new_record(&SEALING, SigningAlg::EdDSA, KeyState::Next, 100, Some(700)).unwrap();
        assert_eq!(
            (
                record.state,
                record.created_at,
                record.activate_at,
                record.remove_after
            ),
            (KeyState::Next, 100, Some(700), None)
        );
        assert_eq!(record.kid.len(), 43, "an RFC 7638 thumbprint");
        let keys = open_records(std::slice::from_ref(&record), &SEALING).unwrap();
        let jwks = keys.jwks();
        assert_eq!(jwks.keys.len(), 1);
        assert_eq!(
            jwks.keys[0].common.key_id.as_deref(),
            Some(record.kid.as_str())
        );
        assert!(
            keys.algorithms().is_empty(),
            "a next key is published, not signing"
        );
    }

    #[test]
    fn only_active_keys_sign_and_the_newest_active_key_first() {
        let record =
            |state, now| new_record(&SEALING, SigningAlg::ES256, state, now, None).unwrap();
        let (older, newer, next) = (
            record(KeyState::Active, 100),
            record(KeyState::Active, 200),
            record(KeyState::Next, 300),
        );
        let keys = open_records(&[older.clone(), next, newer.clone()], &SEALING).unwrap();
        assert_eq!(keys.jwks().keys.len(), 3);
        assert_eq!(keys.algorithms(), [SigningAlg::ES256]);
        let token = keys.sign(SigningAlg::ES256, "JWT", &"claims").unwrap();
        assert_eq!(kid_of(&token), newer.kid);
    }

    #[test]
    fn a_record_opens_only_with_its_sealing_key_and_in_its_own_row() {
        let record = new_record(&SEALING, SigningAlg::ES256, KeyState::Active, 100, None).unwrap();
        assert!(open_records(std::slice::from_ref(&record), &[8; 32]).is_err());
        let other = new_record(&SEALING, SigningAlg::ES256, KeyState::Active, 100, None).unwrap();
        let swapped = SigningKeyRecord {
            sealed_private_key: other.sealed_private_key,
            ..record
        };
        assert!(open_records(&[swapped], &SEALING).is_err());
    }

    #[test]
    fn a_resealed_key_opens_with_the_new_sealing_key_only() {
        let record = new_record(&SEALING, SigningAlg::RS256, KeyState::Active, 100, None).unwrap();
        let new_sealing = [9; 32];
        let resealed = SigningKeyRecord {
            sealed_private_key: reseal(&record, &SEALING, &new_sealing).unwrap(),
            ..record.clone()
        };
        assert!(open_records(std::slice::from_ref(&resealed), &SEALING).is_err());
        let keys = open_records(&[resealed], &new_sealing).unwrap();
        let token = keys.sign(SigningAlg::RS256, "JWT", &"claims").unwrap();
        assert_eq!(kid_of(&token), record.kid);
        assert!(
            reseal(&record, &[8; 32], &new_sealing).is_err(),
            "wrong key"
        );
    }
}
