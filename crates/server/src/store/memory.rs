//! In-process stores for what one node may keep in memory (the embedded default).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::store::ThrottleStore;

/// Most attempts remembered per key, and keys remembered in all.
const MAX_PER_KEY: usize = 64;
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct MemoryThrottle {
    attempts: Mutex<HashMap<String, Vec<UnixTime>>>,
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Corrupt("throttle lock poisoned".into())
}

/// Makes room for one more key: drops keys with nothing in the window, then, if the map is
/// still full (a spray of distinct keys), the tenth whose latest attempt is oldest. Runs only
/// when the map is full, and leaves it at most 90% full.
fn make_room(map: &mut HashMap<String, Vec<UnixTime>>, now: UnixTime, window: i64) {
    map.retain(|_, times| times.last().is_some_and(|t| now - t < window));
    if map.len() < MAX_KEYS {
        return;
    }
    let mut latest: Vec<UnixTime> = map.values().filter_map(|t| t.last().copied()).collect();
    let cut = latest.len() / 10;
    let (_, threshold, _) = latest.select_nth_unstable(cut);
    let threshold = *threshold;
    map.retain(|_, times| times.last().is_some_and(|t| *t > threshold));
}

#[async_trait]
impl ThrottleStore for MemoryThrottle {
    async fn record_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window: i64,
    ) -> Result<(u32, Option<UnixTime>), StoreError> {
        let mut map = self.attempts.lock().map_err(poisoned)?;
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            make_room(&mut map, now, window);
        }
        let times = map.entry(key.to_owned()).or_default();
        times.retain(|t| now - t < window);
        let before = (
            u32::try_from(times.len()).unwrap_or(u32::MAX),
            times.last().copied(),
        );
        if times.len() >= MAX_PER_KEY {
            times.remove(0);
        }
        times.push(now);
        Ok(before)
    }

    async fn forget_latest(&self, key: &str) -> Result<(), StoreError> {
        let mut map = self.attempts.lock().map_err(poisoned)?;
        if let Some(times) = map.get_mut(key) {
            times.pop();
        }
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.attempts.lock().map_err(poisoned)?.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_map_never_holds_more_than_its_bound() {
        let throttle = MemoryThrottle::default();
        for i in 0..(MAX_KEYS + 5_000) {
            throttle
                .record_attempt(&format!("k{i}"), 100, 900)
                .await
                .unwrap();
        }
        let map = throttle.attempts.lock().unwrap();
        assert!(map.len() <= MAX_KEYS, "{}", map.len());
    }
}
