//! Slowing password guessing without locking anyone out. A wrong password never locks an
//! account (that would let anyone lock anyone out); instead, after a few free failures, each
//! further try for the same username, or from the same client IP, must wait longer: 1 s, 2 s,
//! 4 s, ... up to 5 minutes. The key is the username as typed, so unknown usernames are slowed
//! exactly like real ones.

use idp_core::StoreError;

use crate::state::AppState;

/// Failures are counted over this window.
const WINDOW_SECS: i64 = 900;
/// Failures allowed per username, and per client IP, before waits begin.
const FREE_PER_ACCOUNT: u32 = 5;
const FREE_PER_IP: u32 = 20;
/// The longest wait.
const MAX_WAIT_SECS: i64 = 300;

fn account_key(username: &str) -> String {
    format!("password:user:{}", username.trim().to_lowercase())
}

fn ip_key(ip: &str) -> String {
    format!("password:ip:{ip}")
}

/// The wait after `failures` failures of which `free` cost nothing.
fn wait_after(failures: u32, free: u32) -> i64 {
    match failures.checked_sub(free) {
        None => 0,
        Some(extra) => 1i64
            .checked_shl(extra.min(20))
            .unwrap_or(MAX_WAIT_SECS)
            .min(MAX_WAIT_SECS),
    }
}

/// Seconds to wait before this username may try a password from this IP again (0: now).
pub async fn password_wait(
    state: &AppState,
    username: &str,
    ip: Option<&str>,
) -> Result<i64, StoreError> {
    let now = state.now();
    let mut wait = 0;
    let mut keys = vec![(account_key(username), FREE_PER_ACCOUNT)];
    if let Some(ip) = ip {
        keys.push((ip_key(ip), FREE_PER_IP));
    }
    for (key, free) in keys {
        let (failures, last) = state
            .stores
            .throttle
            .recent_failures(&key, now, WINDOW_SECS)
            .await?;
        if let Some(last) = last {
            wait = wait.max(last + wait_after(failures, free) - now);
        }
    }
    Ok(wait)
}

pub async fn password_failed(
    state: &AppState,
    username: &str,
    ip: Option<&str>,
) -> Result<(), StoreError> {
    let now = state.now();
    state
        .stores
        .throttle
        .record_failure(&account_key(username), now, WINDOW_SECS)
        .await?;
    if let Some(ip) = ip {
        state
            .stores
            .throttle
            .record_failure(&ip_key(ip), now, WINDOW_SECS)
            .await?;
    }
    Ok(())
}

pub async fn password_succeeded(state: &AppState, username: &str) -> Result<(), StoreError> {
    state.stores.throttle.clear(&account_key(username)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_and_stop_growing() {
        assert_eq!(wait_after(4, 5), 0);
        assert_eq!(wait_after(5, 5), 1);
        assert_eq!(wait_after(6, 5), 2);
        assert_eq!(wait_after(9, 5), 16);
        assert_eq!(wait_after(14, 5), MAX_WAIT_SECS);
        assert_eq!(wait_after(u32::MAX, 5), MAX_WAIT_SECS);
    }
}
