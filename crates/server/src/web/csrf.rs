//! CSRF protection for every form: a random per-browser cookie, and in each form a token that is
//! the HMAC of that cookie under a server key (OWASP's "signed double-submit cookie"). A post
//! whose token does not match its cookie changes nothing.
//!
//! The same cookie identifies the browser for records that must stay with it: a sign-in in
//! progress, a pending sign-up.

use axum_extra::extract::CookieJar;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use idp_core::random::{constant_time_eq, random_token, sha256_b64};
use sha2::Sha256;

use crate::state::AppState;
use crate::web::cookies;

fn token_for(state: &AppState, cookie_value: &str) -> String {
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&state.csrf_key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(cookie_value.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn cookie_value(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(&cookies::name(&state.settings, cookies::CSRF, true))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// This browser's CSRF cookie value, set first if it has none.
fn ensure_cookie(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(existing) = cookie_value(state, &jar) {
        return (jar, existing);
    }
    let value = random_token(32);
    let jar = jar.add(cookies::build(
        &state.settings,
        cookies::CSRF,
        value.clone(),
        None,
    ));
    (jar, value)
}

/// The token to put in a form, setting the browser's CSRF cookie first if it has none.
fn issue(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let (jar, value) = ensure_cookie(state, jar);
    let token = token_for(state, &value);
    (jar, token)
}

/// Renders a page that holds a form: the context gets this browser's CSRF token as `csrf`,
/// and the response sets the CSRF cookie if the browser has none yet.
pub fn form_page(
    state: &AppState,
    jar: CookieJar,
    status: axum::http::StatusCode,
    template: &str,
    mut context: serde_json::Value,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let (jar, token) = issue(state, jar);
    context["csrf"] = serde_json::Value::String(token);
    (
        jar,
        crate::web::templates::render(status, template, context),
    )
        .into_response()
}

/// Whether `submitted` is the token for this browser's CSRF cookie.
pub fn verify(state: &AppState, jar: &CookieJar, submitted: &str) -> bool {
    let Some(value) = cookie_value(state, jar) else {
        return false;
    };
    let expected = token_for(state, &value);
    !submitted.is_empty() && constant_time_eq(expected.as_bytes(), submitted.as_bytes())
}

/// An identifier of this browser for binding a server-side record to it: the digest of its
/// CSRF cookie, which under https is a `__Host-` cookie that no other host can set. Sets the
/// cookie first if the browser has none.
pub fn browser_binding(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let (jar, value) = ensure_cookie(state, jar);
    (jar, sha256_b64(&value))
}

/// Whether this browser is the one `binding` was made for.
pub fn is_bound(state: &AppState, jar: &CookieJar, binding: &str) -> bool {
    cookie_value(state, jar)
        .is_some_and(|value| constant_time_eq(sha256_b64(&value).as_bytes(), binding.as_bytes()))
}
