//! Where a request comes from: the client IP and user agent, for the audit log, the sessions
//! list and per-IP throttling. Behind a load balancer listed in `trusted_proxies`, the client
//! is the right-most address in `X-Forwarded-For` that is not itself a trusted proxy; the
//! header is ignored from anyone else, since a client can write anything in it.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header;
use axum::http::request::Parts;

use crate::state::AppState;

/// Longest user agent kept.
const MAX_USER_AGENT: usize = 256;

#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }
}

/// The client's address, given the peer's and the proxies trusted to name it.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| {
                client_ip(addr.ip(), &parts.headers, &state.settings.trusted_proxies).to_string()
            });
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT)
                    .collect()
            });
        Ok(Self { ip, user_agent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let lb: IpAddr = "10.0.0.2".parse().unwrap();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let spoofed = headers(&["198.51.100.1, 203.0.113.9"]);
        assert_eq!(
            client_ip(lb, &spoofed, &[lb]),
            client,
            "right-most untrusted"
        );
        assert_eq!(
            client_ip(client, &spoofed, &[lb]),
            client,
            "ignored from a client"
        );
        assert_eq!(client_ip(lb, &headers(&[]), &[lb]), lb);
        let chain = headers(&["203.0.113.9", "10.0.0.3"]);
        let proxies: [IpAddr; 2] = [lb, "10.0.0.3".parse().unwrap()];
        assert_eq!(
            client_ip(lb, &chain, &proxies),
            client,
            "through two proxies"
        );
        assert_eq!(client_ip(lb, &headers(&["garbage"]), &[lb]), lb);
    }
}
