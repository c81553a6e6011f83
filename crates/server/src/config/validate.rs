//! The checks every setting passes before anything starts: each refusal names the setting,
//! its environment variable and what is wrong with it.

use std::net::SocketAddr;

use url::Url;

use super::{ConfigError, Settings, invalid};

impl Settings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let issuer = Url::parse(&self.issuer).map_err(|e| invalid("issuer", e))?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(invalid("issuer", "may not have a query or fragment"));
        }
        if self.issuer.ends_with('/') {
            return Err(invalid("issuer", "may not end with `/`"));
        }
        match issuer.scheme() {
            "https" => {}
            "http" if self.issuer_is_loopback() => {}
            _ => {
                return Err(invalid(
                    "issuer",
                    "must be https (http only on a loopback address)",
                ));
            }
        }
        crate::brand::check(&self.brand).map_err(|(name, why)| invalid(name, why))?;
        self.validate_mtls()?;
        if let Some(path) = self.factors.passkey_attestation_cas_file() {
            crate::factors::attestation_cas(path)
                .map_err(|why| invalid("factors.passkey_attestation_cas", why))?;
        }
        self.listen
            .parse::<SocketAddr>()
            .map_err(|e| invalid("listen", format!("`{}`: {e}", self.listen)))?;
        idp_store_sql::Backend::of(&self.database_url).map_err(|e| invalid("database_url", e))?;
        if !(1..=1000).contains(&self.database_max_connections) {
            return Err(invalid(
                "database_max_connections",
                "must be between 1 and 1000",
            ));
        }
        if let Some(url) = &self.redis_url {
            let scheme = Url::parse(url)
                .map(|u| u.scheme().to_owned())
                .unwrap_or_default();
            if scheme != "redis" && scheme != "rediss" {
                return Err(invalid(
                    "redis_url",
                    "must be a redis:// or rediss:// (TLS) URL",
                ));
            }
            // Redis holds sessions: outside a loopback installation it must ask for a password.
            let has_password = Url::parse(url).is_ok_and(|u| u.password().is_some());
            if !has_password && !self.issuer_is_loopback() {
                return Err(invalid(
                    "redis_url",
                    "needs a password (redis://:PASSWORD@HOST:6379, or redis://USER:PASSWORD@...) when the issuer is not a loopback address",
                ));
            }
        }
        crate::i18n::when::Zone::parse(&self.time_zone).map_err(|e| invalid("time_zone", e))?;
        if let Some(metrics) = &self.metrics_listen {
            metrics
                .parse::<SocketAddr>()
                .map_err(|e| invalid("metrics_listen", format!("`{metrics}`: {e}")))?;
        }
        if let Some(url) = &self.smtp_url {
            let scheme = Url::parse(url)
                .map(|u| u.scheme().to_owned())
                .unwrap_or_default();
            if scheme != "smtp" && scheme != "smtps" {
                return Err(invalid("smtp_url", "must be an smtp:// or smtps:// URL"));
            }
        }
        if self.smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "smtp_from",
                "must be an address like `Sign-in <no-reply@example.com>`",
            ));
        }
        if let Some(url) = &self.sms_webhook_url {
            let parsed = Url::parse(url).map_err(|e| invalid("sms_webhook_url", e))?;
            if parsed.scheme() != "https" && parsed.scheme() != "http" {
                return Err(invalid("sms_webhook_url", "must be an http(s) URL"));
            }
        }
        if !self.allow_plaintext_backends {
            for link in self.plaintext_links() {
                if !link.to_loopback {
                    return Err(invalid(
                        link.setting,
                        format!(
                            "reaches {} without TLS ({}), or set allow_plaintext_backends = true if that network is private",
                            link.host, link.use_instead
                        ),
                    ));
                }
            }
        }
        let hashing = &self.hashing;
        hashing
            .params()
            .to_argon2()
            .map_err(|e| invalid("hashing", e))?;
        if hashing.memory_kib < 8 * 1024 {
            return Err(invalid("hashing.memory_kib", "must be at least 8192"));
        }
        if self.password.min_length < 8 {
            return Err(invalid("password.min_length", "must be at least 8"));
        }
        if self.pin.min_length < 4 || self.pin.max_length < self.pin.min_length {
            return Err(invalid(
                "pin.min_length",
                "must be at least 4 and at most pin.max_length",
            ));
        }
        if self.pin.max_length > 32 {
            return Err(invalid("pin.max_length", "must be at most 32"));
        }
        if !(1..=100).contains(&self.pin.max_attempts) {
            return Err(invalid("pin.max_attempts", "must be between 1 and 100"));
        }
        if !(1..=100).contains(&self.codes.max_failures) {
            return Err(invalid("codes.max_failures", "must be between 1 and 100"));
        }
        for (name, value) in [
            (
                "tokens.authorization_code_ttl",
                self.tokens.authorization_code_ttl,
            ),
            ("tokens.access_token_ttl", self.tokens.access_token_ttl),
            ("tokens.id_token_ttl", self.tokens.id_token_ttl),
            ("tokens.refresh_token_ttl", self.tokens.refresh_token_ttl),
            ("session.ttl", self.session.ttl),
            ("session.interaction_ttl", self.session.interaction_ttl),
            ("codes.lifetime_secs", self.codes.lifetime_secs),
        ] {
            if value <= 0 {
                return Err(invalid(name, "must be a positive number of seconds"));
            }
        }
        let keys = &self.keys;
        let lag = i64::try_from(keys.tick_secs).unwrap_or(i64::MAX);
        if keys.tick_secs == 0 || keys.rotation_interval_secs < 0 || keys.jwks_max_age_secs < 0 {
            return Err(invalid(
                "keys",
                "tick_secs must be positive, the others not negative",
            ));
        }
        // Caches must hold a key before it signs, even on a node that learns of it a tick late.
        if keys.prepublish_secs < keys.jwks_max_age_secs.saturating_add(lag) {
            return Err(invalid(
                "keys.prepublish_secs",
                "must be at least keys.jwks_max_age_secs + keys.tick_secs",
            ));
        }
        // A retired key verifies what it signed until that has expired, ID tokens used as
        // id_token_hint during the session included.
        let longest = self
            .tokens
            .access_token_ttl
            .max(self.tokens.id_token_ttl)
            .max(self.session.ttl);
        if keys.retired_lifetime_secs < longest.saturating_add(lag) {
            return Err(invalid(
                "keys.retired_lifetime_secs",
                "must be at least the longest token or session lifetime + keys.tick_secs",
            ));
        }
        if self.tokens.authorization_code_ttl > 600 {
            return Err(invalid(
                "tokens.authorization_code_ttl",
                "must be at most 600 (RFC 6749 §4.1.2)",
            ));
        }
        Ok(())
    }
}

