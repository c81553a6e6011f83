//! A request id for every request: taken from the load balancer's `X-Request-Id` when it is a
//! plain token, else made here. It names the request's log span (so every log line of the
//! request carries it) and goes back in the response's `X-Request-Id`.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

pub const HEADER: &str = "x-request-id";

/// The id a proxy may hand us: letters, digits, `-`, `_`, `.`, at most 64 (nothing that could
/// forge a log line).
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub async fn assign(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map_or_else(|| idp_core::random::random_token(12), str::to_owned);
    // The path only: query strings carry hints and tokens that have no place in logs.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            ms = started.elapsed().as_millis(),
            "answered"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
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
