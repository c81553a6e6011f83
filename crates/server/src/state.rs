//! What every handler can reach: settings, stores, keys, hashers and the clock.

use std::sync::Arc;
use std::time::Duration;

use idp_core::Clock;
use idp_core::hashing::HashPool;
use idp_core::password_policy::PasswordPolicy;
use idp_pin_verifier::{PinPolicy, PinVerifier};
use idp_token_issuer::KeySet;

use crate::config::Settings;
use crate::secrets::Secrets;
use idp_core::store::Stores;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    pub stores: Stores,
    /// Refresh-token rotations that answer before they are durable (see `EarlyRotation`).
    pub rotations: Arc<dyn idp_store_sql::EarlyRotation>,
    /// Redis, where configured: it also carries key-change notices between nodes.
    pub redis: Option<Arc<idp_store_redis::RedisStore>>,
    published: std::sync::RwLock<Arc<Published>>,
    /// Seals private signing keys at rest.
    pub key_sealing: [u8; 32],
    pub hasher: HashPool,
    pub pins: PinVerifier,
    pub password_policy: PasswordPolicy,
    /// A hash of a random password, verified when the username is unknown so that an unknown
    /// username costs the same time as a wrong password.
    pub dummy_password_hash: String,
    pub csrf_key: [u8; 32],
    /// Keys the audit log's hash chain (derived from the PIN key).
    pub audit_key: [u8; 32],
    /// Where audit events wait while the database does not take them: opened by the server
    /// (`audit::start_spool`), never by the command line.
    pub audit_spool: std::sync::OnceLock<Arc<crate::audit::spool::Spool>>,
    /// One-time codes sent by e-mail or text.
    pub codes: idp_recovery::CodeIssuer,
    pub notifier: crate::notify::Notifier,
    /// For calls to relying parties (back-channel logout): short timeout, no redirects.
    pub http: reqwest::Client,
    pub metrics: crate::metrics::Metrics,
    /// The last readiness probe (see `routes::readyz`).
    pub readiness: crate::routes::readiness::Readiness,
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Store(#[from] idp_core::StoreError),
    #[error("password hashing: {0}")]
    Hash(#[from] idp_core::hashing::HashError),
    #[error("signing keys: {0}")]
    Keys(#[from] idp_token_issuer::TokenError),
}

impl AppState {
    /// Opens the stores, loads or creates the signing keys and the secrets, and builds the state.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        // Owner-only: the directory holds the database and, on loopback, the generated keys.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&settings.data_dir)
            .map_err(|e| {
                crate::config::ConfigError(format!(
                    "invalid setting `data_dir` (IDP_DATA_DIR): cannot create {}: {e}",
                    settings.data_dir.display()
                ))
            })?;
        let secrets = Secrets::load(&settings)?;
        let crate::store::Opened {
            stores,
            rotations,
            redis,
        } = crate::store::open(&settings, secrets.derive("redis-records"), clock.clone()).await?;
        secrets.check_recorded(stores.keys.as_ref(), false).await?;
        let key_sealing = secrets.derive("signing-keys");
        crate::keys::ensure_active_in_cluster(&stores, &key_sealing, clock.as_ref()).await?;
        let keys = crate::keys::load(stores.keys.as_ref(), &key_sealing).await?;
        secrets.check_recorded(stores.keys.as_ref(), true).await?;
        let hasher = HashPool::new(
            settings.hashing.params(),
            settings.max_concurrent_hashes(),
            Duration::from_secs(settings.hashing.queue_timeout_secs),
        )?;
        let pins = PinVerifier::new(
            hasher.clone(),
            Arc::from(&secrets.pin_key[..]),
            stores.pin_attempts.clone(),
            settings.pin.max_attempts,
            PinPolicy {
                min_length: settings.pin.min_length,
                max_length: settings.pin.max_length,
            },
        );
        let dummy_password_hash = hasher
            .hash(idp_core::random::random_token(32), None)
            .await?;
        let published = Published::new(&settings, keys);
        Ok(Self(Arc::new(Inner {
            password_policy: PasswordPolicy {
                min_length: settings.password.min_length,
                ..PasswordPolicy::default()
            },
            csrf_key: secrets.derive("csrf"),
            // From the PIN key, which is never replaced: a master-key rewrap leaves the chain
            // whole.
            audit_key: crate::secrets::derive(&secrets.pin_key, "audit-chain"),
            audit_spool: std::sync::OnceLock::new(),
            codes: idp_recovery::CodeIssuer::new(
                secrets.derive("one-time-codes"),
                settings.codes.lifetime_secs,
            )
            .with_max_failures(settings.codes.max_failures),
            notifier: crate::notify::Notifier::new(
                &settings,
                stores.outbox.clone(),
                clock.clone(),
            )?,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| {
                    crate::config::ConfigError(format!("cannot build the HTTP client: {e}"))
                })?,
            metrics: crate::metrics::Metrics::default(),
            readiness: crate::routes::readiness::Readiness::default(),
            settings,
            clock,
            stores,
            rotations,
            redis,
            published: std::sync::RwLock::new(Arc::new(published)),
            key_sealing,
            hasher,
            pins,
            dummy_password_hash,
        })))
    }

    /// The published keys, as of the last lifecycle tick.
    pub fn keys(&self) -> Arc<KeySet> {
        self.published().keys.clone()
    }

    /// The keys with the documents that describe them, rendered once per key change.
    pub fn published(&self) -> Arc<Published> {
        match self.published.read() {
            Ok(published) => published.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set_keys(&self, keys: KeySet) {
        let published = Arc::new(Published::new(&self.settings, keys));
        let mut slot = match self.published.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = published;
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// The signing keys and, rendered once when they change, the JWKS and the discovery document
/// (which names the keys' algorithms): serving either copies no more than a pointer.
pub struct Published {
    pub keys: Arc<KeySet>,
    /// Access tokens whose signature these keys verified, by SHA-256 of the token: a resource
    /// server introspects the same token again and again. Gone with the keys (a revoked key's
    /// tokens are never found here again); expiry and revocation are checked on every use.
    verified:
        std::sync::Mutex<std::collections::HashMap<[u8; 32], idp_token_issuer::AccessTokenClaims>>,
    pub jwks: axum::body::Bytes,
    /// The JWKS's `Cache-Control` (the pre-publication window depends on it).
    pub jwks_cache_control: axum::http::HeaderValue,
    pub discovery: axum::body::Bytes,
}

/// Verified access tokens remembered at most (past it the memory starts over).
const VERIFIED_TOKENS: usize = 10_000;

impl Published {
    /// The claims of an access token these keys signed (signature, `typ` and issuer checked),
    /// verified once per token.
    pub fn access_token_claims(
        &self,
        token: &str,
        issuer: &str,
    ) -> Option<idp_token_issuer::AccessTokenClaims> {
        use sha2::Digest as _;
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if let Ok(verified) = self.verified.lock()
            && let Some(claims) = verified.get(&digest)
        {
            return Some(claims.clone());
        }
        let claims: idp_token_issuer::AccessTokenClaims = self
            .keys
            .verify_ignoring_expiry(token, "at+jwt", issuer)
            .ok()?;
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= VERIFIED_TOKENS {
                verified.clear();
            }
            verified.insert(digest, claims.clone());
        }
        Some(claims)
    }

    pub fn new(settings: &Settings, keys: KeySet) -> Self {
        let jwks = serde_json::to_vec(&keys.jwks()).unwrap_or_default();
        let discovery = serde_json::to_vec(&crate::routes::discovery::document(settings, &keys))
            .unwrap_or_default();
        let max_age = format!("public, max-age={}", settings.keys.jwks_max_age_secs);
        Self {
            keys: Arc::new(keys),
            verified: std::sync::Mutex::default(),
            jwks: jwks.into(),
            jwks_cache_control: axum::http::HeaderValue::from_str(&max_age)
                .unwrap_or(axum::http::HeaderValue::from_static("no-cache")),
            discovery: discovery.into(),
        }
    }
}
