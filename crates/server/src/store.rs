//! The stores, put together from the settings: the database (`idp-store-sql`) and, where
//! configured, Redis (`idp-store-redis`) in front of it for what every node shares.

use std::sync::Arc;

use idp_core::StoreError;
use idp_core::clock::Clock;
use idp_core::store::{Health, HealthCheck as _, Stores};
use idp_store_redis::RedisStore;
use idp_store_sql::{Backend, Database, EarlyRotation};

use crate::config::Settings;

/// The stores, and beside them what only one backend offers.
pub struct Opened {
    pub stores: Stores,
    /// Refresh-token rotations that answer before they are durable (the database's).
    pub rotations: Arc<dyn EarlyRotation>,
    /// Redis, where configured: it also carries the notices of key changes and revocations between nodes.
    pub redis: Option<Arc<RedisStore>>,
}

/// Opens the database named by the settings, applies pending migrations, and connects to
/// Redis when it is configured; `seal_key` seals what Redis holds.
pub async fn open(
    settings: &Settings,
    seal_key: [u8; 32],
    clock: Arc<dyn Clock>,
) -> Result<Opened, StoreError> {
    let Database { stores, rotations } =
        idp_store_sql::open_database(&settings.database_url, settings.database_max_connections)
            .await?;
    match &settings.redis_url {
        Some(url) => {
            let redis = Arc::new(RedisStore::open(
                url,
                &settings.redis_key_prefix,
                seal_key,
                clock,
            )?);
            match redis.probe().await {
                Health::Ok => redis.check_eviction_policy().await,
                Health::Unreachable(error) | Health::CannotWrite(error) => {
                    tracing::warn!(%error, "Redis is not ready yet; sign-ins wait for it");
                }
            }
            Ok(Opened {
                stores: idp_store_redis::layer(stores, redis.clone()),
                rotations,
                redis: Some(redis),
            })
        }
        None => {
            if Backend::of(&settings.database_url) == Ok(Backend::Postgres) {
                tracing::warn!(
                    "PostgreSQL without Redis: sessions are shared, but throttling counters are kept per node; set redis_url when running more than one node"
                );
            }
            Ok(Opened {
                stores,
                rotations,
                redis: None,
            })
        }
    }
}
