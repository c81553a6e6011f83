//! What every handler can reach: settings, stores, keys, hashers and the clock.

use std::sync::Arc;
use std::time::Duration;

use idp_core::Clock;
use idp_core::hashing::HashPool;
use idp_core::password_policy::PasswordPolicy;
use idp_pin_verifier::{PinPolicy, PinVerifier};
use idp_token_issuer::KeySet;

use crate::config::Settings;
pub use crate::published::Published;
use crate::secrets::Secrets;
pub use crate::start::StartError;
use idp_core::store::Stores;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    pub stores: Stores,
    /// Refresh-token rotations that answer before they are durable (see `EarlyRotation`).
    pub rotations: Arc<dyn idp_store_sql::EarlyRotation>,
    /// Redis, where configured: it also carries the notices of key changes and revocations between nodes.
    pub redis: Option<Arc<idp_store_redis::RedisStore>>,
    published: std::sync::RwLock<Arc<Published>>,
    /// Seals private signing keys at rest.
    pub key_sealing: [u8; 32],
    pub hasher: HashPool,
    pub pins: PinVerifier,
    pub password_policy: PasswordPolicy,
    /// A hash no password matches (`HashPool::decoy`), verified when the username is unknown
    /// so that an unknown username costs the same time as a wrong password.
    pub dummy_password_hash: String,
    /// The audiences a client assertion may name: the issuer and the token endpoint (RFC 7523
    /// §3), made once.
    pub assertion_audiences: [String; 2],
    pub csrf_key: [u8; 32],
    /// Keys the audit log's hash chain (derived from the PIN key).
    pub audit_key: [u8; 32],
    /// Seals authenticator-app secrets and keys saved codes' hashes (derived from the PIN
    /// key, which is never replaced, so that a master-key rewrap leaves every factor working).
    pub factor_key: [u8; 32],
    /// Makes pairwise subjects (derived from the PIN key, which is never replaced: a
    /// master-key rewrap must not change the `sub` any client knows people by).
    pub pairwise_key: idp_oauth::subject::PairwiseKey,
    /// The DPoP nonces every proof must carry, when `dpop.nonces` asks for them.
    pub dpop_nonces: Option<idp_oauth::dpop::Nonces>,
    /// Passkeys' relying party: the issuer's host as RP ID. `None` where the issuer's host is
    /// an IP address, which WebAuthn does not allow: passkeys are then not offered.
    pub passkeys: Option<idp_factors::passkey::RelyingParty>,
    /// Where audit events wait while the database does not take them: opened by the server
    /// (`audit::start_spool`), never by the command line.
    pub audit_spool: std::sync::OnceLock<Arc<crate::audit::spool::Spool>>,
    /// One-time codes sent by e-mail or text.
    pub codes: idp_recovery::CodeIssuer,
    pub notifier: crate::notify::Notifier,
    /// For calls to relying parties (back-channel logout): short timeout, no redirects.
    pub http: reqwest::Client,
    /// Clients' keys fetched from their `jwks_uri`.
    pub client_keys: crate::oauth::client_keys::KeyCache,
    pub metrics: crate::metrics::Metrics,
    /// The last readiness probe (see `routes::readyz`).
    pub readiness: crate::readiness::Readiness,
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Opens the stores, loads or creates the signing keys and the secrets, and builds the state.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        Self::build_wrapping(settings, clock, |stores| stores).await
    }

    /// As `build`, with the stores passed through `wrap` once open, before anything uses them
    /// (for a store put in front of another, as a test does to stage a fault).
    pub async fn build_wrapping(
        settings: Settings,
        clock: Arc<dyn Clock>,
        wrap: impl FnOnce(Stores) -> Stores,
    ) -> Result<Self, StartError> {
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
        let stores = wrap(stores);
        secrets.check_recorded(stores.keys.as_ref(), false).await?;
        let key_sealing = secrets.derive("signing-keys");
        crate::keys::stored::ensure_active_in_cluster(&stores, &key_sealing, clock.as_ref())
            .await?;
        let keys = crate::keys::stored::load(stores.keys.as_ref(), &key_sealing).await?;
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
        let dummy_password_hash = hasher.decoy();
        let published = Published::new(&settings, keys);
        let settings_issuer = settings.issuer.clone();
        Ok(Self(Arc::new(Inner {
            password_policy: PasswordPolicy {
                min_length: settings.password.min_length,
                ..PasswordPolicy::default()
            },
            csrf_key: secrets.derive("csrf"),
            // From the PIN key, which is never replaced: a master-key rewrap leaves the chain
            // whole.
            audit_key: crate::secrets::derive(&secrets.pin_key, "audit-chain"),
            factor_key: crate::secrets::derive(&secrets.pin_key, "second-factors"),
            pairwise_key: idp_oauth::subject::PairwiseKey(crate::secrets::derive(
                &secrets.pin_key,
                "pairwise-subjects",
            )),
            dpop_nonces: settings
                .dpop
                .nonces
                .then(|| idp_oauth::dpop::Nonces::new(&secrets.derive("dpop-nonces"))),
            passkeys: crate::factors::relying_party(&settings),
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
            client_keys: crate::oauth::client_keys::KeyCache::default(),
            metrics: crate::metrics::Metrics::default(),
            readiness: crate::readiness::Readiness::default(),
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
            assertion_audiences: [settings_issuer.clone(), format!("{settings_issuer}/token")],
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

    /// The operator's settings every sign-in's policy takes.
    pub fn operator(&self) -> idp_oauth::interaction::Operator {
        idp_oauth::interaction::Operator {
            new_device_check: self.settings.new_device.enabled,
            texted_codes_count: self.settings.factors.texted_codes_count,
        }
    }

    /// The operator's protocol settings the authorization request's checks read.
    pub fn protocol(&self) -> idp_oauth::authorization_request::ProtocolOptions {
        idp_oauth::authorization_request::ProtocolOptions {
            implicit_and_hybrid: self.settings.protocol.implicit_and_hybrid,
            fapi2_all_clients: self.settings.fapi2.all_clients,
            mtls: self.settings.mtls.offer(),
        }
    }

    /// The claims of an access token this provider issued, if it is active (see
    /// `idp_oauth::access_token`); `None` if it is not, for any reason.
    pub async fn active_access_token(
        &self,
        token: &str,
    ) -> Result<Option<idp_token_issuer::AccessTokenClaims>, idp_core::StoreError> {
        Ok(self.active_token(token).await?.map(|active| active.claims))
    }

    /// An access token this provider issued, if it is active, with the person it was issued
    /// for (from its grant: the token's `sub` may be pairwise).
    pub async fn active_token(
        &self,
        token: &str,
    ) -> Result<Option<idp_oauth::access_token::ActiveToken>, idp_core::StoreError> {
        let Some(claims) = self.published().access_token_claims(token, self.issuer()) else {
            return Ok(None);
        };
        idp_oauth::access_token::active_claims(
            claims,
            self.stores.ephemeral.as_ref(),
            self.stores.grants.as_ref(),
            self.stores.clients.as_ref(),
            self.clock.as_ref(),
        )
        .await
    }

    /// The `sub` that `client` sees for the person `user_id`: their id, or a pairwise
    /// identifier for the client's sector (OpenID Connect Core §8). Every place that shows a
    /// client a person, or checks an `id_token_hint` against one, goes through here.
    pub fn subject_for(&self, client: &idp_core::model::Client, user_id: &str) -> String {
        idp_oauth::subject::subject_for(&self.pairwise_key, client, user_id)
    }
}
