//! The storage backends. Domain code sees only the traits of `idp_core::store`; this module
//! is the one place that knows sqlx.

pub mod memory;
pub mod sqlite;

#[cfg(test)]
mod contract;

use std::sync::Arc;

use idp_core::StoreError;
use idp_core::store::{
    AuditStore, ClientStore, CodeStore, ConsentStore, DeviceStore, EphemeralStore, GrantStore,
    HealthCheck, KeyStore, OutboxStore, PinAttemptStore, SessionStore, ThrottleStore, UserStore,
};

use crate::config::Settings;

/// Every store the server uses, each behind its own narrow trait.
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
    pub health: Arc<dyn HealthCheck>,
    /// Failure counters for throttling; in memory on the embedded default.
    pub throttle: Arc<dyn ThrottleStore>,
}

impl Stores {
    /// Opens the database named by the settings and applies pending migrations.
    pub async fn open(settings: &Settings) -> Result<Self, StoreError> {
        Self::open_url(&settings.database_url).await
    }

    pub async fn open_url(database_url: &str) -> Result<Self, StoreError> {
        let db = Arc::new(sqlite::SqliteStore::open(database_url).await?);
        db.migrate().await?;
        Ok(Self {
            users: db.clone(),
            pin_attempts: db.clone(),
            clients: db.clone(),
            sessions: db.clone(),
            grants: db.clone(),
            keys: db.clone(),
            ephemeral: db.clone(),
            audit: db.clone(),
            outbox: db.clone(),
            devices: db.clone(),
            codes: db.clone(),
            consents: db.clone(),
            health: db,
            throttle: Arc::new(memory::MemoryThrottle::default()),
        })
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_meets_the_storage_contract() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("contract.db").display());
        let stores = super::Stores::open_url(&url).await.unwrap();
        super::contract::run_all(stores).await;
    }
}
