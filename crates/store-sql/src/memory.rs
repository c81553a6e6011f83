//! In-process stores for what one node may keep in memory (the embedded default).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::store::ThrottleStore;

/// Most attempts remembered per key, and keys remembered in all (per map).
const MAX_PER_KEY: usize = 64;
const MAX_KEYS: usize = 100_000;
/// The longest window any caller counts over (the hourly limits): a key is dropped to make
/// room only when nothing in it could still count.
const LONGEST_WINDOW: i64 = 3600;

/// Keys that name what a stranger typed (usernames at sign-in) are kept apart from the rest
/// (addresses, accounts): a spray of made-up usernames can only push out other made-up
/// usernames, never an address's hourly count.
#[derive(Default)]
pub struct MemoryThrottle {
    typed: Mutex<HashMap<String, Vec<UnixTime>>>,
    attempts: Mutex<HashMap<String, Vec<UnixTime>>>,
    /// When each key's backlog has drained, in milliseconds.
    backlogs: Mutex<HashMap<String, i64>>,
}

impl MemoryThrottle {
    fn map(&self, key: &str) -> &Mutex<HashMap<String, Vec<UnixTime>>> {
        if key.starts_with("password:user:") {
            &self.typed
        } else {
            &self.attempts
        }
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Corrupt("throttle lock poisoned".into())
}

/// Makes room for one more key: drops keys with nothing in the window, then, if the map is
/// still full (a spray of distinct keys), the tenth whose latest attempt is oldest. Runs only
/// when the map is full, and leaves it at most 90% full.
fn make_room(map: &mut HashMap<String, Vec<UnixTime>>, now: UnixTime) {
    map.retain(|_, times| times.last().is_some_and(|t| now - t < LONGEST_WINDOW));
    if map.len() < MAX_KEYS {
        return;
    }
    let mut latest: Vec<UnixTime> = map.values().filter_map(|t| t.last().copied()).collect();
    let cut = latest.len() / 10;
    let (_, threshold, _) = latest.select_nth_unstable(cut);
    let threshold = *threshold;
    map.retain(|_, times| times.last().is_some_and(|t| *t > threshold));
}

/// Makes room for one more backlog: drops those drained, then, if the map is still full, the
/// tenth that drain soonest.
fn make_backlog_room(map: &mut HashMap<String, i64>, now: i64) {
    map.retain(|_, until| *until > now);
    if map.len() < MAX_KEYS {
        return;
    }
    let mut untils: Vec<i64> = map.values().copied().collect();
    let cut = untils.len() / 10;
    let (_, threshold, _) = untils.select_nth_unstable(cut);
    let threshold = *threshold;
    map.retain(|_, until| *until > threshold);
}

#[async_trait]
impl ThrottleStore for MemoryThrottle {
    async fn record_attempt(
        &self,
        key: &str,
        now: UnixTime,
        window: i64,
    ) -> Result<(u32, Option<UnixTime>), StoreError> {
        let mut map = self.map(key).lock().map_err(poisoned)?;
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            make_room(&mut map, now);
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
        let mut map = self.map(key).lock().map_err(poisoned)?;
        if let Some(times) = map.get_mut(key) {
            times.pop();
            if times.is_empty() {
                map.remove(key);
            }
        }
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.map(key).lock().map_err(poisoned)?.remove(key);
        Ok(())
    }

    async fn add_to_backlog(
        &self,
        key: &str,
        now: i64,
        cost: i64,
        most: Option<i64>,
    ) -> Result<(bool, i64), StoreError> {
        let mut map = self.backlogs.lock().map_err(poisoned)?;
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            make_backlog_room(&mut map, now);
        }
        let from = map.get(key).copied().unwrap_or(now).max(now);
        let until = from.saturating_add(cost);
        if most.is_some_and(|most| until > most) {
            return Ok((false, from));
        }
        map.insert(key.to_owned(), until);
        Ok((true, until))
    }

    async fn backlog_until(&self, key: &str, now: i64) -> Result<i64, StoreError> {
        let map = self.backlogs.lock().map_err(poisoned)?;
        Ok(map.get(key).copied().unwrap_or(now))
    }

    async fn give_back_to_backlog(&self, key: &str, now: i64, cost: i64) -> Result<(), StoreError> {
        let mut map = self.backlogs.lock().map_err(poisoned)?;
        if let Some(until) = map.get_mut(key) {
            *until = until.saturating_sub(cost).max(now);
        }
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
