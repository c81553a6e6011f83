//! In-process stores for what one node may keep in memory (the embedded default).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::store::ThrottleStore;

/// Most failures remembered per key, and keys remembered in all; older entries go first.
const MAX_PER_KEY: usize = 64;
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct MemoryThrottle {
    failures: Mutex<HashMap<String, Vec<UnixTime>>>,
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Corrupt("throttle lock poisoned".into())
}

#[async_trait]
impl ThrottleStore for MemoryThrottle {
    async fn record_failure(
        &self,
        key: &str,
        now: UnixTime,
        window: i64,
    ) -> Result<u32, StoreError> {
        let mut map = self.failures.lock().map_err(poisoned)?;
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, times| times.last().is_some_and(|t| now - t < window));
        }
        let times = map.entry(key.to_owned()).or_default();
        times.retain(|t| now - t < window);
        if times.len() >= MAX_PER_KEY {
            times.remove(0);
        }
        times.push(now);
        Ok(u32::try_from(times.len()).unwrap_or(u32::MAX))
    }

    async fn recent_failures(
        &self,
        key: &str,
        now: UnixTime,
        window: i64,
    ) -> Result<(u32, Option<UnixTime>), StoreError> {
        let map = self.failures.lock().map_err(poisoned)?;
        let Some(times) = map.get(key) else {
            return Ok((0, None));
        };
        let recent: Vec<&UnixTime> = times.iter().filter(|t| now - **t < window).collect();
        Ok((
            u32::try_from(recent.len()).unwrap_or(u32::MAX),
            recent.last().map(|t| **t),
        ))
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.failures.lock().map_err(poisoned)?.remove(key);
        Ok(())
    }
}
