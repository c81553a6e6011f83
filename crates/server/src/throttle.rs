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
//! nobody can flood a person's inbox or phone, or get endless fresh codes to guess; a password
//! reset's codes, which a stranger who knows the username can ask for, have ten of their own.
//!
//! Per client IP (`limits.*`): sign-ups, client registrations and recoveries started, each at
//! most so many in its window, so that one source cannot create accounts or clients in bulk;
//! and wrong PINs and wrong codes, so that one source cannot spread guesses over many
//! accounts. Only failures count there: the many people behind one address (an office, a
//! carrier's NAT) who answer right all get in (SPEC "Sign-in rules that every path keeps").

use idp_core::StoreError;
use idp_core::model::CodePurpose;
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
    let names: Vec<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
    // Both counts in one step (one round trip where the store can send them together).
    let recorded = state
        .stores
        .throttle
        .record_attempts(&names, now, WINDOW_SECS)
        .await?;
    let mut wait = 0;
    for ((before, last), (_, free)) in recorded.into_iter().zip(&keys) {
        if let Some(last) = last {
            wait = wait.max(last + wait_after(before, *free) - now);
        }
    }
    if wait <= 0 {
        return Ok(Verdict::Go);
    }
    state
        .stores
        .throttle
        .clear_and_forget_latest(&[], &names)
        .await?;
    Ok(Verdict::Wait(wait))
}

/// The password was not checked because the hashing queue was full (the answer is 503): the
/// attempt is forgotten, as a refused one is, so that a busy server does not slow down the
/// people it could not serve. A store failure here is logged, and the 503 still given.
pub async fn password_unchecked(state: &AppState, username: &str, ip: Option<&str>) {
    let mut keys = vec![account_key(username)];
    keys.extend(ip.map(ip_key));
    let names: Vec<&str> = keys.iter().map(String::as_str).collect();
    let forgotten = state
        .stores
        .throttle
        .clear_and_forget_latest(&[], &names)
        .await;
    if let Err(error) = forgotten {
        tracing::warn!(%error, "cannot forget a password attempt turned away unchecked");
    }
}

/// The password was right: the username's failures are forgotten, and this attempt does not
/// count against the IP.
/// A password reset is done: the username's wrong passwords no longer hold the new one back.
/// The address's count stays: no wrong password of its is made good by a reset.
pub async fn password_reset(state: &AppState, username: &str) -> Result<(), StoreError> {
    state.stores.throttle.clear(&account_key(username)).await
}

pub async fn password_succeeded(
    state: &AppState,
    username: &str,
    ip: Option<&str>,
) -> Result<(), StoreError> {
    let account = account_key(username);
    let ip = ip.map(ip_key);
    let forgotten: Vec<&str> = ip.iter().map(String::as_str).collect();
    state
        .stores
        .throttle
        .clear_and_forget_latest(&[account.as_str()], &forgotten)
        .await
}

/// Records a code about to be sent for the user, as a try to give back should it not go out;
/// `None` (and not recorded) when the hourly limit is reached. A password reset's codes have
/// a limit of their own: anyone who knows a username can ask for them, and they must not use
/// up the person's new-device and recovery codes.
pub async fn may_send_code(
    state: &AppState,
    user_id: &str,
    purpose: CodePurpose,
) -> Result<Option<Try>, StoreError> {
    let key = match purpose {
        CodePurpose::PasswordReset => format!("reset-codes:{user_id}"),
        _ => format!("codes:{user_id}"),
    };
    let (before, _) = state
        .stores
        .throttle
        .record_attempt(&key, state.now(), 3600)
        .await?;
    if before >= CODES_PER_HOUR {
        state.stores.throttle.forget_latest(&key).await?;
        return Ok(None);
    }
    Ok(Some(Try {
        reserved: Some(Reserved::Attempt(key)),
    }))
}

/// What one client IP may do only so often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SignUp,
    Registration,
    Recovery,
    /// A request object fetched from the `request_uri` an authorization request names.
    RequestUriFetch,
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
            Self::RequestUriFetch => (limits.request_uri_fetches_per_hour, 3600),
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
            Self::RequestUriFetch => "request-uri",
            Self::PinTry => "pin",
            Self::CodeTry => "code",
        }
    }
}

