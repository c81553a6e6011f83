//! Signing keys at start-up: one active key per algorithm, generated on first start.

use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{KeyState, SigningAlg, SigningKeyRecord};
use idp_core::store::KeyStore;
use idp_token_issuer::{KeySet, SigningKey, TokenError, sealing};

#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl From<KeyLoadError> for crate::state::StartError {
    fn from(error: KeyLoadError) -> Self {
        match error {
            KeyLoadError::Store(e) => Self::Store(e),
            KeyLoadError::Token(e) => Self::Keys(e),
        }
    }
}

/// What a sealed key is bound to: moving it to another row makes it fail to open.
fn context(kid: &str, alg: SigningAlg) -> Vec<u8> {
    format!("signing-key:{kid}:{}", alg.as_str()).into_bytes()
}

/// Loads the stored keys, generating and storing one for each algorithm that has none.
/// `sealing_key` seals private keys at rest.
pub async fn load_or_create(
    store: &dyn KeyStore,
    sealing_key: &[u8; 32],
    now: UnixTime,
) -> Result<KeySet, KeyLoadError> {
    let mut records = store.list_signing_keys().await?;
    for alg in SigningAlg::ALL {
        if records
            .iter()
            .any(|r| r.alg == alg && r.state == KeyState::Active)
        {
            continue;
        }
        let der = SigningKey::generate(alg)?;
        let key = SigningKey::from_pkcs8(alg, &der)?;
        let record = SigningKeyRecord {
            sealed_private_key: sealing::seal(sealing_key, &context(&key.kid, alg), &der)?,
            kid: key.kid.clone(),
            alg,
            state: KeyState::Active,
            created_at: now,
        };
        store.insert_signing_key(&record).await?;
        tracing::info!(kid = %record.kid, alg = alg.as_str(), "generated signing key");
        records.push(record);
    }
    let keys = records
        .iter()
        .filter(|r| r.state == KeyState::Active)
        .map(|r| {
            let der = sealing::open(sealing_key, &context(&r.kid, r.alg), &r.sealed_private_key)?;
            let key = SigningKey::from_pkcs8(r.alg, &der)?;
            if key.kid != r.kid {
                return Err(TokenError::Key(format!(
                    "key {} does not match its kid",
                    r.kid
                )));
            }
            Ok(key)
        })
        .collect::<Result<Vec<_>, TokenError>>()?;
    Ok(KeySet::new(keys))
}
