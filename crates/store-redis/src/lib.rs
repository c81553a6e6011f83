//! Redis, shared by every node: SSO sessions, the short-lived single-use records
//! (interactions, pending sign-ups, authorization codes, client-assertion `jti`s, pushed
//! requests), throttling counters, and the notices that tell every node of a change (signing
//! keys; revocations, see [`revocations`]). Every read-modify-write is
//! one Lua script or one MULTI, so it is atomic across nodes.
//!
//! Records the provider cannot afford to lose (users, PIN tries, refresh tokens, revocations,
//! client-assertion `jti`s, keys) stay in the database: a Redis restart signs people out and
//! voids sign-ins in progress, and nothing more.
//!
//! Every session and record is sealed with an HMAC (a key derived from the master key) over
//! its Redis key and its content, so that whoever can write to Redis still cannot forge a
//! session, move one to another cookie, or change a sign-in in progress: a record that does
//! not verify is refused as corrupt. Revocation notices are sealed alike (`notices`); a notice
//! that the signing keys changed is not, since all it does is have nodes read them again.

use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac as _};
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{Consumed, EphemeralKind, Session};
use idp_core::store::{EphemeralStore, Health, HealthCheck, SessionStore, ThrottleStore};
use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::Sha256;

mod layer;
mod notices;
mod records;
pub mod revocations;
mod sessions;
mod throttle;
mod watched;
pub use layer::layer;
use revocations::View;

/// How long a consumed authorization code is remembered past its expiry, so that a late
/// replay is still recognised and revokes what the code issued.
const CODE_REPLAY_MEMORY_SECS: i64 = 3600;

/// Most attempts remembered per throttling key.
const MAX_PER_KEY: i64 = 64;

/// A Redis command that takes longer than this fails (and the request with it, closed).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

pub struct RedisStore {
    /// Seals what is stored (see the module's documentation).
    seal_key: [u8; 32],
    clock: std::sync::Arc<dyn idp_core::clock::Clock>,
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    /// What this node holds of revocations while it hears of them.
    view: std::sync::Arc<View>,
}

fn redis_error(error: redis::RedisError) -> StoreError {
    // Down, starting (LOADING), a replica or a primary failing over: it may be back soon.
    let transient = matches!(
        error.kind(),
        redis::ErrorKind::Server(
            redis::ServerErrorKind::BusyLoading
                | redis::ServerErrorKind::ReadOnly
                | redis::ServerErrorKind::MasterDown
                | redis::ServerErrorKind::TryAgain
        )
    );
    if transient
        || error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
    {
        StoreError::Unavailable(error.to_string())
    } else {
        StoreError::backend(error)
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// Seconds from `now` until `at`, at least one (Redis refuses a zero expiry).
fn ttl(at: UnixTime, now: UnixTime) -> u64 {
    u64::try_from(at.saturating_sub(now)).unwrap_or(0).max(1)
}

impl RedisStore {
    /// Connects lazily: a node starts while Redis is down, refuses what needs it (503), and
    /// recovers by itself when Redis returns.
    pub fn open(
        url: &str,
        prefix: &str,
        seal_key: [u8; 32],
        clock: std::sync::Arc<dyn idp_core::clock::Clock>,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::backend)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(StoreError::backend)?;
        Ok(Self {
            seal_key,
            clock,
            client,
            conn,
            prefix: prefix.to_owned(),
            view: std::sync::Arc::default(),
        })
    }

    /// The seal of `parts` stored under `key`: HMAC-SHA256, hex.
    fn seal(&self, key: &str, parts: &[&str]) -> String {
        let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.seal_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(key.as_bytes());
        for part in parts {
            mac.update(&[0]);
            mac.update(part.as_bytes());
        }
        hex(&mac.finalize().into_bytes())
    }

    /// Whether `seal` is the seal of `parts` under `key`, compared in constant time.
    fn verify(&self, key: &str, parts: &[&str], seal: &str) -> Result<(), StoreError> {
        let expected = self.seal(key, parts);
        if subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), seal.as_bytes()).into() {
            Ok(())
        } else {
            tracing::error!(key, "a Redis record does not carry its seal; refused");
            Err(corrupt("a Redis record's seal"))
        }
    }

    /// Reads a sealed session: `SEAL.JSON`.
    fn open_session(&self, key: &str, stored: &str) -> Result<Session, StoreError> {
        let (seal, json) = stored
            .split_once('.')
            .ok_or_else(|| corrupt("a Redis session"))?;
        self.verify(key, &[json], seal)?;
        serde_json::from_str(json).map_err(|_| corrupt("a Redis session"))
    }

    /// Warns when Redis may evict keys: an evicted sign-in in progress fails closed, but the
    /// operator should know that memory, not time, is deciding.
    pub async fn check_eviction_policy(&self) {
        let answer: Result<Vec<String>, _> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query_async(&mut self.conn())
            .await;
        if let Ok(pair) = answer
            && let Some(policy) = pair.get(1)
            && policy != "noeviction"
        {
            tracing::warn!(
                policy,
                "Redis evicts keys under memory pressure; set maxmemory-policy noeviction so that sessions and sign-ins in progress end only when they expire"
            );
        }
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    fn session_key(&self, id_hash: &str) -> String {
        self.key(&["session", id_hash])
    }

    fn user_sessions_key(&self, user_id: &str) -> String {
        self.key(&["user-sessions", user_id])
    }

    fn record_key(&self, kind: EphemeralKind, id: &str) -> String {
        self.key(&["eph", kind.as_str(), id])
    }
}

#[async_trait]
impl HealthCheck for RedisStore {
    async fn probe(&self) -> Health {
        // A write, so that a Redis that answers but takes no writes (out of memory, a replica
        // after a failover) shows as what it is.
        let written: Result<(), redis::RedisError> = redis::cmd("SET")
            .arg(self.key(&["readiness"]))
            .arg(1)
            .arg("EX")
            .arg(60)
            .query_async(&mut self.conn())
            .await;
        match written {
            Ok(()) => Health::Ok,
            Err(error)
                if error.is_io_error()
                    || error.is_timeout()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal() =>
            {
                Health::Unreachable(error.to_string())
            }
            Err(error) => Health::CannotWrite(error.to_string()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
