//! Settings: one struct, layered from `config/default.toml` (compiled in), an optional
//! `--config FILE`, then `IDP_*` environment variables, and validated before anything starts.
//! A bad setting stops start-up with one line that names it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format as _, Toml};
use idp_core::hashing::HashParams;
use serde::Deserialize;
use url::Url;

mod protocol;
mod validate;

pub use protocol::{DpopSettings, Fapi2Settings, MtlsSettings, ProtocolSettings};

const DEFAULTS: &str = include_str!("../../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub issuer: String,
    pub listen: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Connections each node keeps open to the database at most.
    pub database_max_connections: u32,
    /// `redis://[:PASSWORD@]HOST:PORT[/DB]` (`rediss://` for TLS): sessions, authorization codes, replay
    /// caches and throttling counters shared by every node, and key-change notifications.
    /// Unset: the database and this node's memory hold them (one node).
    #[serde(default)]
    pub redis_url: Option<String>,
    /// Prepended to every Redis key, so that several deployments can share one Redis.
    pub redis_key_prefix: String,
    pub log: String,
    /// `text` (for people) or `json` (one object per line, for log collectors).
    pub log_format: LogFormat,
    /// A second address that serves only `/metrics` (Prometheus). Unset: `/metrics` is served
    /// on `listen`, to loopback clients only.
    #[serde(default)]
    pub metrics_listen: Option<String>,
    /// 32 bytes, base64: keys CSRF tokens and one-time codes. Generated into `data_dir` when
    /// the issuer is a loopback address and none is set.
    #[serde(default)]
    pub master_key: Option<String>,
    /// 32 bytes, base64: the server-side key of PIN hashes. Kept apart from the master key so
    /// that replacing one never invalidates every PIN.
    #[serde(default)]
    pub pin_key: Option<String>,
    /// `smtps://HOST:PORT` (TLS), `smtp://HOST:PORT?tls=required` (STARTTLS) or
    /// `smtp://HOST:PORT` (clear text); with user and password in the URL when the server
    /// needs them. Unset: e-mail goes to the outbox (`idp outbox list`).
    #[serde(default)]
    pub smtp_url: Option<String>,
    /// The sender of e-mail.
    pub smtp_from: String,
    /// Texts are POSTed here as JSON `{"to": "+447700900123", "body": "..."}`. Unset: texts go
    /// to the outbox.
    #[serde(default)]
    pub sms_webhook_url: Option<String>,
    /// Addresses of the load balancers or reverse proxies in front of the server. A request
    /// from one of them is taken to come from the address it names in `X-Forwarded-For`.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Whether links without TLS to hosts other than loopback (database, Redis, SMTP, SMS
    /// webhook) are allowed: only on a private, trusted network.
    pub allow_plaintext_backends: bool,
    /// The time zone pages show times in: `UTC`, or a fixed offset such as `+01:00`.
    pub time_zone: String,
    pub hashing: HashingSettings,
    pub password: PasswordSettings,
    pub pin: PinSettings,
    pub new_device: NewDeviceSettings,
    pub factors: FactorSettings,
    pub keys: KeySettings,
    pub registration: RegistrationSettings,
    pub codes: CodeSettings,
    pub tokens: TokenSettings,
    pub session: SessionSettings,
    pub limits: LimitSettings,
    pub brand: BrandSettings,
    pub protocol: ProtocolSettings,
    pub fapi2: Fapi2Settings,
    pub dpop: DpopSettings,
    pub mtls: MtlsSettings,
}

/// How often one client IP may do what an attacker would repeat (each 0: no limit, and no
/// upper bound: size them to the people behind one address). Shared across nodes through
/// Redis when configured, like the password throttle. PIN and code tries count only wrong
/// ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub signups_per_hour: u32,
    pub registrations_per_hour: u32,
    pub recoveries_per_hour: u32,
    pub request_uri_fetches_per_hour: u32,
    pub pin_tries_per_15_minutes: u32,
    pub code_tries_per_15_minutes: u32,
}

/// A link to another service that runs without TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaintextLink {
    pub setting: &'static str,
    pub host: String,
    pub to_loopback: bool,
    use_instead: &'static str,
}

