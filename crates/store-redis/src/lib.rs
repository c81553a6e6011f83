//! Redis, shared by every node: SSO sessions, the short-lived single-use records
//! (interactions, pending sign-ups, authorization codes, client-assertion `jti`s, pushed
//! requests), throttling counters, and key-change notifications. Every read-modify-write is
//! one Lua script or one MULTI, so it is atomic across nodes.
//!
//! Records the provider cannot afford to lose (users, PIN tries, refresh tokens, revocations,
//! client-assertion `jti`s, keys) stay in the database: a Redis restart signs people out and
//! voids sign-ins in progress, and nothing more.
//!
//! Every session and record is sealed with an HMAC (a key derived from the master key) over
//! its Redis key and its content, so that whoever can write to Redis still cannot forge a
//! session, move one to another cookie, or change a sign-in in progress: a record that does
//! not verify is refused as corrupt.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt as _;
use hmac::{Hmac, Mac as _};
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{Consumed, EphemeralKind, Session};
use idp_core::store::{EphemeralStore, Health, HealthCheck, SessionStore, ThrottleStore};
use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::Sha256;

mod layer;
pub use layer::layer;

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

/// Marks a live record consumed: `{1, payload, expiry, seal}` the first time, `{2, ...}` when
/// it was consumed before, `{0}` when it is missing or expired. The caller checks the seal.
const CONSUME: &str = r"
local v = redis.call('HMGET', KEYS[1], 'p', 'e', 'm', 'c')
if not v[1] then return {0} end
if v[4] then return {2, v[1], v[2], v[3]} end
if tonumber(v[2]) <= tonumber(ARGV[1]) then return {0} end
redis.call('HSET', KEYS[1], 'c', ARGV[1])
return {1, v[1], v[2], v[3]}
";

/// Records an attempt in a sorted set scored by time: drops what fell out of the window,
/// returns `{count before, latest time or false}`, keeps at most MAX_PER_KEY.
const RECORD_ATTEMPT: &str = r"
local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('ZADD', KEYS[1], now, ARGV[3])
if n + 1 > max then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - max) end
redis.call('EXPIRE', KEYS[1], window)
return {n, latest[2] or false}
";

/// Adds ARGV[2] ms to a backlog that drains in real time, unless ARGV[3] (not negative) is
/// passed; the key expires when the backlog has drained.
const ADD_TO_BACKLOG: &str = r"
local now, cost, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local drained = tonumber(redis.call('GET', KEYS[1]) or '0')
if drained < now then drained = now end
if most >= 0 and drained + cost > most then return {0, drained} end
drained = drained + cost
redis.call('SET', KEYS[1], string.format('%.0f', drained), 'PX', math.max(drained - now, 1))
return {1, drained}
";

