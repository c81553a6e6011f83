//! What every request goes through, in one layer: a request id (taken from the load balancer's
//! `X-Request-Id` when it is a plain token, else made here) that names the request's log span
//! (so every log line of the request carries it) and goes back in the response's
//! `X-Request-Id`; its timing for the metrics; and the security headers of every response.
//! `crate::front` answers discovery and the JWKS with the same, ahead of the router.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::state::AppState;

/// Every page's policy: no script at all (the passkey pages add theirs: `web::passkey`).
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// Headers every response carries, replacing any a handler set.
const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
];

pub const HEADER: &str = "x-request-id";

/// The id a proxy may hand us: letters, digits, `-`, `_`, `.`, at most 64 (nothing that could
/// forge a log line).
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The request's id: the load balancer's when acceptable, else a new one.
pub(crate) fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(HEADER)
        .filter(|id| id.to_str().is_ok_and(acceptable))
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&idp_core::random::random_token(12))
                .unwrap_or_else(|_| HeaderValue::from_static("-"))
        })
}

/// What every response gets: the security headers, `no-store` unless the handler said
/// otherwise, HSTS under https, and the request id.
pub(crate) fn finish(state: &AppState, headers: &mut HeaderMap, id: HeaderValue) {
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.settings.issuer_is_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    headers.insert(HEADER, id);
}

pub async fn around(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = crate::metrics::method_label(request.method());
    let id = request_id(request.headers());
    // The path only: query strings carry hints and tokens that have no place in logs.
    let span = tracing::info_span!(
        "request",
        request_id = id.to_str().unwrap_or_default(),
        method = %request.method(),
        path = %request.uri().path(),
    );
    let (language, chosen) = crate::i18n::of_request(&state.settings, &request);
    let started = std::time::Instant::now();
    let json = answers_in_json(request.uri().path());
    let answer = async {
        match tokio::time::timeout(ANSWER_WITHIN, next.run(request)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(
                    seconds = ANSWER_WITHIN.as_secs(),
                    "no answer in time (a backend that does not answer?); refusing the request"
                );
                timed_out(json)
            }
        }
    };
    let answer = crate::brand::scope(state.clone(), answer);
    let mut response = crate::i18n::scope(language, answer.instrument(span.clone())).await;
    let elapsed = started.elapsed();
    state.metrics.observe(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        method,
        response.status().as_u16(),
        elapsed.as_secs_f64(),
    );
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            ms = elapsed.as_millis(),
            "answered"
        );
    });
    let script = crate::web::passkey::policy_for(&response);
    let script = crate::web::client_logo::policy_for(&response, script.as_ref()).or(script);
    finish(&state, response.headers_mut(), id);
    if let Some(policy) = script {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    if response.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        // Every refusal for our own outage says when to come back, so that clients and load
        // balancers back off instead of hammering a node that is recovering.
        crate::error::retry_after_header(&mut response, crate::error::UNAVAILABLE_RETRY_SECS);
    }
    if let Some(cookie) = chosen
        && let Ok(value) = HeaderValue::from_str(&cookie.to_string())
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The longest a request may take before it is refused with 503: a backend that stops
/// answering (a blackholed database, say) holds no request, nor the person behind it, longer.
/// Every handler may be dropped at any await, as when its client goes away.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(15);

/// Whether the endpoint at `path` answers in JSON (the protocol and administration APIs), not
/// with a page.
fn answers_in_json(path: &str) -> bool {
    [
        "/token",
        "/revoke",
        "/introspect",
        "/userinfo",
        "/register",
        "/par",
        "/admin/",
        "/.well-known/",
    ]
    .iter()
    .any(|prefix| path == prefix.trim_end_matches('/') || path.starts_with(prefix))
}

/// The answer to a request that took too long.
fn timed_out(json: bool) -> Response {
    use axum::response::IntoResponse as _;
    if json {
        crate::error::JsonError::OAuth(idp_core::OAuthError::new(
            idp_core::ErrorCode::TemporarilyUnavailable,
            "no answer in time; try again shortly",
        ))
        .into_response()
    } else {
        crate::error::PageError::Unavailable(None).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_plain_tokens_are_taken_from_the_proxy() {
        assert!(acceptable("f3a9c2-41.x_y"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("id\n{\"level\":\"ERROR\"}"));
        assert!(!acceptable(&"a".repeat(65)));
    }
}
