//! Throttling counters and backlogs, each read-modify-write one script.

use super::*;

/// Records an attempt in a sorted set scored by time: drops what fell out of the window,
/// returns `{count before, latest time or false}`, keeps at most MAX_PER_KEY.
pub(super) const RECORD_ATTEMPT: &str = r"
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
pub(super) const ADD_TO_BACKLOG: &str = r"
local now, cost, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local drained = tonumber(redis.call('GET', KEYS[1]) or '0')
if drained < now then drained = now end
if most >= 0 and drained + cost > most then return {0, drained} end
drained = drained + cost
redis.call('SET', KEYS[1], string.format('%.0f', drained), 'PX', math.max(drained - now, 1))
return {1, drained}
";

pub(super) const GIVE_BACK_TO_BACKLOG: &str = r"
local now, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local drained = tonumber(redis.call('GET', KEYS[1]) or '0')
if drained - cost <= now then redis.call('DEL', KEYS[1]) return 0 end
drained = drained - cost
redis.call('SET', KEYS[1], string.format('%.0f', drained), 'PX', math.max(drained - now, 1))
return 1
";

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