/// Headers a client sends or the protocol reads: never a proxy's certificate header.
const CLIENT_HEADERS: [&str; 12] = [
    "authorization",
    "cookie",
    "dpop",
    "host",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "content-type",
    "content-length",
    "user-agent",
    "accept",
];

impl Settings {
    /// Mutual TLS: the certificate header is a header name, read only from trusted proxies
    /// (so some must be listed), and the aliases' base is an https URL of its own.
    fn validate_mtls(&self) -> Result<(), ConfigError> {
        let mtls = &self.mtls;
        if !mtls.offered() {
            for (name, value) in [
                ("mtls.endpoint_aliases_base", &mtls.endpoint_aliases_base),
                ("mtls.verify_header", &mtls.verify_header),
            ] {
                if !value.is_empty() {
                    return Err(invalid(
                        name,
                        "needs mtls.certificate_header: without it no client certificate is read",
                    ));
                }
            }
            return Ok(());
        }
        let headers = [
            ("mtls.certificate_header", mtls.certificate_header.as_str()),
            ("mtls.verify_header", mtls.verify_header.as_str()),
        ];
        for (name, value) in headers {
            if value.is_empty() && name == "mtls.verify_header" {
                continue;
            }
            let header = axum::http::HeaderName::from_bytes(value.as_bytes())
                .map_err(|_| invalid(name, "is not a header name"))?;
            if CLIENT_HEADERS.contains(&header.as_str()) {
                return Err(invalid(
                    name,
                    format!("`{value}` is a header clients send: name one the proxy sets"),
                ));
            }
        }
        if mtls
            .certificate_header
            .eq_ignore_ascii_case(&mtls.verify_header)
        {
            return Err(invalid(
                "mtls.verify_header",
                "must differ from mtls.certificate_header",
            ));
        }
        if self.trusted_proxies.is_empty() {
            return Err(invalid(
                "mtls.certificate_header",
                "is read only from trusted_proxies, and none is listed: name the proxy that ends TLS",
            ));
        }
        if !mtls.endpoint_aliases_base.is_empty() {
            let base = Url::parse(&mtls.endpoint_aliases_base)
                .map_err(|e| invalid("mtls.endpoint_aliases_base", e))?;
            let loopback = self.issuer_is_loopback() && base.scheme() == "http";
            if (base.scheme() != "https" && !loopback)
                || base.query().is_some()
                || base.fragment().is_some()
                || mtls.endpoint_aliases_base.ends_with('/')
            {
                return Err(invalid(
                    "mtls.endpoint_aliases_base",
                    "must be an https URL without a query, a fragment or a trailing `/`",
                ));
            }
        }
        Ok(())
    }
}
