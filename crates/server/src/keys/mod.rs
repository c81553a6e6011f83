//! The signing keys' lifecycle, applied: `next`, then `active`, then `retired`, then removed.
//! What changes when (the schedule) is decided in `idp_token_issuer::lifecycle`; this module
//! applies those decisions to the key store under the lifecycle lease, logs them, serves the
//! new keys and tells the other nodes.
//!
//! The database is the truth: every node reloads the keys from it on each tick, so a rotation
//! made through one node or the CLI reaches them all without a restart.

use idp_core::clock::UnixTime;
use idp_core::model::{KeyState, SigningKeyRecord};
use idp_token_issuer::KeySet;
use idp_token_issuer::lifecycle::{
    NextKey, RotationStep, due_for_activation, due_for_removal, promotion, retirement, revocation,
    rotation, scheduled_rotation,
};
use idp_token_issuer::stored::reseal;

use crate::state::AppState;

pub mod stored;

pub use stored::{KeyLoadError, ensure_active, ensure_active_in_cluster, load};
use stored::{LEASE_SECS, LIFECYCLE_LEASE, create, node_id};

/// Serialises this process's own key changes and reloads, so that an older view of the keys
/// never replaces a newer one.
static LOCAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `change` holding the lifecycle lease (waiting a few seconds for another process to
/// finish its change), then gives the lease up.
async fn under_lease<T, F>(state: &AppState, change: F) -> Result<T, KeyLoadError>
where
    F: std::future::Future<Output = Result<T, KeyLoadError>>,
{
    let leases = &state.stores.leases;
    for attempt in 0.. {
        let now = state.now();
        let last = attempt == 80;
        match leases
            .try_lease(LIFECYCLE_LEASE, node_id(), now, now + LEASE_SECS)
            .await
        {
            Ok(true) => break,
            // A busy database is waited for like a busy lease, up to the last attempt.
            Err(error) if last => return Err(error.into()),
            Ok(false) if last => {
                return Err(KeyLoadError::Refused(
                    "another node is changing the signing keys; try again in a minute".into(),
                ));
            }
            Ok(false) | Err(_) => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let result = change.await;
    if let Err(error) = leases.release_lease(LIFECYCLE_LEASE, node_id()).await {
        tracing::warn!(%error, "could not give the key lease up; it lapses by itself");
    }
    result
}

/// Opens the stored keys. A node that cannot (its master key is not the one they are sealed
/// with: a rewrap happened) stops trusting keys that are gone and reports the error.
async fn open_stored(state: &AppState) -> Result<KeySet, KeyLoadError> {
    let store = state.stores.keys.as_ref();
    match load(store, &state.key_sealing).await {
        Ok(loaded) => Ok(loaded),
        Err(error) => {
            let present: Vec<String> = store
                .list_signing_keys()
                .await?
                .into_iter()
                .map(|r| r.kid)
                .collect();
            state.set_keys(state.keys().retaining(&present));
            Err(error)
        }
    }
}

/// Serves the stored keys now (another node said they changed).
pub async fn reload(state: &AppState) -> Result<(), KeyLoadError> {
    let _local = LOCAL.lock().await;
    state.set_keys(open_stored(state).await?);
    Ok(())
}

/// Tells the other nodes that the keys changed, where Redis connects them; without it they
/// learn at their next tick.
async fn announce(state: &AppState) {
    if let Some(redis) = &state.redis
        && let Err(error) = redis.publish_key_change().await
    {
        tracing::warn!(%error, "could not announce the key change; nodes learn at their next tick");
    }
}

/// One step of the lifecycle, run on every node at every tick: every node reloads its keys;
/// the node that takes the lifecycle lease (one process at a time, for the length of its
/// changes) also gives an algorithm without a signing key one, makes due `next` keys active
/// (retiring the keys they replace), removes retired keys past their time and starts
/// scheduled rotations.
pub async fn tick(state: &AppState) -> Result<(), KeyLoadError> {
    let _local = LOCAL.lock().await;
    // A node that cannot open the stored keys writes nothing.
    let loaded = open_stored(state).await?;
    let now = state.now();
    let leases = &state.stores.leases;
    if !leases
        .try_lease(LIFECYCLE_LEASE, node_id(), now, now + LEASE_SECS)
        .await?
    {
        // Another process is changing the keys: it announces what it changes.
        state.set_keys(loaded);
        return Ok(());
    }
    let result = apply_schedule(state, loaded).await;
    if let Err(error) = leases.release_lease(LIFECYCLE_LEASE, node_id()).await {
        tracing::warn!(%error, "could not give the key lease up; it lapses by itself");
    }
    result
}

/// The scheduled changes, under the lease: see [`tick`].
async fn apply_schedule(state: &AppState, loaded: KeySet) -> Result<(), KeyLoadError> {
    let store = state.stores.keys.as_ref();
    let settings = &state.settings.keys;
    let now = state.now();
    // An algorithm left without a signing key (its key was revoked mid-rotation) gets one.
    let mut changed = ensure_active(store, &state.key_sealing, now).await?;
    let mut records = store.list_signing_keys().await?;
    for next in due_for_activation(&records, now) {
        promote(state, &records, next).await?;
        changed = true;
    }
    for retired in due_for_removal(&records, now) {
        store.delete_signing_key(&retired.kid).await?;
        tracing::info!(kid = %retired.kid, "removed retired signing key");
        changed = true;
    }
    if settings.rotation_interval_secs > 0 {
        if changed {
            records = store.list_signing_keys().await?;
        }
        for next in scheduled_rotation(
            &records,
            now,
            settings.rotation_interval_secs,
            settings.prepublish_secs,
        ) {
            create_next(state, &next, now).await?;
            changed = true;
        }
    }
    // Opened once per tick, again only when this tick changed the keys.
    if changed {
        state.set_keys(load(store, &state.key_sealing).await?);
        announce(state).await;
    } else {
        state.set_keys(loaded);
    }
    Ok(())
}

/// How late a node may learn of a key change: one tick.
fn lag(state: &AppState) -> i64 {
    i64::try_from(state.settings.keys.tick_secs).unwrap_or(i64::MAX)
}

/// Makes `next` active and retires the other active keys of its algorithm.
async fn promote(
    state: &AppState,
    records: &[SigningKeyRecord],
    next: &SigningKeyRecord,
) -> Result<(), KeyLoadError> {
    let store = state.stores.keys.as_ref();
    let change = promotion(
        records,
        next,
        state.now(),
        state.settings.keys.retired_lifetime_secs,
    );
    // The new key signs before the old one stops, so there is never a moment without one.
    store
        .update_signing_key(&next.kid, KeyState::Active, next.activate_at, None)
        .await?;
    tracing::info!(kid = %next.kid, "activated signing key");
    for old in change.retire {
        store
            .update_signing_key(&old.kid, KeyState::Retired, None, Some(change.remove_after))
            .await?;
        tracing::info!(kid = %old.kid, "retired signing key");
    }
    Ok(())
}

/// Starts a rotation: a `next` key for each algorithm that has none, active after the
/// pre-publication window.
pub async fn rotate(state: &AppState) -> Result<Vec<SigningKeyRecord>, KeyLoadError> {
    let _local = LOCAL.lock().await;
    under_lease(state, rotate_now(state)).await
}

async fn rotate_now(state: &AppState) -> Result<Vec<SigningKeyRecord>, KeyLoadError> {
    let store = state.stores.keys.as_ref();
    let now = state.now();
    let records = store.list_signing_keys().await?;
    let mut created = Vec::new();
    for step in rotation(&records, now, state.settings.keys.prepublish_secs) {
        created.push(match step {
            RotationStep::Pending(pending) => pending.clone(),
            RotationStep::Create(next) => create_next(state, &next, now).await?,
        });
    }
    state.set_keys(load(store, &state.key_sealing).await?);
    announce(state).await;
    Ok(created)
}

/// Retires an active key now. Its algorithm must keep a signing key: a `next` key published at
/// least one JWKS cache lifetime ago takes over at once.
pub async fn retire(state: &AppState, kid: &str) -> Result<(), KeyLoadError> {
    let _local = LOCAL.lock().await;
    under_lease(state, retire_now(state, kid)).await
}

async fn retire_now(state: &AppState, kid: &str) -> Result<(), KeyLoadError> {
    let store = state.stores.keys.as_ref();
    let now = state.now();
    let records = store.list_signing_keys().await?;
    let next = retirement(
        &records,
        kid,
        now,
        state.settings.keys.jwks_max_age_secs,
        lag(state),
    )?;
    promote(state, &records, next).await?;
    state.set_keys(load(store, &state.key_sealing).await?);
    announce(state).await;
    Ok(())
}

/// Removes a key at once (it leaked): every token it signed stops verifying. An algorithm left
/// without a signing key gets a new one immediately; relying parties fetch the JWKS again when
/// they meet its unknown `kid`.
pub async fn revoke(state: &AppState, kid: &str) -> Result<(), KeyLoadError> {
    let _local = LOCAL.lock().await;
    under_lease(state, revoke_now(state, kid)).await
}

/// Makes, seals and stores the `next` key the schedule or a rotation asks for.
async fn create_next(
    state: &AppState,
    next: &NextKey,
    now: UnixTime,
) -> Result<SigningKeyRecord, KeyLoadError> {
    let store = state.stores.keys.as_ref();
    let (alg, activate_at) = (next.alg, Some(next.activate_at));
    create(
        store,
        &state.key_sealing,
        alg,
        KeyState::Next,
        now,
        activate_at,
    )
    .await
}

async fn revoke_now(state: &AppState, kid: &str) -> Result<(), KeyLoadError> {
    let store = state.stores.keys.as_ref();
    let records = store.list_signing_keys().await?;
    let revoked = revocation(&records, kid)?;
    // The replacement signs before the revoked key goes, so there is never a moment without one.
    if revoked.needs_replacement {
        create(
            store,
            &state.key_sealing,
            revoked.key.alg,
            KeyState::Active,
            state.now(),
            None,
        )
        .await?;
    }
    store.delete_signing_key(kid).await?;
    tracing::warn!(kid, "signing key revoked");
    // This node stops trusting it now; the others when they hear of it, or at their next tick.
    state.set_keys(load(store, &state.key_sealing).await?);
    announce(state).await;
    Ok(())
}

/// Runs [`tick`] for ever, every `keys.tick_secs`.
pub async fn run_lifecycle(state: AppState) {
    if let Some(redis) = state.redis.clone() {
        let watcher = state.clone();
        tokio::spawn(async move {
            redis
                .watch(move || {
                    let state = watcher.clone();
                    async move {
                        if let Err(error) = reload(&state).await {
                            tracing::error!(%error, "reloading the signing keys failed");
                        }
                    }
                })
                .await;
        });
    }
    let period = std::time::Duration::from_secs(state.settings.keys.tick_secs.max(1));
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        if let Err(error) = tick(&state).await {
            tracing::error!(%error, "signing key lifecycle failed");
        }
    }
}

/// The keys as `idp keys list` prints them.
pub fn describe(records: &[SigningKeyRecord]) -> serde_json::Value {
    records
        .iter()
        .map(|r| {
            let mut key = serde_json::json!({
                "kid": r.kid,
                "alg": r.alg.as_str(),
                "state": r.state.as_str(),
                "created_at": r.created_at,
                "activate_at": r.activate_at,
                "remove_after": r.remove_after,
            });
            crate::timestamps::add_readable(
                &mut key,
                &[
                    ("created_at", "created"),
                    ("activate_at", "activation"),
                    ("remove_after", "removal"),
                ],
            );
            key
        })
        .collect()
}

/// Re-seals every private key under a key derived from `new_master`, in one transaction. The
/// operator then runs the provider with the new master key.
pub async fn rewrap(state: &AppState, new_master: &[u8; 32]) -> Result<usize, KeyLoadError> {
    let _local = LOCAL.lock().await;
    under_lease(state, rewrap_now(state, new_master)).await
}

async fn rewrap_now(state: &AppState, new_master: &[u8; 32]) -> Result<usize, KeyLoadError> {
    let store = state.stores.keys.as_ref();
    let new_sealing = crate::secrets::derive(new_master, "signing-keys");
    let mut sealed = Vec::new();
    for record in store.list_signing_keys().await? {
        let resealed = reseal(&record, &state.key_sealing, &new_sealing)?;
        sealed.push((record.kid, resealed));
    }
    // Refused if the keys changed meanwhile (a node rotated): nothing is then half re-sealed.
    let fingerprint = crate::secrets::fingerprint(new_master);
    store.replace_sealed_keys(&sealed, &fingerprint).await?;
    state.set_keys(load(store, &new_sealing).await?);
    announce(state).await;
    Ok(sealed.len())
}
