//! Signing keys at start-up: one active key per algorithm, generated on first start.

use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{KeyState, SigningAlg, SigningKeyRecord};
use idp_core::store::KeyStore;
use idp_token_issuer::{KeySet, SigningKey, TokenError};

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

/// Loads the stored keys, generating and storing one for each algorithm that has none.
pub async fn load_or_create(store: &dyn KeyStore, now: UnixTime) -> Result<KeySet, KeyLoadError> {
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
            kid: key.kid.clone(),
            alg,
            private_der: der,
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
        .map(|r| SigningKey::from_pkcs8(r.alg, &r.private_der))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(KeySet::new(keys))
}
