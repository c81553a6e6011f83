//! Short-lived and single-use records, sealed; consumed in one script.

use super::*;

/// Marks a live record consumed: `{1, payload, expiry, seal}` the first time, `{2, ...}` when
/// it was consumed before, `{0}` when it is missing or expired. The caller checks the seal.
pub(super) const CONSUME: &str = r"
local v = redis.call('HMGET', KEYS[1], 'p', 'e', 'm', 'c')
if not v[1] then return {0} end
if v[4] then return {2, v[1], v[2], v[3]} end
if tonumber(v[2]) <= tonumber(ARGV[1]) then return {0} end
redis.call('HSET', KEYS[1], 'c', ARGV[1])
return {1, v[1], v[2], v[3]}
";

/// Stores a record's payload, expiry and seal (ARGV[1..3]) and keeps the key ARGV[4] seconds;
/// a consumed mark (`c`) stays. One script: atomic as a MULTI, with two commands fewer.
pub(super) const PUT: &str = r"
redis.call('HSET', KEYS[1], 'p', ARGV[1], 'e', ARGV[2], 'm', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
";

/// A record's fields as HMGET returns them: payload, expiry, seal, consumed.
pub(super) type Fields = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl RedisStore {
    /// A record's payload, once its seal is verified.
    pub(super) fn open_record(
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
        let seal = self.seal(&key, &[&payload, &expires]);
        redis::Script::new(PUT)
            .key(&key)
            .arg(payload)
            .arg(expires)
            .arg(seal)
            .arg(ttl(keep_until, now))
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map_err(redis_error)
            .map(drop)
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

    /// One `SET NX`: the first caller creates the key, every other finds it.
    async fn first_use(
        &self,
        kind: EphemeralKind,
        id: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let set: Option<String> = redis::cmd("SET")
            .arg(self.record_key(kind, id))
            .arg("1")
            .arg("NX")
            .arg("EX")
            .arg(ttl(expires_at, now))
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(set.is_some())
    }

    /// Redis expires records by itself.
    async fn purge_expired(&self, _before: UnixTime) -> Result<u64, StoreError> {
        Ok(0)
    }
}
