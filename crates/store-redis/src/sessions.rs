//! Single sign-on sessions, sealed, listed per person.

use super::*;

/// Stores a sealed session (KEYS[1], ARGV[1], for ARGV[2] seconds) and lists it in its
/// person's index (KEYS[2]: ARGV[3] scored by its expiry ARGV[4]), atomically. The index lives
/// as long as the longest session in it: its expiry is set when it has none and only ever
/// lengthened.
pub(super) const CREATE: &str = r"
local seconds = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'EX', seconds)
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
if redis.call('TTL', KEYS[2]) < seconds then redis.call('EXPIRE', KEYS[2], seconds) end
return 1
";

#[async_trait]
impl SessionStore for RedisStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let json = serde_json::to_string(session).map_err(StoreError::backend)?;
        let seconds = ttl(session.expires_at, session.created_at);
        let key = self.session_key(&session.id_hash);
        let sealed = format!("{}.{json}", self.seal(&key, &[&json]));
        let index = self.user_sessions_key(&session.user_id);
        redis::Script::new(CREATE)
            .key(&key)
            .key(&index)
            .arg(sealed)
            .arg(seconds)
            .arg(&session.id_hash)
            .arg(session.expires_at)
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map_err(redis_error)
            .map(drop)
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

    /// The session's person is known (it was read sealed, or made here): one MULTI.
    async fn delete_found_session(&self, session: &Session) -> Result<(), StoreError> {
        redis::pipe()
            .atomic()
            .del(self.session_key(&session.id_hash))
            .ignore()
            .zrem(self.user_sessions_key(&session.user_id), &session.id_hash)
            .ignore()
            .query_async::<()>(&mut self.conn())
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
        // Ended sessions leave the index and the live ones are read in one round trip.
        let (ids,): (Vec<String>,) = redis::pipe()
            .zrembyscore(&index, "-inf", now)
            .ignore()
            .zrangebyscore(&index, format!("({now}"), "+inf")
            .query_async(&mut conn)
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