/// How an action's limit is kept, in milliseconds: each one adds `cost` (its window over its
/// limit) to its address's backlog, which drains in real time and may hold at most `window`.
/// So `limit` may come at once, and then one every `cost`; a single number per address holds
/// the count however high an operator sets the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pace {
    cost: i64,
    window: i64,
}

impl Pace {
    fn of(limit: u32, window_secs: i64) -> Option<Self> {
        let window = window_secs.saturating_mul(1000);
        (limit > 0).then(|| Self {
            cost: (window / i64::from(limit)).max(1),
            window,
        })
    }

    /// The latest a backlog may last, one more included.
    fn most(self, now: i64) -> i64 {
        now.saturating_add(self.window)
    }

    /// Seconds until one more fits a backlog that lasts `until`: 0 when it fits now.
    fn wait(self, until: i64, now: i64) -> i64 {
        let over = until
            .saturating_add(self.cost)
            .saturating_sub(self.most(now));
        if over <= 0 { 0 } else { (over + 999) / 1000 }
    }
}

/// The address's counter and pace for `action`, unless it is not limited.
fn limited(state: &AppState, action: Action, ip: Option<&str>) -> Option<(String, Pace)> {
    let (limit, window) = action.limit(state);
    Some((action.ip_key(ip?), Pace::of(limit, window)?))
}

fn now_ms(state: &AppState) -> i64 {
    state.now().saturating_mul(1000)
}

/// Records `action` from `ip` and says whether it may go on; over the limit it is refused
/// (and not recorded) with the seconds until one more would be allowed.
pub async fn per_ip(
    state: &AppState,
    action: Action,
    ip: Option<&str>,
) -> Result<Verdict, StoreError> {
    let Some((key, pace)) = limited(state, action, ip) else {
        return Ok(Verdict::Go);
    };
    add(state, &key, pace).await
}

/// Searches one person may make in the consoles a minute: enough to work, too few to walk the
/// directory of people.
const CONSOLE_SEARCHES_PER_MINUTE: u32 = 30;

/// Records a console search by the person `user_id`, as [`per_ip`] records an action.
pub async fn console_search(state: &AppState, user_id: &str) -> Result<Verdict, StoreError> {
    let Some(pace) = Pace::of(CONSOLE_SEARCHES_PER_MINUTE, 60) else {
        return Ok(Verdict::Go);
    };
    add(state, &format!("console-search:user:{user_id}"), pace).await
}

/// Adds one to `key`'s backlog at `pace`: go, or the seconds to wait.
async fn add(state: &AppState, key: &str, pace: Pace) -> Result<Verdict, StoreError> {
    let now = now_ms(state);
    let (added, until) = state
        .stores
        .throttle
        .add_to_backlog(key, now, pace.cost, Some(pace.most(now)))
        .await?;
    if added {
        return Ok(Verdict::Go);
    }
    Ok(Verdict::Wait(pace.wait(until, now).max(1)))
}

/// What `per_ip` recorded for `action` from `ip`, to give back should the action not happen
/// for a reason of ours (see `Try`).
pub fn counted(state: &AppState, action: Action, ip: Option<&str>) -> Try {
    Try {
        reserved: limited(state, action, ip).map(|(key, pace)| Reserved::Backlog(key, pace)),
    }
}

/// A try counted against an address or a person: it counts unless given back. It is given
/// back when the answer was right (where only failures count), and whenever the action was
/// refused for our own outage (a store that cannot be reached, a full hashing queue, a code
/// that could not be delivered), so that nobody is throttled for what we could not do.
#[must_use = "a try is given back when the answer was right or was never checked"]
pub struct Try {
    reserved: Option<Reserved>,
}

enum Reserved {
    /// A share of an address's backlog (`per_ip`).
    Backlog(String, Pace),
    /// The latest attempt under this key (`record_attempt`).
    Attempt(String),
}

