//! The provider's one script: it runs a passkey ceremony on the pages that offer one. It is
//! written into those pages, and only their Content-Security-Policy allows it, by its SHA-256
//! hash; every other page allows no script at all.

use std::sync::LazyLock;

use axum::http::HeaderValue;
use axum::response::Response;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// The script, as written between `<script>` and `</script>`.
pub const SCRIPT: &str = include_str!("../../static/passkey.js");

/// The policy of a page that runs the script: every page's, plus the script's hash.
static POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
    let every_page = crate::web::request_id::CONTENT_SECURITY_POLICY;
    let policy = format!("{every_page}; script-src 'sha256-{hash}'");
    HeaderValue::from_str(&policy).unwrap_or_else(|_| unreachable!("base64 is a header value"))
});

/// A ceremony's options as the text of the page's JSON block: `<`, `>` and `&` written as
/// JSON escapes, so that nothing in it can end the block or be read as markup.
pub fn options_block(options: &serde_json::Value) -> String {
    options
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// What a page's passkey ceremony needs (`passkey.html`): its options, the id of its kept
/// state, `get` or `create`, where the answer goes, and the script.
pub fn ceremony(begun: crate::factors::Begun, creating: bool, action: String) -> serde_json::Value {
    serde_json::json!({
        "options": options_block(&begun.options),
        "id": begun.id,
        "ceremony": if creating { "create" } else { "get" },
        "action": action,
        "script": SCRIPT,
    })
}

/// What the script posts: the ceremony's id (its state stays on the server), the
/// authenticator's answer, and, when adding one, the passkey's name.
#[derive(Debug, serde::Deserialize)]
pub struct PasskeyForm {
    #[serde(default)]
    pub ceremony: String,
    #[serde(default)]
    pub credential: String,
    #[serde(default)]
    pub name: String,
}

impl PasskeyForm {
    /// The ceremony's id and the authenticator's answer.
    pub fn answer(&self) -> (&str, &str) {
        (&self.ceremony, &self.credential)
    }
}

/// Marks a page that runs the script (see `request_id::finish`).
#[derive(Debug, Clone, Copy)]
pub struct RunsScript;

/// Lets `response` run the script.
pub fn allow(mut response: Response) -> Response {
    response.extensions_mut().insert(RunsScript);
    response
}

/// The Content-Security-Policy of `response`: the script's where it runs it.
pub fn policy_for(response: &Response) -> Option<HeaderValue> {
    response
        .extensions()
        .get::<RunsScript>()
        .map(|_| POLICY.clone())
}
