//! The authorization endpoint's answer as the browser receives it: a redirect with the
//! parameters in the query or the fragment, or (OAuth 2.0 Form Post Response Mode) a page whose
//! form posts them to the redirect URI. That page's one script submits the form; the page's
//! Content-Security-Policy allows that script by its SHA-256 hash and lets the form go to the
//! redirect URI's origin only. A person without JavaScript presses the form's button.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use idp_oauth::authorization_response::AuthorizationResponse;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::error::PageError;
use crate::web::templates::render;

/// The script, as written between `<script>` and `</script>`.
pub const SCRIPT: &str = include_str!("../../static/form_post.js");

/// The script's hash, as a CSP source.
static SCRIPT_SOURCE: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
    format!("'sha256-{hash}'")
});

/// The Content-Security-Policy of one form-post page (see `request_id::around`).
#[derive(Debug, Clone)]
pub struct FormPostPolicy(HeaderValue);

/// Sends the answer on its way.
pub fn respond(answer: &AuthorizationResponse) -> Result<Response, PageError> {
    if let Some(location) = answer.location() {
        return Ok(Redirect::to(&location).into_response());
    }
    let source = answer.form_action_source().ok_or_else(|| {
        PageError::Internal("a redirect URI that is no URL was registered".into())
    })?;
    let every_page = crate::web::request_id::CONTENT_SECURITY_POLICY;
    let policy = format!(
        "{every_page}; script-src {}; form-action {source}",
        *SCRIPT_SOURCE
    );
    let policy = HeaderValue::from_str(&policy)
        .map_err(|_| PageError::Internal("a redirect URI's origin is no header value".into()))?;
    let fields: Vec<_> = answer
        .params
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let mut response = render(
        StatusCode::OK,
        "form_post.html",
        json!({ "action": answer.redirect_uri, "fields": fields, "script": SCRIPT }),
    );
    // The answer holds a code or tokens: no cache keeps it (every page's default, said here
    // too since this one must never lose it).
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(FormPostPolicy(policy));
    Ok(response)
}

/// The Content-Security-Policy of `response`, when it is a form-post page.
pub fn policy_for(response: &Response) -> Option<HeaderValue> {
    response
        .extensions()
        .get::<FormPostPolicy>()
        .map(|policy| policy.0.clone())
}
