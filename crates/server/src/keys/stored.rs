//! The signing keys in the key store: new ones stored, made sure of at start, and the stored
//! ones opened (generating, sealing and opening a record is the token issuer's). Nothing here
//! needs the running server, so that putting the state together can use it.

use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{KeyState, SigningAlg, SigningKeyRecord};
use idp_core::store::KeyStore;
use idp_token_issuer::lifecycle::{KeyRefusal, algorithms_without_active_key};
use idp_token_issuer::stored::{new_record, open_records};
use idp_token_issuer::{KeySet, TokenError};

#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("{0}")]
    Refused(String),
}

impl From<KeyRefusal> for KeyLoadError {
    fn from(refusal: KeyRefusal) -> Self {
        Self::Refused(refusal.to_string())
    }
}

/// Generates, seals and stores a new key.
pub(super) async fn create(
    store: &dyn KeyStore,
    sealing_key: &[u8; 32],
    alg: SigningAlg,
    state: KeyState,
    now: UnixTime,
    activate_at: Option<UnixTime>,
) -> Result<SigningKeyRecord, KeyLoadError> {
    let record = new_record(sealing_key, alg, state, now, activate_at)?;
    store.insert_signing_key(&record).await?;
    tracing::info!(kid = %record.kid, alg = alg.as_str(), state = state.as_str(), "generated signing key");
    Ok(record)
}

/// Makes sure each algorithm has an active key (on first start: generates them); true when it
/// had to create one.
pub async fn ensure_active(
    store: &dyn KeyStore,
    sealing_key: &[u8; 32],
    now: UnixTime,
) -> Result<bool, KeyLoadError> {
    let records = store.list_signing_keys().await?;
    let mut created = false;
    for alg in algorithms_without_active_key(&records) {
        create(store, sealing_key, alg, KeyState::Active, now, None).await?;
        created = true;
    }
    Ok(created)
}

/// [`ensure_active`] for a node that may start beside others on an empty database: only the
/// node holding the lifecycle lease generates keys; the others wait until it has.
pub async fn ensure_active_in_cluster(
    stores: &idp_core::store::Stores,
    sealing_key: &[u8; 32],
    clock: &dyn idp_core::Clock,
) -> Result<(), KeyLoadError> {
    for _ in 0..50 {
        let records = stores.keys.list_signing_keys().await?;
        let complete = algorithms_without_active_key(&records).is_empty();
        if complete {
            return Ok(());
        }
        let now = clock.now();
        if stores
            .leases
            .try_lease(LIFECYCLE_LEASE, node_id(), now, now + LEASE_SECS)
            .await?
        {
            let created = ensure_active(stores.keys.as_ref(), sealing_key, now).await;
            stores
                .leases
                .release_lease(LIFECYCLE_LEASE, node_id())
                .await?;
            return created.map(drop);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    ensure_active(stores.keys.as_ref(), sealing_key, clock.now())
        .await
        .map(drop)
}

/// The published keys (next, active and retired), opened with the sealing key.
pub async fn load(store: &dyn KeyStore, sealing_key: &[u8; 32]) -> Result<KeySet, KeyLoadError> {
    let records = store.list_signing_keys().await?;
    Ok(open_records(&records, sealing_key)?)
}

/// This process among the nodes, for leases.
pub(super) fn node_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| idp_core::random::random_token(12))
}

/// The lease that lets one process at a time change the keys, held only while it does.
pub(super) const LIFECYCLE_LEASE: &str = "signing-key-lifecycle";
/// How long a lease outlives a process that died holding it.
pub(super) const LEASE_SECS: i64 = 60;
