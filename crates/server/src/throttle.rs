//! Slowing guessing and flooding down without locking anyone out.
//!
//! Passwords: a wrong password never locks an account (that would let anyone lock anyone out);
//! instead, after a few free failures, each further try for the same username, or from the
//! same client IP, must wait longer: 1 s, 2 s, 4 s, ... up to 5 minutes. The key is the
//! username as typed, so unknown usernames are slowed exactly like real ones. An attempt is
//! recorded *before* the password is checked, so concurrent guesses cannot all slip through,
//! and forgotten if the hashing queue was full (a busy server turns it away with 503).
//!
//! Codes: at most ten one-time codes an hour are sent for one user, whatever the purpose, so
//! nobody can flood a person's inbox or phone, or get endless fresh codes to guess.
//!
//! Per client IP (`limits.*`): sign-ups, client registrations, recoveries started, PIN tries
//! and code tries, each at most so many in its window, so that one source cannot create
//! accounts or clients in bulk, or spread guesses over many accounts.

use idp_core::StoreError;
use idp_core::random::sha256_b64;

use crate::i18n::Text;
use crate::state::AppState;

/// Password attempts are counted over this window.
const WINDOW_SECS: i64 = 900;
/// Failures allowed per username, and per client IP, before waits begin.
const FREE_PER_ACCOUNT: u32 = 5;
const FREE_PER_IP: u32 = 20;
/// The longest wait.
const MAX_WAIT_SECS: i64 = 300;
/// Codes sent for one user per hour.
const CODES_PER_HOUR: u32 = 10;

fn account_key(username: &str) -> String {
    // A digest bounds the key's size whatever was typed.
    format!(
        "password:user:{}",
        sha256_b64(&username.trim().to_lowercase())
    )
}

fn ip_key(ip: &str) -> String {
    format!("password:ip:{}", network(ip))
}

/// The network an address counts for: an IPv4 address itself (also when written as IPv6),
/// an IPv6 address's /64, which one subscriber usually holds whole.
fn network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        _ => ip.to_owned(),
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Go,
    /// Refuse without checking; try again in this many seconds.
    Wait(i64),
}

/// What a person is told when a password attempt must wait `seconds`.
pub fn wait_message(seconds: i64) -> Text {
    match seconds {
        ..=59 => Text::new("login-throttled-seconds").count("seconds", seconds.max(1)),
        _ => Text::new("login-throttled-minutes").count("minutes", (seconds + 59) / 60),
    }
}

/// Records a password attempt for this username from this IP, and says whether it may be
/// checked. A refused attempt is not counted.
pub async fn password_attempt(
    state: &AppState,
    username: &str,
    ip: Option<&str>,
) -> Result<Verdict, StoreError> {
    let now = state.now();
    let mut keys = vec![(account_key(username), FREE_PER_ACCOUNT)];
    if let Some(ip) = ip {
        keys.push((ip_key(ip), FREE_PER_IP));
    }
    let mut wait = 0;
    for (key, free) in &keys {
        let (before, last) = state
            .stores
            .throttle
            .record_attempt(key, now, WINDOW_SECS)
            .await?;
        if let Some(last) = last {
            wait = wait.max(last + wait_after(before, *free) - now);
        }
    }
    if wait <= 0 {
        return Ok(Verdict::Go);
    }
    for (key, _) in &keys {
        state.stores.throttle.forget_latest(key).await?;
    }
    Ok(Verdict::Wait(wait))
}

/// The password was not checked because the hashing queue was full (the answer is 503): the
/// attempt is forgotten, as a refused one is, so that a busy server does not slow down the
/// people it could not serve. A store failure here is logged, and the 503 still given.
pub async fn password_unchecked(state: &AppState, username: &str, ip: Option<&str>) {
    let mut keys = vec![account_key(username)];
    keys.extend(ip.map(ip_key));
    for key in keys {
        if let Err(error) = state.stores.throttle.forget_latest(&key).await {
            tracing::warn!(%error, "cannot forget a password attempt turned away unchecked");
        }
    }
}