fn host_is_loopback(host: Option<url::Host<&str>>) -> bool {
    match host {
        // URLs of schemes the URL standard does not know (postgres://, redis://) keep an IPv4
        // address as a name.
        Some(url::Host::Domain(name)) => {
            name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashingSettings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub max_concurrent: usize,
    pub queue_timeout_secs: u64,
}

impl HashingSettings {
    pub fn params(&self) -> HashParams {
        HashParams {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    pub min_length: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinSettings {
    pub min_length: usize,
    pub max_length: usize,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub jwks_max_age_secs: i64,
    pub prepublish_secs: i64,
    pub retired_lifetime_secs: i64,
    pub rotation_interval_secs: i64,
    pub tick_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationSettings {
    pub require_initial_access_token: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSettings {
    pub lifetime_secs: i64,
    /// Wrong codes and security answers in a row, over every code sent, after which a user's
    /// code checks are refused until support unlocks them (NIST SP 800-63B: at most 100).
    pub max_failures: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDeviceSettings {
    pub enabled: bool,
}

/// Second factors and what counts as one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorSettings {
    /// A code texted to a confirmed phone counts as the second factor of `aal2`.
    pub texted_codes_count: bool,
    /// People may set security questions (never a factor; an extra check in PIN recovery).
    pub security_questions: bool,
    /// A PEM file of the attestation CAs a passkey's authenticator must chain to (hardware
    /// keys of the makes the operator trusts); unset or empty: attestation is not asked for.
    #[serde(default)]
    pub passkey_attestation_cas: Option<PathBuf>,
}

impl FactorSettings {
    /// The file of attestation CAs, when one is set (an empty value sets none).
    pub fn passkey_attestation_cas_file(&self) -> Option<&Path> {
        self.passkey_attestation_cas
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty())
    }
}

/// How the pages and messages present the service (see `crate::brand`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandSettings {
    /// The service's name on every page and in messages; empty: "Sign-in", in the page's
    /// language.
    pub name: String,
    /// A PNG, SVG or WebP file (at most 256 KiB) shown at the top of every page.
    #[serde(default)]
    pub logo_file: Option<PathBuf>,
    /// The colour of buttons and links, `#RRGGBB`, at least 4.5:1 against white.
    pub accent_colour: String,
    /// Where people get help: on the help page, the pages' footer and in messages.
    pub support_email: String,
    pub support_phone: String,
    /// When support answers, in words ("Monday to Friday, 8:00 to 18:00").
    pub support_hours: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    pub authorization_code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    pub ttl: i64,
    pub interaction_ttl: i64,
}

/// A setting that stops start-up, with its name.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn invalid(name: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!(
        "invalid setting `{name}` ({}): {why}",
        env_name(name)
    ))
}

/// One line naming the first bad setting, its variable and what is wrong with it (and the
/// file it came from); a file that is not TOML at all is named with the parser's own report,
/// over several lines: where, the line itself and a caret under the fault.
fn describe(error: figment::Error) -> ConfigError {
    let file = error
        .metadata
        .as_ref()
        .and_then(|m| m.source.as_ref())
        .and_then(|source| source.file_path())
        .map(|path| path.display().to_string());
    if error.path.is_empty()
        && let (Some(file), figment::error::Kind::Message(report)) = (&file, &error.kind)
    {
        return ConfigError(format!("{file} is not valid TOML:\n{}", report.trim_end()));
    }
    let described = describe_setting(&error);
    match file {
        Some(file) => ConfigError(format!("{} (in {file})", described.0)),
        None => described,
    }
}

fn describe_setting(error: &figment::Error) -> ConfigError {
    let mut path: Vec<String> = error.path.iter().map(|p| p.to_lowercase()).collect();
    if let figment::error::Kind::UnknownField(field, _) = &error.kind {
        if path.last() != Some(&field.to_lowercase()) {
            path.push(field.to_lowercase());
        }
        let key = path.join(".");
        return ConfigError(format!(
            "unknown setting `{key}` ({}): check its spelling",
            env_name(&key)
        ));
    }
    let key = path.join(".");
    let why = error.kind.to_string().replace('\n', " ");
    if key.is_empty() {
        return ConfigError(why);
    }
    invalid(&key, why)
}

fn env_name(key: &str) -> String {
    format!("IDP_{}", key.replace('.', "__").to_uppercase())
}

impl Settings {
    /// The time zone pages show times in (checked at start-up; UTC if it were not).
    pub fn time_zone(&self) -> crate::i18n::when::Zone {
        crate::i18n::when::Zone::parse(&self.time_zone).unwrap_or(crate::i18n::when::Zone::UTC)
    }

    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError(format!(
                    "configuration file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        // IDP_TEST_* variables belong to the test suite, not to the server.
        let env = Env::prefixed("IDP_")
            .split("__")
            .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_"));
        let settings: Settings = figment.merge(env).extract().map_err(describe)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Whether the issuer names this machine only (the embedded default, development).
    pub fn issuer_is_loopback(&self) -> bool {
        Url::parse(&self.issuer).is_ok_and(|url| host_is_loopback(url.host()))
    }

    /// The configured links to other services that would run without TLS.
    pub fn plaintext_links(&self) -> Vec<PlaintextLink> {
        let mut links = Vec::new();
        let mut check = |setting: &'static str, url: &str, use_instead: &'static str| {
            let link = |host: String, to_loopback: bool| PlaintextLink {
                setting,
                host,
                to_loopback,
                use_instead,
            };
            let Ok(parsed) = Url::parse(url) else {
                links.push(link("an unreadable address".into(), false));
                return;
            };
            match parsed.scheme() {
                // Judged as the driver reads the URL; only `verify-full` checks the server's
                // certificate and name.
                "postgres" | "postgresql" => match idp_store_sql::postgres_link(url) {
                    None => links.push(link("an unreadable address".into(), false)),
                    Some(pg) if !pg.verified => links.push(link(pg.host, pg.to_loopback)),
                    Some(_) => {}
                },
                // lettre reads the first `tls` parameter.
                "smtp" => {
                    let tls = parsed.query_pairs().find(|(k, _)| k == "tls");
                    if tls.is_none_or(|(_, v)| v != "required") {
                        let host = parsed.host_str().unwrap_or_default().to_owned();
                        links.push(link(host, host_is_loopback(parsed.host())));
                    }
                }
                "redis" | "http" => {
                    let host = parsed.host_str().unwrap_or_default().to_owned();
                    links.push(link(host, host_is_loopback(parsed.host())));
                }
                // sqlite (a file), rediss, smtps, https.
                _ => {}
            }
        };
        check(
            "database_url",
            &self.database_url,
            "add ?sslmode=verify-full",
        );
        if let Some(url) = &self.redis_url {
            check("redis_url", url, "use rediss://");
        }
        if let Some(url) = &self.smtp_url {
            check("smtp_url", url, "use smtps:// or ?tls=required");
        }
        if let Some(url) = &self.sms_webhook_url {
            check("sms_webhook_url", url, "use https://");
        }
        links
    }

    /// The issuer's port and the listen port, when an http (so loopback) issuer names another
    /// port than the server listens on: discovery then sends everyone to a port nothing may
    /// answer on. An https issuer is taken to be a proxy's address, which may differ freely.
    pub fn issuer_port_differs(&self) -> Option<(u16, u16)> {
        let issuer = Url::parse(&self.issuer).ok()?;
        if issuer.scheme() != "http" {
            return None;
        }
        let issuer_port = issuer.port_or_known_default()?;
        let listen_port = self.listen.parse::<std::net::SocketAddr>().ok()?.port();
        (issuer_port != listen_port).then_some((issuer_port, listen_port))
    }

    pub fn issuer_is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    pub fn max_concurrent_hashes(&self) -> usize {
        match self.hashing.max_concurrent {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Settings {
        Figment::from(Toml::string(DEFAULTS))
            .extract()
            .expect("the defaults parse")
    }

    /// The settings and hosts of the links to other hosts that would run without TLS.
    fn remote_plaintext(edit: impl FnOnce(&mut Settings)) -> Vec<(&'static str, String)> {
        let mut settings = defaults();
        edit(&mut settings);
        settings
            .plaintext_links()
            .into_iter()
            .filter(|link| !link.to_loopback)
            .map(|link| (link.setting, link.host))
            .collect()
    }

    #[test]
    fn links_to_other_hosts_need_tls() {
        let none: Vec<(&str, String)> = Vec::new();
        assert_eq!(remote_plaintext(|_| {}), none, "the embedded default");
        let cases: [(&str, Option<&str>); 22] = [
            (
                "postgres://idp:pw@db.internal:5432/idp",
                Some("db.internal"),
            ),
            (
                "postgres://idp:pw@db.internal/idp?sslmode=prefer",
                Some("db.internal"),
            ),
            (
                "postgres://idp:pw@db.internal/idp?sslmode=disable",
                Some("db.internal"),
            ),
            // TLS without a certificate check is no protection against a network attacker.
            (
                "postgres://idp:pw@db.internal/idp?sslmode=require",
                Some("db.internal"),
            ),
            (
                "postgres://idp:pw@db.internal/idp?sslmode=verify-ca",
                Some("db.internal"),
            ),
            ("postgresql://db.internal/idp?sslmode=verify-full", None),
            // The driver takes the last of repeated parameters, and `host=` over the authority.
            (
                "postgres://db.internal/idp?sslmode=verify-full&sslmode=disable",
                Some("db.internal"),
            ),
            (
                "postgres://idp@127.0.0.1/idp?host=db.remote",
                Some("db.remote"),
            ),
            ("postgres://idp@127.0.0.1:5432/idp", None),
            ("postgres://idp@localhost/idp", None),
            ("postgres://idp@[::1]/idp", None),
            ("postgres://idp@db.internal/idp?host=/run/postgresql", None),
            ("postgres://[::1/idp", Some("an unreadable address")),
            ("redis://:pw@cache.internal:6379", Some("cache.internal")),
            ("rediss://:pw@cache.internal:6379", None),
            ("smtp://mail.example.net:25", Some("mail.example.net")),
            (
                "smtp://mail.example.net:587?tls=opportunistic",
                Some("mail.example.net"),
            ),
            ("smtp://mail.example.net:587?tls=required", None),
            (
                "smtp://mail.example.net:587?tls=opportunistic&tls=required",
                Some("mail.example.net"),
            ),
            ("smtps://mail.example.net", None),
            ("http://sms.example.net/send", Some("sms.example.net")),
            ("http://127.0.0.1:9/send", None),
        ];
        for (url, refused_host) in cases {
            let found = remote_plaintext(|s| match url.split(':').next() {
                Some("postgres" | "postgresql") => s.database_url = url.into(),
                Some("redis" | "rediss") => s.redis_url = Some(url.into()),
                Some("smtp" | "smtps") => s.smtp_url = Some(url.into()),
                _ => s.sms_webhook_url = Some(url.into()),
            });
            match refused_host {
                Some(host) => {
                    assert_eq!(found.len(), 1, "{url}");
                    assert_eq!(found[0].1, host, "{url}");
                }
                None => assert_eq!(found, none, "{url}"),
            }
        }
        let found =
            remote_plaintext(|s| s.sms_webhook_url = Some("https://sms.example.net".into()));
        assert_eq!(found, none);
    }

    #[test]
    fn an_http_issuer_on_another_port_than_the_listener_is_noticed() {
        let mut settings = defaults();
        assert_eq!(settings.issuer_port_differs(), None, "the defaults agree");
        settings.listen = "127.0.0.1:8099".into();
        assert_eq!(settings.issuer_port_differs(), Some((8080, 8099)));
        settings.issuer = "http://localhost:8099".into();
        assert_eq!(settings.issuer_port_differs(), None);
        settings.issuer = "http://127.0.0.1".into();
        assert_eq!(settings.issuer_port_differs(), Some((80, 8099)));
        // Behind a proxy that ends TLS, the issuer is the proxy's address.
        settings.issuer = "https://idp.example".into();
        assert_eq!(settings.issuer_port_differs(), None);
    }

    #[test]
    fn a_clear_text_link_to_another_host_stops_start_up_unless_allowed() {
        let mut settings = defaults();
        settings.redis_url = Some("redis://:pw@cache.internal:6379".into());
        let refused = settings.validate().unwrap_err().to_string();
        assert!(refused.contains("`redis_url`"), "{refused}");
        assert!(refused.contains("use rediss://"), "{refused}");
        assert!(refused.contains("allow_plaintext_backends"), "{refused}");
        settings.allow_plaintext_backends = true;
        assert!(settings.validate().is_ok());
        settings.redis_url = Some("rediss://:pw@cache.internal:6379".into());
        settings.allow_plaintext_backends = false;
        assert!(settings.validate().is_ok());
    }

    #[test]
    fn pages_show_times_in_utc_unless_an_offset_is_set() {
        let mut settings = defaults();
        assert_eq!(settings.time_zone(), crate::i18n::when::Zone::UTC);
        settings.time_zone = "+01:00".into();
        assert!(settings.validate().is_ok());
        assert_eq!(settings.time_zone().label(), "UTC+01:00");
        settings.time_zone = "Europe/Madrid".into();
        let refused = settings.validate().unwrap_err().to_string();
        assert!(refused.contains("`time_zone`"), "{refused}");
        assert!(refused.contains("IDP_TIME_ZONE"), "{refused}");
    }

    #[test]
    fn a_file_of_attestation_cas_that_cannot_be_used_stops_start_up() {
        let mut settings = defaults();
        assert_eq!(settings.factors.passkey_attestation_cas_file(), None);
        settings.factors.passkey_attestation_cas = Some(PathBuf::new());
        assert_eq!(settings.factors.passkey_attestation_cas_file(), None);
        assert!(settings.validate().is_ok());
        let dir = std::env::temp_dir().join(format!("idp-cas-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        for file in [&missing, &not_pem] {
            settings.factors.passkey_attestation_cas = Some(file.clone());
            let refused = settings.validate().unwrap_err().to_string();
            assert!(
                refused.contains("`factors.passkey_attestation_cas`"),
                "{refused}"
            );
            assert!(
                refused.contains("IDP_FACTORS__PASSKEY_ATTESTATION_CAS"),
                "{refused}"
            );
            assert!(refused.contains(&file.display().to_string()), "{refused}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
