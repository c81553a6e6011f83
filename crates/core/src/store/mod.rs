//! Storage, one narrow trait per concern. Backends (SQLite and PostgreSQL in `idp-store-sql`,
//! Redis in `idp-store-redis`) implement these; domain code sees nothing else. Every method
//! that must be atomic says so.

use std::sync::Arc;

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::error::StoreError;
mod people;

pub use people::{PinAttemptStore, UserStore};

use crate::model::{
    AuditEvent, Client, CodePurpose, Consumed, Device, EphemeralKind, Factor, Grant, Message,
    OneTimeCode, Rotated, RotationCheck, Session, SigningKeyRecord,
};

/// What a readiness probe found of one backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// It cannot be reached now (down, refusing connections, no free connection).
    Unreachable(String),
    /// It answers but cannot write now (a full disk, a read-only file, a standby server).
    CannotWrite(String),
}

/// Whether a backend can serve now, for readiness probes.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Asks the backend to do what serving needs of it: a database writes (one row that means
    /// nothing else), so that a full disk shows here before a person meets it.
    async fn probe(&self) -> Health;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Every client, oldest first.
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// The client, unless it does not exist or was disabled. May be a copy a few seconds old
    /// (see [`ClientStore::find_client_now`]).
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError>;
    /// Like [`ClientStore::find_client`], read from the store itself: for decisions that must
    /// see a change made a moment ago on any node (administration, changing the client).
    async fn find_client_now(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.find_client(id).await
    }
    /// Replaces everything but the id and creation time.
    async fn update_client(&self, client: &Client) -> Result<(), StoreError>;
    /// False when there was no such client.
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError>;
    /// Stores an initial access token for dynamic registration (by its SHA-256), good for
    /// `uses` registrations until `expires_at`.
    async fn create_initial_access_token(
        &self,
        id_hash: &str,
        uses: u32,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// The registrations the token is still good for at `now`: 0 when it is unknown, expired
    /// or used up. Only reads.
    async fn initial_access_token_uses(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<u32, StoreError>;
    /// Atomically spends one use of the token: true when it had one left at `now`. Exact
    /// under concurrent registrations, also between nodes: a token good for N registrations
    /// is spent N times, never more.
    async fn spend_initial_access_token(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// A session that has not expired at `now`.
    async fn find_session(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<Option<Session>, StoreError>;
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;
    /// Deletes a session the caller found (or made) in this store, as `delete_session` does,
    /// without looking it up again where the backend would have to.
    async fn delete_found_session(&self, session: &Session) -> Result<(), StoreError> {
        self.delete_session(&session.id_hash).await
    }
    /// Marks a live session as opened under `credential_epoch` (a credential change made in it,
    /// which it outlives); nothing when it is gone.
    async fn restamp_session(&self, id_hash: &str, credential_epoch: i64)
    -> Result<(), StoreError>;
    /// The user's live sessions, newest first.
    async fn list_sessions(&self, user_id: &str, now: UnixTime)
    -> Result<Vec<Session>, StoreError>;
    /// Deletes sessions that expired before `before`; returns how many.
    async fn purge_expired_sessions(&self, before: UnixTime) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn create_grant(&self, grant: &Grant) -> Result<(), StoreError>;
    async fn revoke_grant(&self, id: &str, now: UnixTime) -> Result<(), StoreError>;
    /// Whether the grant exists and has not been revoked, read from the store itself.
    async fn grant_is_active(&self, id: &str) -> Result<bool, StoreError>;
    /// The person an active grant belongs to; `None` when it is revoked or unknown. (The
    /// access token names the person only as its client sees them, see pairwise subjects.)
    async fn active_grant_user(&self, id: &str) -> Result<Option<String>, StoreError>;
    /// Like [`GrantStore::active_grant_user`], read from the store itself: for decisions that
    /// issue tokens, which must not rest on what a node holds in memory.
    async fn active_grant_user_now(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.active_grant_user(id).await
    }
    /// Rotates the single-use record `id` of `kind` (a refresh token) in one step. It reads
    /// the record; when it is live and `check` accepts it, and the grant `check` names is
    /// active and belongs to its user, who is not disabled, it uses the record up and stores
    /// its payload again under `next` (id and expiry). Nothing changes otherwise. Of rotations
    /// of one record at once, one is `Done` and the others find it `Replayed`; a grant revoked
    /// at the same time either stops the rotation or comes after it, never between the check
    /// and the write. The outcome is durable when it is returned.
    async fn rotate(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
        next: (&str, UnixTime),
        check: RotationCheck,
    ) -> Result<Rotated, StoreError>;
    /// Revokes every grant the user gave the client (consent withdrawn).
    async fn revoke_grants_of(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Moves the grants of session `from_sid` to session `to_sid` (a session replaced by a
    /// newer one of the same user, after a step-up).
    async fn move_session_grants(&self, from_sid: &str, to_sid: &str) -> Result<(), StoreError>;
    /// Revokes every grant made to the client (it was disabled).
    async fn revoke_grants_of_client(
        &self,
        client_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Revokes every grant of the user (their password changed, their PIN was recovered).
    async fn revoke_all_grants_of_user(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// The clients that received grants from the session `sid`.
    async fn clients_of_session(&self, sid: &str) -> Result<Vec<String>, StoreError>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    /// Moves a key to `state` with its new dates.
    async fn update_signing_key(
        &self,
        kid: &str,
        state: crate::model::KeyState,
        activate_at: Option<UnixTime>,
        remove_after: Option<UnixTime>,
    ) -> Result<(), StoreError>;
    /// False when there was no such key.
    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError>;
    /// Replaces the sealed private keys, all or none, and the recorded fingerprint of the
    /// master key with `master_fingerprint`, in the same transaction (moving to a new master
    /// key); refused with `Conflict` unless `sealed` names exactly the stored keys.
    async fn replace_sealed_keys(
        &self,
        sealed: &[(String, Vec<u8>)],
        master_fingerprint: &str,
    ) -> Result<(), StoreError>;
    /// The fingerprint recorded for the server-side key `name`, if any.
    async fn recorded_fingerprint(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Records `fingerprint` for `name` unless one is recorded already, and returns the one
    /// recorded: the database remembers the keys it was set up with.
    async fn record_fingerprint(&self, name: &str, fingerprint: &str)
    -> Result<String, StoreError>;
}

/// Short-lived records (interactions, pending sign-ups, authorization codes).
#[async_trait]
pub trait EphemeralStore: Send + Sync {
    /// Inserts or replaces the record; a record already consumed stays consumed.
    async fn put(
        &self,
        kind: EphemeralKind,
        id: &str,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError>;
    /// The record if it exists, has not expired and has not been consumed.
    async fn get(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<serde_json::Value>, StoreError>;
    /// Whether [`EphemeralStore::get`] would find the record: cheaper where a node holds the
    /// records of `kind` in memory (revoked tokens' `jti`s).
    async fn contains(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        Ok(self.get(kind, id, now).await?.is_some())
    }
    /// Atomically marks the record consumed; exactly one caller ever sees `Consumed::Fresh`.
    async fn consume(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Consumed, StoreError>;
    async fn delete(&self, kind: EphemeralKind, id: &str) -> Result<(), StoreError>;
    /// Remembers `id` of `kind` as used until `expires_at`: true for the first caller only,
    /// however many race (a replay cache, such as DPoP proofs' `jti`). A backend with a
    /// cheaper atomic insert-if-absent may answer in one step.
    async fn first_use(
        &self,
        kind: EphemeralKind,
        id: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.put(kind, id, &serde_json::json!({}), expires_at)
            .await?;
        Ok(matches!(
            self.consume(kind, id, now).await?,
            crate::model::Consumed::Fresh(_)
        ))
    }
    /// Deletes records that expired before `before`; returns how many. Callers keep consumed
    /// codes a while past their expiry so that a late replay is still recognised.
    async fn purge_expired(&self, before: UnixTime) -> Result<u64, StoreError>;
    /// Every live record of `kind` (unexpired at `now`, not consumed) as its id and expiry,
    /// for a node that holds them all in memory (the revoked tokens' `jti`s); `None` when
    /// there are more than `limit`, or the store cannot list them.
    async fn live_ids(
        &self,
        _kind: EphemeralKind,
        _now: UnixTime,
        _limit: usize,
    ) -> Result<Option<Vec<(String, UnixTime)>>, StoreError> {
        Ok(None)
    }
}

/// Makes an audit row's chain value from the value of the row before it.
pub type AuditLink = std::sync::Arc<dyn Fn(&str) -> String + Send + Sync>;

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends the event. `link` makes its chain value from the newest row's (empty when
    /// there is no row or it has none); reading that row and appending are one step, also
    /// between nodes, so that the rows form a single chain. An event whose id is in the log
    /// already is not appended again (and that is no error).
    async fn record(&self, event: &AuditEvent, link: AuditLink) -> Result<(), StoreError>;
    /// Up to `limit` rows after row `after`, oldest first, each with its id and chain value.
    async fn chain_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, AuditEvent, Option<String>)>, StoreError>;
    /// The most recent events `filter` asks for, newest first, at most `limit`.
    async fn query(
        &self,
        filter: &crate::model::AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;
    /// The user's most recent events of the given kinds (all kinds when empty), newest first.
    async fn recent_for_user(
        &self,
        user_id: &str,
        kinds: &[crate::model::AuditKind],
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}

/// Messages kept instead of sent when no SMTP server or SMS webhook is configured.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn push(&self, message: &Message, at: UnixTime) -> Result<(), StoreError>;
    /// Every kept message, oldest first, with when it was kept.
    async fn list(&self) -> Result<Vec<(UnixTime, Message)>, StoreError>;
}

/// Counts recent attempts per key (an account, a client IP, codes sent to a user) to slow
/// guessing and flooding down. Counts are shared by every node where the backend is shared.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Records an attempt at `now`, atomically; returns how many attempts were recorded within
    /// the last `window` seconds before this one, and when the latest of them was.
    async fn record_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window: i64,
    ) -> Result<(u32, Option<UnixTime>), StoreError>;
    /// [`ThrottleStore::record_attempt`] under each of `keys` at once (each atomically), with
    /// the answers in the order of `keys`. A backend that can send them together does.
    async fn record_attempts(
        &self,
        keys: &[&str],
        now: UnixTime,
        window: i64,
    ) -> Result<Vec<(u32, Option<UnixTime>)>, StoreError> {
        let mut answers = Vec::with_capacity(keys.len());
        for key in keys {
            answers.push(self.record_attempt(key, now, window).await?);
        }
        Ok(answers)
    }
    /// Takes back the latest attempt (it succeeded, or was refused without being tried).
    async fn forget_latest(&self, key: &str) -> Result<(), StoreError>;
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
    /// [`ThrottleStore::clear`] each of `cleared` and [`ThrottleStore::forget_latest`] under
    /// each of `forgotten`, at once where the backend can send them together.
    async fn clear_and_forget_latest(
        &self,
        cleared: &[&str],
        forgotten: &[&str],
    ) -> Result<(), StoreError> {
        for key in cleared {
            self.clear(key).await?;
        }
        for key in forgotten {
            self.forget_latest(key).await?;
        }
        Ok(())
    }
    /// A backlog that drains in real time (the generic cell rate algorithm), one number per
    /// key however high a limit is set: atomically adds `cost` to the key's backlog, unless
    /// `most` is given and the backlog would then last past it. Times are milliseconds.
    /// Returns whether `cost` was added, and when the backlog (with it, if added) has drained.
    async fn add_to_backlog(
        &self,
        key: &str,
        now: i64,
        cost: i64,
        most: Option<i64>,
    ) -> Result<(bool, i64), StoreError>;
    /// When the key's backlog has drained (at or before `now`: nothing is owed).
    async fn backlog_until(&self, key: &str, now: i64) -> Result<i64, StoreError>;
    /// Takes `cost` back from the key's backlog, atomically, never below `now` (what was
    /// reserved turned out not to count).
    async fn give_back_to_backlog(&self, key: &str, now: i64, cost: i64) -> Result<(), StoreError>;
}

/// Trusted devices (browsers that completed a sign-in with the new-device check).
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Trusts the device for its user (again, if it already was).
    async fn trust_device(&self, device: &Device) -> Result<(), StoreError>;
    /// Whether the device is trusted by the user (and was seen within
    /// [`crate::model::DEVICE_TRUST_SECS`]); if so, notes that it was seen at `now`.
    async fn device_is_trusted(
        &self,
        id_hash: &str,
        user_id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// The user's trusted devices, most recently seen first.
    async fn list_devices(&self, user_id: &str) -> Result<Vec<Device>, StoreError>;
    /// Forgets every device of the user but the one `keep_id_hash` names (a credential
    /// changed); how many it forgot.
    async fn forget_devices_of_user(
        &self,
        user_id: &str,
        keep_id_hash: Option<&str>,
    ) -> Result<u64, StoreError>;
    /// Forgets one of the user's devices; false when there is none with that id.
    async fn forget_device(&self, user_id: &str, id: &str) -> Result<bool, StoreError>;
}

/// One-time codes. Tries are taken atomically, so concurrent guesses never get more than the
/// code's tries, and a code is consumed exactly once.
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores the user's code for `purpose`, replacing any earlier one.
    async fn put_code(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        code: &OneTimeCode,
    ) -> Result<(), StoreError>;
    /// The live code, without taking a try.
    async fn peek_code(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Option<OneTimeCode>, StoreError>;
    /// Takes one try of the live code: the code with the tries left after this one, or `None`
    /// when there is no live code or it has no tries left.
    async fn take_code_try(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Option<OneTimeCode>, StoreError>;
    /// Deletes the code with this hash; true for the one caller that deleted it.
    async fn consume_code(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        hash: &str,
    ) -> Result<bool, StoreError>;
    /// The user's failures in a row over every code and purpose, kept with the user so that a
    /// new code never resets it: atomically counts one more when fewer than `max` are counted,
    /// and returns the count now (1..=max), or `None` when `max` are (code checks are refused).
    /// Counted *before* the code is compared, like a PIN try, so that concurrent guesses can
    /// never make more than `max`.
    async fn take_code_failure(&self, user_id: &str, max: u32) -> Result<Option<u32>, StoreError>;
    /// Forgets the user's failures: a right code, or support's unlock.
    async fn reset_code_failures(&self, user_id: &str) -> Result<(), StoreError>;
}

/// Consent to third-party clients: the scopes a person allowed each one.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// The scopes the user allowed the client, if any.
    async fn consented_scopes(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError>;
    /// Records the consent, adding to what was allowed before.
    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Every client the user consented to, with the scopes and when.
    async fn list_consents(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, Vec<String>, UnixTime)>, StoreError>;
    /// False when there was no consent.
    async fn withdraw_consent(&self, user_id: &str, client_id: &str) -> Result<bool, StoreError>;
}

/// A person's second factors (an authenticator app, passkeys) and saved recovery codes, which
/// are durable: always in the database. Uses are taken atomically, so that a code or a TOTP
/// time step works once however many nodes race with it.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// Binds a new factor. `StoreError::Conflict` when its id or credential id is taken.
    async fn add_factor(&self, factor: &Factor) -> Result<(), StoreError>;
    /// The person's factors, oldest first.
    async fn list_factors(&self, user_id: &str) -> Result<Vec<Factor>, StoreError>;
    /// The passkey with this credential id, whoever it belongs to.
    async fn find_passkey(&self, credential_id: &str) -> Result<Option<Factor>, StoreError>;
    /// Renames the person's factor; false when they have no such factor.
    async fn rename_factor(&self, user_id: &str, id: &str, name: &str) -> Result<bool, StoreError>;
    /// Removes the person's factor; false when they have no such factor.
    async fn remove_factor(&self, user_id: &str, id: &str) -> Result<bool, StoreError>;
    /// Records a use at `now`. With `step`, only while the stored `last_step` is below it (a
    /// TOTP code's time step: the same or an earlier step again is a replay), and the step is
    /// stored; with `secret`, the stored secret is replaced (a passkey's updated counter and
    /// flags). False when the factor is gone or the step was not new. Atomic: of two nodes
    /// racing with the same code, exactly one wins.
    async fn record_factor_use(
        &self,
        user_id: &str,
        id: &str,
        now: UnixTime,
        step: Option<i64>,
        secret: Option<&[u8]>,
    ) -> Result<bool, StoreError>;
    /// Replaces the person's saved recovery codes with `hashes` (the old ones stop working), in
    /// one transaction; of replacements at once, one set is left, whole.
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Uses the person's saved code with this hash: true exactly once per code, also under
    /// concurrency. Atomic.
    async fn use_recovery_code(
        &self,
        user_id: &str,
        hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// How many unused saved codes the person has, and when the current set was made (`None`:
    /// no set).
    async fn recovery_codes_left(
        &self,
        user_id: &str,
    ) -> Result<(usize, Option<UnixTime>), StoreError>;
}

/// Leases on cluster-wide chores, so that one node at a time does them.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes or renews the lease `name` for `holder` until `until`: true when `holder` now
    /// holds it (it was free, expired at `now`, or already its own).
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Gives the lease up, if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}

/// Every store the provider uses, each behind its own narrow trait. A backend crate opens the
/// ones it keeps; the server puts them together.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub pin_attempts: Arc<dyn PinAttemptStore>,
    pub clients: Arc<dyn ClientStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub grants: Arc<dyn GrantStore>,
    pub keys: Arc<dyn KeyStore>,
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub audit: Arc<dyn AuditStore>,
    pub outbox: Arc<dyn OutboxStore>,
    pub devices: Arc<dyn DeviceStore>,
    pub codes: Arc<dyn CodeStore>,
    pub consents: Arc<dyn ConsentStore>,
    /// Second factors and saved recovery codes: the database's, also where Redis is used.
    pub factors: Arc<dyn FactorStore>,
    /// What readiness asks, by the name it reports each under (`database`, `redis`).
    pub health: Vec<(&'static str, Arc<dyn HealthCheck>)>,
    pub leases: Arc<dyn LeaseStore>,
    /// Failure counters for throttling; in memory on the embedded default.
    pub throttle: Arc<dyn ThrottleStore>,
}
