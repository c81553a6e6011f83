//! CSRF protection for every form: a random per-browser cookie, and in each form a token that is
//! the HMAC of that cookie under a server key (OWASP's "signed double-submit cookie"). A post
//! whose token does not match its cookie changes nothing.

use axum_extra::extract::CookieJar;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use idp_core::random::{constant_time_eq, random_token};
use sha2::Sha256;

use crate::state::AppState;
use crate::web::cookies;

fn token_for(state: &AppState, cookie_value: &str) -> String {
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&state.csrf_key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(cookie_value.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The token to put in a form, setting the browser's CSRF cookie first if it has none.
pub fn issue(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let name = cookies::name(state, cookies::CSRF, true);
    if let Some(existing) = jar.get(&name).map(|c| c.value().to_owned())
        && !existing.is_empty()
    {
        let token = token_for(state, &existing);
        return (jar, token);
    }
    let value = random_token(32);
    let token = token_for(state, &value);
    (
        jar.add(cookies::build(state, cookies::CSRF, value, None)),
        token,
    )
}

/// Whether `submitted` is the token for this browser's CSRF cookie.
pub fn verify(state: &AppState, jar: &CookieJar, submitted: &str) -> bool {
    let name = cookies::name(state, cookies::CSRF, true);
    let Some(cookie) = jar.get(&name) else {
        return false;
    };
    if cookie.value().is_empty() || submitted.is_empty() {
        return false;
    }
    let expected = token_for(state, cookie.value());
    constant_time_eq(expected.as_bytes(), submitted.as_bytes())
}
