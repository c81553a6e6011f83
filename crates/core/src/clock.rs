//! Time is a parameter: domain code asks a [`Clock`], so tests can move it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch, the unit of every timestamp the provider stores or signs.
pub type UnixTime = i64;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixTime;

    /// Microseconds since the Unix epoch: finer than `now`, to order what is made within one
    /// second.
    fn now_micros(&self) -> u64 {
        u64::try_from(self.now()).map_or(0, |seconds| seconds.saturating_mul(1_000_000))
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place the wall clock is read
    fn now(&self) -> UnixTime {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
    }

    #[allow(clippy::disallowed_methods)] // the wall clock, as `now` reads it
    fn now_micros(&self) -> u64 {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX)
    }
}

/// A clock tests set and advance by hand.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: UnixTime) -> Self {
        Self(Arc::new(AtomicI64::new(start)))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microseconds_agree_with_seconds() {
        let manual = ManualClock::new(1_700_000_000);
        assert_eq!(manual.now_micros(), 1_700_000_000_000_000);
        assert_eq!(ManualClock::new(-5).now_micros(), 0, "before the epoch");
        let (before, micros, after) = (
            SystemClock.now(),
            SystemClock.now_micros(),
            SystemClock.now(),
        );
        let seconds = i64::try_from(micros / 1_000_000).expect("in range");
        assert!(
            (before..=after).contains(&seconds),
            "{before} <= {seconds} <= {after}"
        );
    }
}
