//! The signing keys as stored: generated and sealed, made sure of at start, and opened. Nothing
//! here needs the running server, so that putting the state together can use it.

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
    #[error("{0}")]
    Refused(String),
}

/// What a sealed key is bound to: moving it to another row makes it fail to open.
pub(super) fn context(kid: &str, alg: SigningAlg) -> Vec<u8> {
    format!("signing-key:{kid}:{}", alg.as_str()).into_bytes()
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
    let der = SigningKey::generate(alg)?;
    let key = SigningKey::from_pkcs8(alg, &der)?;
    let record = SigningKeyRecord {
        sealed_private_key: sealing::seal(sealing_key, &context(&key.kid, alg), &der)?,
        kid: key.kid.clone(),
        alg,
        state,
        created_at: now,
        activate_at,
        remove_after: None,
    };
    store.insert_signing_key(&record).await?;
    tracing::info!(kid = %record.kid, alg = alg.as_str(), state = state.as_str(), "generated signing key");
    Ok(record)
}

/// Makes sure each algorithm has an active key (on first start: generates them).
/// Makes sure each algorithm has an active key; true when it had to create one.
pub async fn ensure_active(
    store: &dyn KeyStore,
    sealing_key: &[u8; 32],
    now: UnixTime,
) -> Result<bool, KeyLoadError> {
    let records = store.list_signing_keys().await?;
    let mut created = false;
    for alg in SigningAlg::ALL {
        if !records
            .iter()
            .any(|r| r.alg == alg && r.state == KeyState::Active)
        {
            create(store, sealing_key, alg, KeyState::Active, now, None).await?;
            created = true;
        }
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
        let complete = SigningAlg::ALL.iter().all(|alg| {
            records
                .iter()
                .any(|r| r.alg == *alg && r.state == KeyState::Active)
        });
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
    let mut records = store.list_signing_keys().await?;
    // Newest first, so the newest active key of an algorithm signs.
    records.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.kid.cmp(&b.kid))
    });
    let keys = records
        .iter()
        .map(|r| {
            let der = sealing::open(sealing_key, &context(&r.kid, r.alg), &r.sealed_private_key)?;
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

/// This process among the nodes, for leases.
pub(super) fn node_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| idp_core::random::random_token(12))
}

/// The lease that lets one process at a time change the keys, held only while it does.
pub(super) const LIFECYCLE_LEASE: &str = "signing-key-lifecycle";
/// How long a lease outlives a process that died holding it.
pub(super) const LEASE_SECS: i64 = 60;
