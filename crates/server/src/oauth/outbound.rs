//! Calls to URLs that relying parties registered: back-channel logout, and the documents a
//! client keeps at a URL of its own (`jwks_uri`, `request_uri`, `sector_identifier_uri`).
//! A URL a client registered over HTTP is called only at a public address (it must not reach
//! into the network the provider runs in), over https, within a time and a size limit; a
//! client an administrator set up is trusted with any address they chose.

use std::time::Duration;

use idp_oauth::client_metadata::is_public_address;

/// How long a call may take, from connecting to the last byte.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest document fetched (a JWK Set, a request object, a list of redirect URIs).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Whose URL is called: the trust it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A client an administrator set up: any address, http too.
    Trusted,
    /// A client registered over HTTP: https at a public address only.
    Registered,
}

/// A document fetched from a client's URL.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// The media type, without parameters, lower case.
    pub content_type: Option<String>,
    /// How long the answer may be kept (`Cache-Control: max-age`), when it says; `no-store`
    /// and `no-cache` say zero.
    pub max_age: Option<Duration>,
}

/// Why a document could not be fetched; the words are safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the URL must use https")]
    NotHttps,
    #[error("the URL does not resolve to a public address")]
    NotPublic,
    #[error("the URL could not be reached")]
    Unreachable,
    #[error("the URL answered with HTTP status {0}")]
    Status(u16),
    #[error("the document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
}

/// An HTTP client that reaches `uri`'s host only at the public address it resolves to now, so
/// a later DNS answer cannot point the request into the provider's own network.
pub async fn public_client(uri: &str) -> Option<reqwest::Client> {
    let url = url::Url::parse(uri).ok()?;
    // An IPv6 literal without its brackets, as the resolver takes it.
    let host = match url.host()? {
        url::Host::Domain(name) => name.to_owned(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    };
    let port = url.port_or_known_default()?;
    let addresses: Vec<_> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()?
        .collect();
    let address = *addresses.first()?;
    if addresses.iter().any(|a| !is_public_address(a.ip())) {
        return None;
    }
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, address)
        .build()
        .ok()
}

/// The HTTP client for a call to `uri` on behalf of `caller`; `shared` is the provider's own
/// client, used for trusted callers.
pub async fn client_for(
    shared: &reqwest::Client,
    uri: &str,
    caller: Caller,
) -> Result<reqwest::Client, FetchError> {
    match caller {
        Caller::Trusted => Ok(shared.clone()),
        Caller::Registered => {
            if !uri.starts_with("https://") {
                return Err(FetchError::NotHttps);
            }
            public_client(uri).await.ok_or(FetchError::NotPublic)
        }
    }
}

/// GETs the document at `uri` for `caller`: no redirects followed, at most
/// [`MAX_DOCUMENT_BYTES`], within [`TIMEOUT`].
pub async fn fetch(
    shared: &reqwest::Client,
    uri: &str,
    caller: Caller,
    accept: &str,
) -> Result<Fetched, FetchError> {
    let call = async {
        // Within the time limit, resolving the name included.
        let http = client_for(shared, uri, caller).await?;
        let mut response = http
            .get(uri)
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|_| FetchError::Unreachable)?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| FetchError::Unreachable)?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            body,
            content_type: headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| {
                    v.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                }),
            max_age: headers
                .get(reqwest::header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok())
                .and_then(max_age),
        })
    };
    tokio::time::timeout(TIMEOUT, call)
        .await
        .map_err(|_| FetchError::Unreachable)?
}

/// `Cache-Control`'s lifetime: `max-age` in seconds, zero for `no-store` or `no-cache`.
fn max_age(cache_control: &str) -> Option<Duration> {
    let mut found = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            found = seconds
                .trim_matches('"')
                .parse()
                .ok()
                .map(Duration::from_secs);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_registered_url_is_called_only_where_it_resolves_to_public_addresses() {
        // Names are resolved when the call is made: `localhost` stands for any name whose
        // owner points it into the provider's network after registration.
        for uri in [
            "https://localhost/logout",
            "https://localhost:8443/logout",
            "http://127.0.0.1:9/logout",
            "https://10.0.0.7/logout",
            "https://192.168.1.1/logout",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/logout",
            "https://[fd00::1]/logout",
            "https://[::ffff:127.0.0.1]/logout",
            "https://100.64.0.1/logout",
            "https://0.0.0.0/logout",
            "not a url",
            "https://no-such-host.invalid/logout",
        ] {
            assert!(public_client(uri).await.is_none(), "{uri}");
        }
        // A public address is called (pinned to the address it resolved to).
        for uri in ["https://93.184.216.34/logout", "https://[2606:4700::1111]/"] {
            assert!(public_client(uri).await.is_some(), "{uri}");
        }
    }

    #[tokio::test]
    async fn a_registered_client_is_called_over_https_only() {
        let shared = reqwest::Client::new();
        let refused = client_for(&shared, "http://93.184.216.34/jwks", Caller::Registered).await;
        assert_eq!(refused.err(), Some(FetchError::NotHttps));
        let refused = fetch(&shared, "https://127.0.0.1/jwks", Caller::Registered, "*/*").await;
        assert_eq!(refused.err(), Some(FetchError::NotPublic));
    }

    #[tokio::test]
    async fn documents_are_fetched_within_their_size_and_read_with_their_lifetime() {
        use axum::routing::get;
        let big = "x".repeat(MAX_DOCUMENT_BYTES + 1);
        let app = axum::Router::new()
            .route(
                "/jwks",
                get(|| async {
                    (
                        [
                            ("content-type", "application/json; charset=utf-8"),
                            ("cache-control", "public, max-age=120"),
                        ],
                        "{\"keys\":[]}",
                    )
                }),
            )
            .route("/big", get(move || async move { big }))
            .route("/gone", get(|| async { axum::http::StatusCode::NOT_FOUND }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let shared = reqwest::Client::new();
        let fetched = fetch(&shared, &format!("{base}/jwks"), Caller::Trusted, "*/*")
            .await
            .unwrap();
        assert_eq!(fetched.body, b"{\"keys\":[]}");
        assert_eq!(fetched.content_type.as_deref(), Some("application/json"));
        assert_eq!(fetched.max_age, Some(Duration::from_secs(120)));
        let big = fetch(&shared, &format!("{base}/big"), Caller::Trusted, "*/*").await;
        assert_eq!(big.err(), Some(FetchError::TooLarge));
        let gone = fetch(&shared, &format!("{base}/gone"), Caller::Trusted, "*/*").await;
        assert_eq!(gone.err(), Some(FetchError::Status(404)));
    }

    #[test]
    fn cache_lifetimes_are_read_from_cache_control() {
        assert_eq!(max_age("max-age=60"), Some(Duration::from_secs(60)));
        assert_eq!(
            max_age("public, max-age=\"30\""),
            Some(Duration::from_secs(30))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(
            max_age("private, no-cache, max-age=60"),
            Some(Duration::ZERO)
        );
        assert_eq!(max_age("public"), None);
    }
}
