//! The storage backends. Domain code sees only the traits of `idp_core::store`; this module
//! is the one place that knows sqlx.

pub mod sqlite;

use std::sync::Arc;

use idp_core::StoreError;
use idp_core::store::{
    ClientStore, EphemeralStore, GrantStore, KeyStore, PinAttemptStore, SessionStore, UserStore,
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
}

impl Stores {
    /// Opens the database named by the settings and applies pending migrations.
    pub async fn open(settings: &Settings) -> Result<Self, StoreError> {
        let db = Arc::new(sqlite::SqliteStore::open(&settings.database_url).await?);
        db.migrate().await?;
        Ok(Self {
            users: db.clone(),
            pin_attempts: db.clone(),
            clients: db.clone(),
            sessions: db.clone(),
            grants: db.clone(),
            keys: db.clone(),
            ephemeral: db,
        })
    }
}