const GIVE_BACK_TO_BACKLOG: &str = r"
local now, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local drained = tonumber(redis.call('GET', KEYS[1]) or '0')
if drained - cost <= now then redis.call('DEL', KEYS[1]) return 0 end
drained = drained - cost
redis.call('SET', KEYS[1], string.format('%.0f', drained), 'PX', math.max(drained - now, 1))
return 1
";

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

    fn key_channel(&self) -> String {
        self.key(&["keys-changed"])
    }

    /// Tells every node that the signing keys changed.
    pub async fn publish_key_change(&self) -> Result<(), StoreError> {
        let _receivers: i64 = self
            .conn()
            .publish(self.key_channel(), "changed")
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    /// Calls `on_change` whenever a node says the signing keys changed, and once after each
    /// (re)subscription, since notices sent while unsubscribed are lost. Runs until the
    /// process ends, resubscribing after a lost connection.
    pub async fn watch_key_changes<F, Fut>(&self, on_change: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        loop {
            match self.client.get_async_pubsub().await {
                Ok(mut pubsub) => {
                    if let Err(error) = pubsub.subscribe(self.key_channel()).await {
                        tracing::warn!(%error, "subscribing to key changes failed");
                    } else {
                        on_change().await;
                        let mut messages = pubsub.on_message();
                        while messages.next().await.is_some() {
                            on_change().await;
                        }
                        tracing::warn!("lost the key-change subscription; resubscribing");
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot subscribe to key changes"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
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

#[async_trait]
impl SessionStore for RedisStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let json = serde_json::to_string(session).map_err(StoreError::backend)?;
        let seconds = ttl(session.expires_at, session.created_at);
        let key = self.session_key(&session.id_hash);
        let sealed = format!("{}.{json}", self.seal(&key, &[&json]));
        let index = self.user_sessions_key(&session.user_id);
        // The index lives as long as the longest session in it: its expiry only ever grows
        // (NX sets the first, GT lengthens it).
        redis::pipe()
            .atomic()
            .set_ex(&key, sealed, seconds)
            .ignore()
            .zadd(&index, &session.id_hash, session.expires_at)
            .ignore()
            .cmd("EXPIRE")
            .arg(&index)
            .arg(seconds)
            .arg("NX")
            .ignore()
            .cmd("EXPIRE")
            .arg(&index)
            .arg(seconds)
            .arg("GT")
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(redis_error)
    }

    async fn find_session(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<Option<Session>, StoreError> {
        let key = self.session_key(id_hash);
        let stored: Option<String> = self.conn().get(&key).await.map_err(redis_error)?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let session = self.open_session(&key, &stored)?;
        Ok((session.expires_at > now).then_some(session))
    }

    async fn restamp_session(
        &self,
        id_hash: &str,
        credential_epoch: i64,
    ) -> Result<(), StoreError> {
        let key = self.session_key(id_hash);
        let stored: Option<String> = self.conn().get(&key).await.map_err(redis_error)?;
        let Some(stored) = stored else {
            return Ok(());
        };
        let mut session = self.open_session(&key, &stored)?;
        session.credential_epoch = credential_epoch;
        let json = serde_json::to_string(&session).map_err(StoreError::backend)?;
        let sealed = format!("{}.{json}", self.seal(&key, &[&json]));
        // Only while it lives, and for the time it had left.
        redis::cmd("SET")
            .arg(&key)
            .arg(sealed)
            .arg("XX")
            .arg("KEEPTTL")
            .query_async::<Option<String>>(&mut self.conn())
            .await
            .map_err(redis_error)
            .map(drop)
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let key = self.session_key(id_hash);
        let stored: Option<String> = self.conn().get(&key).await.map_err(redis_error)?;
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        if let Some(session) = stored.and_then(|s| self.open_session(&key, &s).ok()) {
            pipe.zrem(self.user_sessions_key(&session.user_id), id_hash)
                .ignore();
        }
        pipe.query_async::<()>(&mut self.conn())
            .await
            .map_err(redis_error)
    }

    async fn list_sessions(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Vec<Session>, StoreError> {
        let index = self.user_sessions_key(user_id);
        let mut conn = self.conn();
        let _: i64 = conn
            .zrembyscore(&index, "-inf", now)
            .await
            .map_err(redis_error)?;
        let ids: Vec<String> = conn
            .zrangebyscore(&index, format!("({now}"), "+inf")
            .await
            .map_err(redis_error)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.session_key(id)).collect();
        let found: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        let mut sessions = Vec::with_capacity(found.len());
        for (key, stored) in keys.iter().zip(found) {
            let Some(stored) = stored else { continue };
            let session = self.open_session(key, &stored)?;
            if session.expires_at > now {
                sessions.push(session);
            }
        }
        sessions.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.sid.cmp(&b.sid))
        });
        Ok(sessions)
    }

    /// Redis expires sessions by itself.
    async fn purge_expired_sessions(&self, _before: UnixTime) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// A record's fields as HMGET returns them: payload, expiry, seal, consumed.
type Fields = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl RedisStore {
    /// A record's payload, once its seal is verified.
    fn open_record(
        &self,
        key: &str,
        payload: &str,
        expires: &str,
        seal: &str,
    ) -> Result<serde_json::Value, StoreError> {
        self.verify(key, &[payload, expires], seal)?;
        serde_json::from_str(payload).map_err(|_| corrupt("a Redis record's payload"))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl EphemeralStore for RedisStore {
    async fn put(
        &self,
        kind: EphemeralKind,
        id: &str,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let key = self.record_key(kind, id);
        let (payload, expires) = (payload.to_string(), expires_at.to_string());
        let now = self.clock.now();
        // A consumed code is remembered a while past its expiry to recognise a late replay.
        let keep_until = if kind == EphemeralKind::AuthorizationCode {
            expires_at.saturating_add(CODE_REPLAY_MEMORY_SECS)
        } else {
            expires_at
        };
        // A consumed record stays consumed (a replayed assertion `jti` is put again first).
        redis::pipe()
            .atomic()
            .hset_multiple(
                &key,
                &[
                    ("p", payload.clone()),
                    ("e", expires.clone()),
                    ("m", self.seal(&key, &[&payload, &expires])),
                ],
            )
            .ignore()
            .expire(
                &key,
                i64::try_from(ttl(keep_until, now)).unwrap_or(i64::MAX),
            )
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(redis_error)
    }

    async fn get(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let key = self.record_key(kind, id);
        let (payload, expires, seal, consumed): Fields = redis::cmd("HMGET")
            .arg(&key)
            .arg(&["p", "e", "m", "c"])
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        let (Some(payload), Some(expires), Some(seal), None) = (payload, expires, seal, consumed)
        else {
            return Ok(None);
        };
        let value = self.open_record(&key, &payload, &expires, &seal)?;
        Ok((expires.parse::<i64>().unwrap_or(0) > now).then_some(value))
    }

    async fn consume(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Consumed, StoreError> {
        let key = self.record_key(kind, id);
        let answer: Vec<String> = redis::Script::new(CONSUME)
            .key(&key)
            .arg(now)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        let (state, record) = match answer.as_slice() {
            [state, payload, expires, seal] => (
                state.as_str(),
                Some(self.open_record(&key, payload, expires, seal)?),
            ),
            [state] => (state.as_str(), None),
            _ => return Err(corrupt("a Redis consume answer")),
        };
        Ok(match (state, record) {
            ("1", Some(value)) => Consumed::Fresh(value),
            ("2", Some(value)) => Consumed::Replayed(value),
            _ => Consumed::Missing,
        })
    }

    async fn delete(&self, kind: EphemeralKind, id: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .conn()
            .del(self.record_key(kind, id))
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    /// Redis expires records by itself.
    async fn purge_expired(&self, _before: UnixTime) -> Result<u64, StoreError> {
        Ok(0)
    }
}

#[async_trait]
impl ThrottleStore for RedisStore {
    async fn record_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window: i64,
    ) -> Result<(u32, Option<UnixTime>), StoreError> {
        let member = format!("{now}:{}", idp_core::random::random_token(9));
        let (count, latest): (i64, Option<String>) = redis::Script::new(RECORD_ATTEMPT)
            .key(self.key(&["throttle", key]))
            .arg(now)
            .arg(window.max(1))
            .arg(member)
            .arg(MAX_PER_KEY)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        let latest = latest
            .map(|score| {
                score
                    .parse::<f64>()
                    .map(|s| s as UnixTime)
                    .map_err(|_| corrupt("redis throttle score"))
            })
            .transpose()?;
        Ok((u32::try_from(count).unwrap_or(u32::MAX), latest))
    }

    async fn forget_latest(&self, key: &str) -> Result<(), StoreError> {
        let _: Vec<String> = self
            .conn()
            .zpopmax(self.key(&["throttle", key]), 1)
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .conn()
            .del(self.key(&["throttle", key]))
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn add_to_backlog(
        &self,
        key: &str,
        now: i64,
        cost: i64,
        most: Option<i64>,
    ) -> Result<(bool, i64), StoreError> {
        let (added, until): (i64, i64) = redis::Script::new(ADD_TO_BACKLOG)
            .key(self.key(&["backlog", key]))
            .arg(now)
            .arg(cost.max(0))
            .arg(most.map_or(-1, |most| most.max(0)))
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok((added == 1, until))
    }

    async fn give_back_to_backlog(&self, key: &str, now: i64, cost: i64) -> Result<(), StoreError> {
        let _: i64 = redis::Script::new(GIVE_BACK_TO_BACKLOG)
            .key(self.key(&["backlog", key]))
            .arg(now)
            .arg(cost.max(0))
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn backlog_until(&self, key: &str, now: i64) -> Result<i64, StoreError> {
        let until: Option<String> = self
            .conn()
            .get(self.key(&["backlog", key]))
            .await
            .map_err(redis_error)?;
        match until {
            None => Ok(now),
            Some(until) => until
                .parse::<i64>()
                .map_err(|_| corrupt("redis throttle backlog")),
        }
    }
}
