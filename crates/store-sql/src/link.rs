//! How a PostgreSQL URL reaches its server, for the warning about links in plain text.

use std::net::IpAddr;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// Where a PostgreSQL URL connects and whether the server's certificate and name are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresLink {
    pub host: String,
    /// A Unix socket or a loopback address.
    pub to_loopback: bool,
    /// `sslmode=verify-full`: the only mode that checks the certificate and the name.
    pub verified: bool,
}

/// Judged as the driver reads the URL (the last of repeated parameters wins, `host=` and
/// `hostaddr=` override the authority, PG* variables fill gaps); `None` when it cannot read it.
pub fn postgres_link(url: &str) -> Option<PostgresLink> {
    let options = url.parse::<PgConnectOptions>().ok()?;
    let host = options.get_host().to_owned();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let to_loopback = options.get_socket().is_some()
        || host.starts_with('/')
        || host == "localhost"
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    Some(PostgresLink {
        verified: matches!(options.get_ssl_mode(), PgSslMode::VerifyFull),
        host,
        to_loopback,
    })
}
