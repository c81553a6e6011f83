//! The server-side secrets that are not in the database: the master key and the PIN key.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use idp_core::store::KeyStore;

use crate::config::{ConfigError, Settings};
use crate::start::StartError;

pub struct Secrets {
    pub master_key: [u8; 32],
    pub pin_key: [u8; 32],
}

impl Secrets {
    /// Reads the keys from the settings. With a loopback issuer, a missing key is generated
    /// into `data_dir` (mode 0600) and kept there; elsewhere a missing key stops start-up.
    pub fn load(settings: &Settings) -> Result<Self, ConfigError> {
        Ok(Self {
            master_key: key(settings, "master_key", settings.master_key.as_deref())?,
            pin_key: key(settings, "pin_key", settings.pin_key.as_deref())?,
        })
    }

    /// A key for one purpose, derived from the master key, so that no two uses share a key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        derive(&self.master_key, purpose)
    }

    /// Compares the keys with the ones the database was set up with, and with `record`
    /// records them where none are yet (the first start, or the first after an upgrade: done
    /// once the signing keys opened, so that a wrong master key is never recorded). Every
    /// node must hold the same keys: a node with another PIN key would refuse every PIN made
    /// elsewhere and lock people out, one with another master key would answer with codes
    /// and CSRF tokens no other node accepts.
    pub async fn check_recorded(
        &self,
        keys: &dyn KeyStore,
        record: bool,
    ) -> Result<(), StartError> {
        for (name, key, what) in [
            ("master_key", &self.master_key, "master key"),
            ("pin_key", &self.pin_key, "PIN key"),
        ] {
            let ours = fingerprint(key);
            let recorded = if record {
                Some(keys.record_fingerprint(name, &ours).await?)
            } else {
                keys.recorded_fingerprint(name).await?
            };
            if recorded.is_some_and(|recorded| recorded != ours) {
                return Err(ConfigError(format!(
                    "setting `{name}` (IDP_{}) is not the {what} this database was set up with: every node must hold the same one (a master key is replaced only with `idp keys rewrap`)",
                    name.to_uppercase()
                ))
                .into());
            }
        }
        Ok(())
    }
}

/// What the database records of a key: HMAC-SHA-256 of a fixed label under it, which says
/// whether two keys are the same and nothing about either.
pub fn fingerprint(key: &[u8; 32]) -> String {
    STANDARD.encode(derive(key, "key-fingerprint"))
}

/// A key for `purpose`, derived from `master` (HMAC-SHA-256 as a PRF).
pub fn derive(master: &[u8; 32], purpose: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(master)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The file a loopback installation keeps its generated master key in, when no
/// `master_key` is configured.
pub fn generated_master_key_file(settings: &Settings) -> Option<std::path::PathBuf> {
    settings
        .master_key
        .is_none()
        .then(|| settings.data_dir.join("master.key"))
}

/// Decodes a master key given as base64 (as `IDP_MASTER_KEY` is).
pub fn parse_master_key(text: &str) -> Result<[u8; 32], ConfigError> {
    decode("master_key", text)
}

/// Replaces the generated master key file, atomically.
pub fn replace_master_key_file(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    let temporary = path.with_extension("key.new");
    let _ = std::fs::remove_file(&temporary);
    write_private(&temporary, &STANDARD.encode(key))?;
    std::fs::rename(&temporary, path)
}

fn decode(name: &str, value: &str) -> Result<[u8; 32], ConfigError> {
    let env = format!("IDP_{}", name.to_uppercase());
    STANDARD
        .decode(value.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            ConfigError(format!(
                "invalid setting `{name}` ({env}): must be 32 bytes in base64 (openssl rand -base64 32)"
            ))
        })
}

fn key(settings: &Settings, name: &str, configured: Option<&str>) -> Result<[u8; 32], ConfigError> {
    if let Some(value) = configured {
        return decode(name, value);
    }
    let env = format!("IDP_{}", name.to_uppercase());
    if !settings.issuer_is_loopback() {
        return Err(ConfigError(format!(
            "setting `{name}` ({env}) is required when the issuer is not a loopback address"
        )));
    }
    let path = settings
        .data_dir
        .join(format!("{}.key", name.trim_end_matches("_key")));
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        return decode(name, &text);
    }
    let generated = idp_core::random::random_key();
    write_private(&path, &STANDARD.encode(generated))
        .map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))?;
    tracing::warn!(
        path = %path.display(),
        "generated `{name}` for this loopback installation; set {env} in production"
    );
    Ok(generated)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}
