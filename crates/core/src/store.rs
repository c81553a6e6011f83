//! Storage, one narrow trait per concern. Backends (SQLite today; PostgreSQL and Redis next)
//! implement these; domain code sees nothing else. Every method that must be atomic says so.

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::model::{
    Client, Consumed, EphemeralKind, Grant, NewUser, Session, SigningKeyRecord, User,
};

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores the whole user in one write. `StoreError::Conflict` when the username is taken.
    async fn create_user(&self, user: &NewUser) -> Result<(), StoreError>;
    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// `username` must already be normalised.
    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
}

/// The PIN try counter. Correctness under concurrency lives here, so it is its own trait.
#[async_trait]
pub trait PinAttemptStore: Send + Sync {
    /// Atomically takes one try when fewer than `max` are taken: returns the number taken now
    /// (1..=max), or `None` when `max` are already taken (the PIN is locked). A try is taken
    /// *before* the PIN is evaluated, so concurrent requests can never evaluate more than `max`.
    async fn take_pin_attempt(&self, user_id: &str, max: u32) -> Result<Option<u32>, StoreError>;
    /// Gives one try back: the PIN it was taken for could not be evaluated (the hashing pool
    /// was busy, or the store failed), so it does not count.
    async fn give_back_pin_attempt(&self, user_id: &str) -> Result<(), StoreError>;
    /// Gives every try back after a correct PIN.
    async fn reset_pin_attempts(&self, user_id: &str) -> Result<(), StoreError>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError>;
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
    /// Deletes sessions that expired before `before`; returns how many.
    async fn purge_expired_sessions(&self, before: UnixTime) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn create_grant(&self, grant: &Grant) -> Result<(), StoreError>;
    async fn revoke_grant(&self, id: &str, now: UnixTime) -> Result<(), StoreError>;
    /// Whether the grant exists and has not been revoked.
    async fn grant_is_active(&self, id: &str) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
}

/// Short-lived records (interactions, pending sign-ups, authorization codes).
#[async_trait]
pub trait EphemeralStore: Send + Sync {
    /// Inserts or replaces the record.
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
    /// Atomically marks the record consumed; exactly one caller ever sees `Consumed::Fresh`.
    async fn consume(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Consumed, StoreError>;
    async fn delete(&self, kind: EphemeralKind, id: &str) -> Result<(), StoreError>;
    /// Deletes records that expired before `before`; returns how many. Callers keep consumed
    /// codes a while past their expiry so that a late replay is still recognised.
    async fn purge_expired(&self, before: UnixTime) -> Result<u64, StoreError>;
}