impl Try {
    /// Passes `done` through, giving the try back when it was refused for our own outage (a
    /// store that could not be reached or written, a full hashing queue): the action counts
    /// unless we could not do it. (Any other failure counts: an error must buy no free try.)
    pub async fn unless_outage<T>(
        self,
        state: &AppState,
        done: Result<T, crate::error::PageError>,
    ) -> Result<T, crate::error::PageError> {
        if done.as_ref().is_err_and(crate::error::PageError::is_outage) {
            self.give_back(state).await;
        }
        done
    }

    /// Passes `checked` through, giving the try back unless it is an answer that `counts`
    /// (a wrong one): a right answer, or one never checked (an error), costs nothing.
    pub async fn settle<T, E>(
        self,
        state: &AppState,
        checked: Result<T, E>,
        counts: impl FnOnce(&T) -> bool,
    ) -> Result<T, E> {
        if !checked.as_ref().is_ok_and(counts) {
            self.give_back(state).await;
        }
        checked
    }

    /// The answer was right (or was never checked): it does not count against the address.
    pub async fn give_back(self, state: &AppState) {
        let throttle = &state.stores.throttle;
        let given = match self.reserved {
            None => return,
            Some(Reserved::Backlog(key, pace)) => {
                throttle
                    .give_back_to_backlog(&key, now_ms(state), pace.cost)
                    .await
            }
            Some(Reserved::Attempt(key)) => throttle.forget_latest(&key).await,
        };
        if let Err(error) = given {
            tracing::warn!(%error, "a try could not be given back to its address");
        }
    }
}

/// Before a person's second factor is checked (an app's code, a saved code, a passkey):
/// records a try for the person, and refuses it (429, with the wait) once their tries in 15
/// minutes pass the free ones, with the waits of passwords (1 s doubling to 5 minutes). A right
/// answer is given back. The cap on wrong answers in a row (`crate::factors`) stands behind it.
pub async fn second_factor_try(
    state: &AppState,
    user_id: &str,
) -> Result<Try, crate::error::PageError> {
    let key = format!("factor:user:{user_id}");
    let now = state.now();
    let throttle = &state.stores.throttle;
    let (before, last) = throttle.record_attempt(&key, now, WINDOW_SECS).await?;
    let wait = last.map_or(0, |last| last + wait_after(before, FREE_PER_ACCOUNT) - now);
    if wait > 0 {
        throttle.forget_latest(&key).await?;
        tracing::warn!("second-factor tries over the person's limit");
        return Err(crate::error::PageError::TooMany(wait));
    }
    Ok(Try {
        reserved: Some(Reserved::Attempt(key)),
    })
}

/// Before a PIN or code is checked, or a sign-up or recovery begins: reserves a try against
/// `ip`, atomically, so that parallel tries get no more than the limit; refused (429, with how
/// long to wait) when the address has used up its allowance. The handler gives the try back
/// when it did not happen for a reason of ours, and, for PINs and codes, when the answer was
/// right, so the many people behind one address who answer right never use up its allowance
/// (SPEC: per-address limits count failures).
pub async fn per_ip_try(
    state: &AppState,
    action: Action,
    ip: Option<&str>,
) -> Result<Try, crate::error::PageError> {
    match per_ip(state, action, ip).await? {
        Verdict::Go => Ok(counted(state, action, ip)),
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
    fn a_pace_lets_its_limit_through_at_once_then_one_per_share_of_the_window() {
        let pace = Pace::of(2, 900).unwrap();
        assert_eq!(pace.cost, 450_000);
        assert_eq!(Pace::of(0, 900), None);
        let now = 1_000_000;
        assert_eq!(pace.wait(now, now), 0, "nothing owed");
        assert_eq!(pace.wait(now + 450_000, now), 0, "one failure");
        assert_eq!(pace.wait(now + 900_000, now), 450, "two: the limit");
        assert_eq!(pace.wait(now + 900_000, now + 1), 450, "rounded up");
        assert_eq!(pace.wait(now + 900_000, now + 450_000), 0);
        // No cap: a large limit is kept as exactly as a small one.
        let large = Pace::of(100_000, 900).unwrap();
        assert_eq!(large.cost, 9);
        assert_eq!(large.wait(now + 100_000 * 9, now), 1);
        assert_eq!(large.wait(now + 99_999 * 9, now), 0);
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
