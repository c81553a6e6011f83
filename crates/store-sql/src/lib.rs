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

use idp_core::StoreError;
use idp_core::store::Stores;

pub use link::{PostgresLink, postgres_link};
pub use sql::{Backend, SqlStore, Traffic};

/// The database at `database_url` alone, its pending migrations applied (and this node's
/// memory for throttling).
pub async fn open(database_url: &str, max_connections: u32) -> Result<Stores, StoreError> {
    let db = Arc::new(SqlStore::open(database_url, max_connections).await?);
    db.migrate().await?;
    Ok(Stores {
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
        leases: db.clone(),
        health: vec![("database", db)],
        throttle: Arc::new(memory::MemoryThrottle::default()),
    })
}
