//! The relational store and what one node keeps beside it. The one place that knows sqlx (and
//! rusqlite, for the SQLite statements of the token endpoint that run on the calling thread:
//! see `direct`).

pub mod cache;
mod direct;
mod link;
pub mod memory;
pub mod sql;
mod writer;

use std::sync::Arc;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{EphemeralKind, Rotated, RotationCheck};
use idp_core::store::{GrantStore, Stores};

pub use link::{PostgresLink, postgres_link};
pub use sql::{Backend, SqlStore, Traffic};

/// Resolves once a write is durable, or says why it is not.
pub type Durable =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send>>;

/// A rotation (see `GrantStore::rotate`) that answers before it is durable, so that the caller
/// gets its answer ready meanwhile (a refresh signs its tokens while SQLite's log is flushed):
/// the second value resolves once the rotation is durable (at once where the database makes it
/// so before answering), and nothing that depends on the outcome may leave the process before.
#[async_trait]
pub trait EarlyRotation: GrantStore {
    async fn rotate_early(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
        next: (&str, UnixTime),
        check: RotationCheck,
    ) -> Result<(Rotated, Durable), StoreError>;
}

/// The database's stores, and its rotations that answer early (the grants' store itself).
pub struct Database {
    pub stores: Stores,
    pub rotations: Arc<dyn EarlyRotation>,
}

/// The database at `database_url` alone, its pending migrations applied (and this node's
/// memory for throttling).
pub async fn open(database_url: &str, max_connections: u32) -> Result<Stores, StoreError> {
    Ok(open_database(database_url, max_connections).await?.stores)
}

/// [`open`], with the rotations that answer early.
pub async fn open_database(
    database_url: &str,
    max_connections: u32,
) -> Result<Database, StoreError> {
    let db = Arc::new(SqlStore::open(database_url, max_connections).await?);
    db.migrate().await?;
    let stores = Stores {
        users: db.clone(),
        pin_attempts: db.clone(),
        clients: Arc::new(cache::CachedClients::new(db.clone())),
        sessions: db.clone(),
        grants: db.clone(),
        keys: db.clone(),
        ephemeral: db.clone(),
        audit: db.clone(),
        outbox: db.clone(),
        devices: db.clone(),
        codes: db.clone(),
        consents: db.clone(),
        factors: db.clone(),
        leases: db.clone(),
        health: vec![("database", db.clone())],
        throttle: Arc::new(memory::MemoryThrottle::default()),
    };
    Ok(Database {
        stores,
        rotations: db,
    })
}
