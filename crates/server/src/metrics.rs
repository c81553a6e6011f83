//! Prometheus metrics at `/metrics`: request latency per endpoint, security events by kind
//! (sign-ins by outcome, PIN failures, lockouts, ...) and tokens issued by type. Kept in
//! process, so each node reports its own.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Latency {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// One route's latencies, by method and status.
type ByMethodAndStatus = BTreeMap<(&'static str, u16), Latency>;

#[derive(Default)]
pub struct Metrics {
    /// Latency by route, then by method and status. Looked up by `&str`, so a request for a
    /// route seen before allocates nothing.
    requests: Mutex<BTreeMap<String, ByMethodAndStatus>>,
    events: Mutex<BTreeMap<&'static str, u64>>,
    tokens: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Times a request under the route it matched (never the raw path: no ids in labels).
    pub fn observe(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        if let Ok(mut requests) = self.requests.lock() {
            if !requests.contains_key(route) {
                requests.insert(route.to_owned(), BTreeMap::new());
            }
            let Some(by_route) = requests.get_mut(route) else {
                return;
            };
            let entry = by_route.entry((method, status)).or_default();
            entry.count += 1;
            entry.sum += seconds;
            for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
        }
    }

    /// Counts a security event (the audit log's kinds).
    pub fn event(&self, kind: &'static str) {
        if let Ok(mut events) = self.events.lock() {
            *events.entry(kind).or_default() += 1;
        }
    }

    /// Counts a token issued (`access`, `id`, `refresh`).
    pub fn token(&self, kind: &'static str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            *tokens.entry(kind).or_default() += 1;
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP idp_http_request_duration_seconds Time to answer a request, by endpoint.\n",
        );
        out.push_str("# TYPE idp_http_request_duration_seconds histogram\n");
        if let Ok(requests) = self.requests.lock() {
            let rows = requests.iter().flat_map(|(route, by_route)| {
                by_route
                    .iter()
                    .map(move |((method, status), latency)| (route, method, status, latency))
            });
            for (route, method, status, latency) in rows {
                let labels = format!("route=\"{route}\",method=\"{method}\",status=\"{status}\"");
                for (count, bound) in latency.buckets.iter().zip(BUCKETS) {
                    let _ = writeln!(
                        out,
                        "idp_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "idp_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    latency.count
                );
                let _ = writeln!(
                    out,
                    "idp_http_request_duration_seconds_sum{{{labels}}} {}",
                    latency.sum
                );
                let _ = writeln!(
                    out,
                    "idp_http_request_duration_seconds_count{{{labels}}} {}",
                    latency.count
                );
            }
        }
        out.push_str("# HELP idp_security_events_total Security events by kind (sign-in outcomes, PIN failures, lockouts, ...).\n");
        out.push_str("# TYPE idp_security_events_total counter\n");
        if let Ok(events) = self.events.lock() {
            for (kind, count) in events.iter() {
                let _ = writeln!(out, "idp_security_events_total{{kind=\"{kind}\"}} {count}");
            }
        }
        out.push_str("# HELP idp_tokens_issued_total Tokens issued, by type.\n");
        out.push_str("# TYPE idp_tokens_issued_total counter\n");
        if let Ok(tokens) = self.tokens.lock() {
            for (kind, count) in tokens.iter() {
                let _ = writeln!(out, "idp_tokens_issued_total{{type=\"{kind}\"}} {count}");
            }
        }
        out
    }
}

/// The method as a label; anything unusual is `OTHER` (no unbounded label values).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}
