//! Throttling counters and backlogs, each read-modify-write one script.

use super::*;

/// Records an attempt under each key, a sorted set scored by time: drops what fell out of
/// the window, keeps at most ARGV[3], and answers `{count before, latest time or false}` per
/// key, in order; ARGV[3 + i] is the member added under KEYS[i]. A key with nothing recorded
/// (the usual case: a right password clears its keys) costs no more than its ZADD and EXPIRE.
pub(super) const RECORD_ATTEMPTS: &str = r"
local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local answers = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('ZCARD', key)
  local latest = false
  if n > 0 then
    n = n - redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    if n > 0 then latest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2] end
  end
  redis.call('ZADD', key, now, ARGV[3 + i])
  if n + 1 > max then redis.call('ZREMRANGEBYRANK', key, 0, n - max) end
  redis.call('EXPIRE', key, window)
  answers[i] = {n, latest}
end
return answers
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
        let mut answers = self.record_attempts(&[key], now, window).await?;
        answers
            .pop()
            .ok_or_else(|| corrupt("a Redis throttle answer"))
    }

    /// One script for every key: one round trip, each key's count atomic as one alone is.
    async fn record_attempts(
        &self,
        keys: &[&str],
        now: UnixTime,
        window: i64,
    ) -> Result<Vec<(u32, Option<UnixTime>)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let script = redis::Script::new(RECORD_ATTEMPTS);
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(self.key(&["throttle", key]));
        }
        invocation.arg(now).arg(window.max(1)).arg(MAX_PER_KEY);
        for _ in keys {
            invocation.arg(format!("{now}:{}", idp_core::random::random_token(9)));
        }
        let answers: Vec<(i64, Option<String>)> = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        if answers.len() != keys.len() {
            return Err(corrupt("a Redis throttle answer"));
        }
        answers
            .into_iter()
            .map(|(count, latest)| {
                let latest = latest
                    .map(|score| {
                        score
                            .parse::<f64>()
                            .map(|s| s as UnixTime)
                            .map_err(|_| corrupt("redis throttle score"))
                    })
                    .transpose()?;
                Ok((u32::try_from(count).unwrap_or(u32::MAX), latest))
            })
            .collect()
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

    /// One pipeline: each command stands alone (a DEL, a ZPOPMAX), so nothing needs MULTI.
    async fn clear_and_forget_latest(
        &self,
        cleared: &[&str],
        forgotten: &[&str],
    ) -> Result<(), StoreError> {
        if cleared.is_empty() && forgotten.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for key in cleared {
            pipe.del(self.key(&["throttle", key])).ignore();
        }
        for key in forgotten {
            pipe.zpopmax(self.key(&["throttle", key]), 1).ignore();
        }
        pipe.query_async::<()>(&mut self.conn())
            .await
            .map_err(redis_error)
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
