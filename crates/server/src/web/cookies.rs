//! The cookies the provider sets. All are HttpOnly and SameSite=Lax (Lax, not Strict: the SSO
//! cookie must arrive on the top-level redirect from a relying party); under https they are
//! Secure and carry the `__Host-` prefix (`__Secure-` where a path is needed: such a cookie
//! only names a record, and the record itself is bound to the `__Host-` CSRF cookie, so a
//! cookie planted by a sibling domain finds nothing).

use axum_extra::extract::cookie::{Cookie, SameSite};
use time::Duration;

use crate::config::Settings;

pub const SESSION: &str = "idp_session";
pub const CSRF: &str = "idp_csrf";
pub const SIGNUP: &str = "idp_signup";
pub const DEVICE: &str = "idp_device";

/// The name a cookie has on the wire: prefixed under https.
pub fn name(settings: &Settings, base: &str, host_only_root: bool) -> String {
    match (settings.issuer_is_https(), host_only_root) {
        (true, true) => format!("__Host-{base}"),
        (true, false) => format!("__Secure-{base}"),
        (false, _) => base.to_owned(),
    }
}

/// A cookie for the whole site, living `max_age` seconds (a browser-session cookie if `None`).
pub fn build(
    settings: &Settings,
    base: &str,
    value: String,
    max_age: Option<i64>,
) -> Cookie<'static> {
    with_path(settings, base, value, "/", max_age)
}

/// A cookie sent only under `path` (an interaction's own pages).
pub fn with_path(
    settings: &Settings,
    base: &str,
    value: String,
    path: &str,
    max_age: Option<i64>,
) -> Cookie<'static> {
    let root = path == "/";
    let mut cookie = Cookie::new(name(settings, base, root), value);
    cookie.set_path(path.to_owned());
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_secure(settings.issuer_is_https());
    if let Some(seconds) = max_age {
        cookie.set_max_age(Duration::seconds(seconds));
    }
    cookie
}

/// A cookie that tells the browser to forget `base` at `path`.
pub fn removal(settings: &Settings, base: &str, path: &str) -> Cookie<'static> {
    let mut cookie = with_path(settings, base, String::new(), path, Some(0));
    cookie.make_removal();
    cookie
}