/// The password was right: the username's failures are forgotten, and this attempt does not
/// count against the IP.
pub async fn password_succeeded(
    state: &AppState,
    username: &str,
    ip: Option<&str>,
) -> Result<(), StoreError> {
    state.stores.throttle.clear(&account_key(username)).await?;
    if let Some(ip) = ip {
        state.stores.throttle.forget_latest(&ip_key(ip)).await?;
    }
    Ok(())
}

/// Records a code about to be sent for the user; false (and not recorded) when the hourly
/// limit is reached.
pub async fn may_send_code(state: &AppState, user_id: &str) -> Result<bool, StoreError> {
    let key = format!("codes:{user_id}");
    let (before, _) = state
        .stores
        .throttle
        .record_attempt(&key, state.now(), 3600)
        .await?;
    if before >= CODES_PER_HOUR {
        state.stores.throttle.forget_latest(&key).await?;
        return Ok(false);
    }
    Ok(true)
}

/// What one client IP may do only so often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SignUp,
    Registration,
    Recovery,
    PinTry,
    CodeTry,
}

impl Action {
    /// Its limit (0: none) and window in seconds.
    fn limit(self, state: &AppState) -> (u32, i64) {
        let limits = &state.settings.limits;
        match self {
            Self::SignUp => (limits.signups_per_hour, 3600),
            Self::Registration => (limits.registrations_per_hour, 3600),
            Self::Recovery => (limits.recoveries_per_hour, 3600),
            Self::PinTry => (limits.pin_tries_per_15_minutes, 900),
            Self::CodeTry => (limits.code_tries_per_15_minutes, 900),
        }
    }

    /// Its counter for `ip`'s network.
    fn ip_key(self, ip: &str) -> String {
        format!("{}:ip:{}", self.key(), network(ip))
    }

    fn key(self) -> &'static str {
        match self {
            Self::SignUp => "signup",
            Self::Registration => "register",
            Self::Recovery => "recovery",
            Self::PinTry => "pin",
            Self::CodeTry => "code",
        }
    }
}

/// Records `action` from `ip` and says whether it may go on; over the limit it is refused
/// (and not recorded) with the seconds until one more would be allowed at the limit's pace.
pub async fn per_ip(
    state: &AppState,
    action: Action,
    ip: Option<&str>,
) -> Result<Verdict, StoreError> {
    let (limit, window) = action.limit(state);
    let Some(ip) = ip.filter(|_| limit > 0) else {
        return Ok(Verdict::Go);
    };
    let key = action.ip_key(ip);
    let (before, _) = state
        .stores
        .throttle
        .record_attempt(&key, state.now(), window)
        .await?;
    if before < limit {
        return Ok(Verdict::Go);
    }
    state.stores.throttle.forget_latest(&key).await?;
    Ok(Verdict::Wait((window / i64::from(limit)).max(1)))
}

/// Forgets `action` from `ip`, recorded by `per_ip`, when it was turned away unchecked
/// because the hashing queue was full (503): a busy server costs nobody their allowance. A
/// store failure here is logged, and the 503 still given.
pub async fn per_ip_unchecked(state: &AppState, action: Action, ip: Option<&str>) {
    let (limit, _) = action.limit(state);
    if let Some(ip) = ip.filter(|_| limit > 0)
        && let Err(error) = state
            .stores
            .throttle
            .forget_latest(&action.ip_key(ip))
            .await
    {
        tracing::warn!(%error, action = action.key(), "cannot forget a try turned away unchecked");
    }
}

/// `per_ip` for a page: a refusal is a page that says how long to wait.
pub async fn per_ip_page(
    state: &AppState,
    action: Action,
    ip: Option<&str>,
) -> Result<(), crate::error::PageError> {
    match per_ip(state, action, ip).await? {
        Verdict::Go => Ok(()),
        Verdict::Wait(seconds) => {
            tracing::warn!(action = action.key(), "client IP over its limit");
            Err(crate::error::PageError::TooMany(seconds))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_by_network() {
        assert_eq!(network("203.0.113.9"), "203.0.113.9");
        assert_eq!(network("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(network("2001:db8:1:2:ffff::9"), network("2001:db8:1:2::1"));
        assert_ne!(network("2001:db8:1:3::1"), network("2001:db8:1:2::1"));
    }

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
