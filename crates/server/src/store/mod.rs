//! The storage backends. Domain code sees only the traits of `idp_core::store`; this module
//! is the one place that knows sqlx (and rusqlite, for the SQLite statements of the token
//! endpoint that run on the calling thread: see `direct`).

pub mod cache;
mod direct;
pub mod memory;
pub mod redis;
pub mod sql;
mod writer;

#[cfg(test)]
mod contract;

use std::sync::Arc;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::{Clock, UnixTime};
use idp_core::model::{Consumed, EphemeralKind};
use idp_core::store::{
    AuditStore, ClientStore, CodeStore, ConsentStore, DeviceStore, EphemeralStore, GrantStore,
    Health, HealthCheck, KeyStore, LeaseStore, OutboxStore, PinAttemptStore, SessionStore,
    ThrottleStore, UserStore,
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
    /// What readiness asks, by the name it reports each under (`database`, `redis`).
    pub health: Vec<(&'static str, Arc<dyn HealthCheck>)>,
    pub leases: Arc<dyn LeaseStore>,
    /// Failure counters for throttling; in memory on the embedded default.
    pub throttle: Arc<dyn ThrottleStore>,
    /// Redis, where configured: it also carries key-change notifications between nodes.
    pub redis: Option<Arc<redis::RedisStore>>,
}

impl Stores {
    /// Opens the database named by the settings, applies pending migrations, and connects to
    /// Redis when it is configured; `seal_key` seals what Redis holds.
    pub async fn open(
        settings: &Settings,
        seal_key: [u8; 32],
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let stores =
            Self::open_url(&settings.database_url, settings.database_max_connections).await?;
        match &settings.redis_url {
            Some(url) => {
                let redis =
                    redis::RedisStore::open(url, &settings.redis_key_prefix, seal_key, clock)?;
                match redis.probe().await {
                    Health::Ok => redis.check_eviction_policy().await,
                    Health::Unreachable(error) | Health::CannotWrite(error) => {
                        tracing::warn!(%error, "Redis is not ready yet; sign-ins wait for it");
                    }
                }
                Ok(stores.with_redis(Arc::new(redis)))
            }
            None => {
                if sql::Backend::of(&settings.database_url) == Ok(sql::Backend::Postgres) {
                    tracing::warn!(
                        "PostgreSQL without Redis: sessions are shared, but throttling counters are kept per node; set redis_url when running more than one node"
                    );
                }
                Ok(stores)
            }
        }
    }

    /// The database alone (and this node's memory for throttling).
    pub async fn open_url(database_url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let db = Arc::new(sql::SqlStore::open(database_url, max_connections).await?);
        db.migrate().await?;
        Ok(Self {
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
            redis: None,
        })
    }

    /// Moves sessions, short-lived records and throttling to Redis, shared by every node;
    /// durable records stay in the database.
    pub fn with_redis(self, redis: Arc<redis::RedisStore>) -> Self {
        Self {
            sessions: redis.clone(),
            ephemeral: Arc::new(SplitEphemeral {
                durable: self.ephemeral,
                cache: redis.clone(),
            }),
            throttle: redis.clone(),
            health: self
                .health
                .into_iter()
                .chain([("redis", redis.clone() as Arc<dyn HealthCheck>)])
                .collect(),
            redis: Some(redis),
            ..self
        }
    }
}

/// Short-lived records in the cache, the ones that must survive a cache restart (refresh
/// tokens, revocations, initial access tokens) in the database.
struct SplitEphemeral {
    durable: Arc<dyn EphemeralStore>,
    cache: Arc<dyn EphemeralStore>,
}

impl SplitEphemeral {
    fn store(&self, kind: EphemeralKind) -> &dyn EphemeralStore {
        if kind.is_durable() {
            self.durable.as_ref()
        } else {
            self.cache.as_ref()
        }
    }
}

#[async_trait]
impl EphemeralStore for SplitEphemeral {
    async fn put(
        &self,
        kind: EphemeralKind,
        id: &str,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        self.store(kind).put(kind, id, payload, expires_at).await
    }

    async fn get(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.store(kind).get(kind, id, now).await
    }

    async fn consume(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Consumed, StoreError> {
        self.store(kind).consume(kind, id, now).await
    }

    async fn delete(&self, kind: EphemeralKind, id: &str) -> Result<(), StoreError> {
        self.store(kind).delete(kind, id).await
    }

    async fn purge_expired(&self, before: UnixTime) -> Result<u64, StoreError> {
        Ok(self.durable.purge_expired(before).await? + self.cache.purge_expired(before).await?)
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Connection as _;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_meets_the_storage_contract() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("contract.db").display());
        let stores = super::Stores::open_url(&url, 8).await.unwrap();
        super::contract::rotations_wait_for_a_revocation_under_way(&stores, &url).await;
        super::contract::run_all(stores).await;
    }

    /// A new, empty database on the PostgreSQL server at `base`: its name and URL.
    async fn fresh_postgres(base: &str) -> (String, String) {
        let name = format!("idp_unit_{}", uuid_like());
        let mut admin = sqlx::PgConnection::connect(base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let mut url = url::Url::parse(base).unwrap();
        url.set_path(&name);
        (name, url.to_string())
    }

    fn uuid_like() -> String {
        use rand::Rng as _;
        format!("{:016x}", rand::rng().random::<u64>())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_meets_the_storage_contract() {
        let Ok(base) = std::env::var("IDP_TEST_POSTGRES_URL") else {
            eprintln!("skipped: IDP_TEST_POSTGRES_URL is not set");
            return;
        };
        let (name, url) = fresh_postgres(&base).await;
        let stores = super::Stores::open_url(&url, 16).await.unwrap();
        super::contract::rotations_wait_for_a_revocation_under_way(&stores, &url).await;
        super::contract::run_all(stores).await;
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        let drop = format!("DROP DATABASE {name} WITH (FORCE)");
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut admin)
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_meets_the_cache_contract() {
        let Ok(redis_url) = std::env::var("IDP_TEST_REDIS_URL") else {
            eprintln!("skipped: IDP_TEST_REDIS_URL is not set");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("contract.db").display());
        let prefix = format!("idp-unit-{}:", uuid_like());
        // The contract's times are around 1000; the clock says when "now" is for expiry.
        let clock = std::sync::Arc::new(idp_core::clock::ManualClock::new(1000));
        let redis = super::redis::RedisStore::open(&redis_url, &prefix, [7; 32], clock).unwrap();
        let stores = super::Stores::open_url(&url, 8)
            .await
            .unwrap()
            .with_redis(std::sync::Arc::new(redis));
        super::contract::run_cache_rules(&stores).await;

        // Whoever can write to Redis cannot forge or alter a session: it is refused.
        let session = idp_core::model::Session {
            id_hash: "sealed".into(),
            sid: "sid-sealed".into(),
            user_id: "victim".into(),
            auth_time: 1000,
            acr: "acr".into(),
            amr: vec!["pwd".into()],
            created_at: 1000,
            expires_at: 5000,
            ip: None,
            user_agent: None,
            credential_epoch: 3,
        };
        stores.sessions.create_session(&session).await.unwrap();
        let client = ::redis::Client::open(redis_url.as_str()).unwrap();
        let mut raw = client.get_multiplexed_async_connection().await.unwrap();
        let key = format!("{prefix}session:sealed");
        let stored: String = ::redis::AsyncCommands::get(&mut raw, &key).await.unwrap();
        let forged = stored.replace("\"victim\"", "\"admin\"");
        let _: () = ::redis::AsyncCommands::set(&mut raw, &key, forged)
            .await
            .unwrap();
        assert!(matches!(
            stores.sessions.find_session("sealed", 1500).await,
            Err(idp_core::StoreError::Corrupt(_))
        ));
        let moved = format!("{prefix}session:other");
        let _: () = ::redis::AsyncCommands::set(&mut raw, &moved, stored)
            .await
            .unwrap();
        assert!(
            stores.sessions.find_session("other", 1500).await.is_err(),
            "a session copied under another cookie is refused"
        );
    }
}
