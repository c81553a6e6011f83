//! Passkeys (WebAuthn Level 3): the relying party's side of registration and authentication
//! ceremonies, through webauthn-rs. The server keeps two kinds of opaque JSON bytes: the
//! ceremony state between `start_*` and `finish_*` (in a shared ephemeral store, so that any
//! node can finish it) and each stored passkey (its public key, counter and flags).
//!
//! User verification is always required (WebAuthn §6.2.3): a passkey here is a factor of its
//! own (possession, and a PIN or biometric on the device), not a bare security key.
//!
//! Attestation (WebAuthn §5.4.7) is asked for only when the operator lists trusted attestation
//! CAs ([`AttestationCas`], given to [`RelyingParty::with_attestation`]). Without a list,
//! registration asks for `none`: consumer passkeys rarely give one and nothing depends on the
//! authenticator's make. With a list, registration is webauthn-rs's attested passkey
//! ceremony: attestation `direct` (`packed` or `tpm`), user verification required, synced
//! (backup-eligible) credentials refused, and only an authenticator whose attestation chains
//! to one of the listed CAs is registered; what is stored says so (`"attested": true` beside
//! webauthn-rs's `AttestedPasskey`, whose credential keeps the attestation chain).
//!
//! Passkeys registered without attestation (before the list was set) are refused at sign-in
//! while a list is set: they are not offered, and an answer from one is refused
//! ([`PasskeyError::NotAttested`]); the person registers an attested one. Each sign-in also
//! re-checks the stored chain against the list as it is now (webauthn-rs's
//! `verify_attestation`, at the current time): taking a CA out of the file refuses the
//! passkeys it vouched for, and so does an attestation certificate that has expired since.
//! Without a list every stored passkey, attested or not, signs in as before.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use url::Url;
use webauthn_rs::prelude::{
    AttestationCaList, AttestedPasskey, AttestedPasskeyAuthentication, AttestedPasskeyRegistration,
    AuthenticationResult, CredentialID, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// Why a ceremony could not start or was refused. Messages name the check, never the bytes of a
/// challenge, state or key. The answer's faults (`Malformed` to `AlreadyRegistered`) are the
/// browser's or the person's; `CorruptState` and `CorruptStored` are ours.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The RP ID is not a domain (an IP address is not allowed by WebAuthn §5.1.3), or is not
    /// the origin's host or a parent domain of it.
    #[error("the relying party settings cannot be used for passkeys")]
    Configuration,
    /// webauthn-rs refused to start a ceremony (an empty user name, for one).
    #[error("a passkey ceremony could not be started")]
    Start(#[source] WebauthnError),
    /// Authentication was asked for a person without passkeys.
    #[error("there is no passkey to authenticate with")]
    NoPasskey,
    /// The browser's answer is not a WebAuthn credential in JSON.
    #[error("the authenticator's answer is malformed")]
    Malformed,
    /// The answer does not verify: another challenge, origin or RP ID, a wrong signature, an
    /// algorithm not offered, flags that contradict the credential.
    #[error("the authenticator's answer was refused")]
    Refused(#[source] WebauthnError),
    /// The authenticator did not verify the person (the UV flag, WebAuthn §6.1) although it was
    /// required.
    #[error("the authenticator did not verify the user")]
    UserNotVerified,
    /// The signature counter did not go up although it is counting (WebAuthn §6.1.1): the
    /// credential may have been cloned, or the assertion replayed.
    #[error("the passkey's signature counter did not increase")]
    CounterWentBack,
    /// The answer is signed by a credential that is not among the person's stored passkeys.
    #[error("the passkey is not one of this account's")]
    UnknownCredential,
    /// Registration of a credential the person already has (it was excluded).
    #[error("the passkey is already registered")]
    AlreadyRegistered,
    /// The ceremony state given to `finish_*` cannot be read: not bytes from `start_*`.
    #[error("the passkey ceremony state is corrupt")]
    CorruptState,
    /// A stored passkey cannot be read.
    #[error("a stored passkey is corrupt")]
    CorruptStored,
    /// Attestation is required and the passkey was registered without it, or its stored
    /// attestation no longer chains to a listed CA: the person registers an attested one.
    #[error("the passkey is not attested by a trusted authority")]
    NotAttested,
}

/// Why a file of attestation CA certificates cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AttestationCasError {
    #[error("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    Empty,
    #[error("certificate {0} (counting from 1) is not a PEM-encoded X.509 certificate")]
    Certificate(usize),
}

/// The attestation CAs an authenticator must chain to (the roots of the makes the operator
/// trusts, such as a vendor's FIDO attestation root), each trusted for any of its models.
#[derive(Debug, Clone)]
pub struct AttestationCas(AttestationCaList);

impl AttestationCas {
    /// Reads a PEM file's certificates (`-----BEGIN CERTIFICATE-----` blocks; text between
    /// them, such as comments, is ignored).
    pub fn from_pem(pem: &[u8]) -> Result<Self, AttestationCasError> {
        let text = String::from_utf8_lossy(pem);
        let mut list = AttestationCaList::default();
        let mut block: Option<String> = None;
        let mut count = 0;
        for line in text.lines().map(str::trim) {
            match (&mut block, line) {
                (None, "-----BEGIN CERTIFICATE-----") => block = Some(String::new()),
                (Some(_), "-----BEGIN CERTIFICATE-----") => {
                    return Err(AttestationCasError::Certificate(count + 1));
                }
                (Some(body), "-----END CERTIFICATE-----") => {
                    count += 1;
                    let one =
                        one_certificate(body).ok_or(AttestationCasError::Certificate(count))?;
                    list.union(&one);
                    block = None;
                }
                (Some(body), line) => body.push_str(line),
                (None, _) => {}
            }
        }
        if block.is_some() {
            return Err(AttestationCasError::Certificate(count + 1));
        }
        if list.is_empty() {
            return Err(AttestationCasError::Empty);
        }
        Ok(Self(list))
    }

    /// How many CAs the list holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a list read by [`AttestationCas::from_pem`].
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One certificate's base64 body, re-wrapped as strict PEM (64 characters a line) for
/// webauthn-rs, so that files wrapped otherwise are read too.
fn one_certificate(body: &str) -> Option<AttestationCaList> {
    let der = STANDARD.decode(body).ok()?;
    let encoded = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).ok()?);
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    AttestationCaList::try_from(pem.as_bytes()).ok()
}

/// The relying party: the issuer's host as RP ID and its origin, and the attestation CAs
/// registration requires, if any.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    webauthn: Webauthn,
    attestation: Option<AttestationCaList>,
}

/// A passkey just registered. `stored` is what to keep; `credential_id` (base64url, no padding)
/// is how the browser will name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPasskey {
    pub credential_id: String,
    pub stored: Vec<u8>,
    /// The credential may be synced or backed up (WebAuthn §6.1.3, BE).
    pub backup_eligible: bool,
    /// The credential is backed up now (BS).
    pub backup_state: bool,
}

/// A successful authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Used {
    pub credential_id: String,
    /// The stored passkey with its new counter or flags, to write back in place of the old
    /// bytes; `None` when nothing changed (most synced passkeys never count).
    pub updated: Option<Vec<u8>>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    /// The authenticator's signature counter; 0 when it does not count.
    pub counter: u32,
}

/// A stored passkey registered with attestation: `"attested": true` beside the fields of
/// webauthn-rs's `AttestedPasskey` (`{"cred": ..}`, the same as a [`Passkey`]'s, so that one
/// reads as the other).
#[derive(Deserialize)]
struct Marker {
    #[serde(default)]
    attested: bool,
}

/// The fields of a serialised [`Passkey`] read here. webauthn-rs keeps them private; its
/// serialised form (`{"cred": {"counter": .., "backup_eligible": .., ..}}`) is the format
/// of stored credentials it promises to read back, and the tests hold it.
#[derive(Deserialize)]
struct StoredFacts {
    cred: CredentialFacts,
}

#[derive(Deserialize)]
struct CredentialFacts {
    counter: u32,
    backup_eligible: bool,
    backup_state: bool,
}

impl RelyingParty {
    /// `rp_id`: the issuer's host name (a domain; `localhost` works in browsers, IP addresses do
    /// not); `origin`: the issuer's origin (scheme://host[:port]); `rp_name`: shown by some
    /// authenticators. The RP ID cannot change later without losing every passkey.
    pub fn new(rp_id: &str, origin: &Url, rp_name: &str) -> Result<Self, PasskeyError> {
        if !matches!(url::Host::parse(rp_id), Ok(url::Host::Domain(_))) {
            return Err(PasskeyError::Configuration);
        }
        let webauthn = WebauthnBuilder::new(rp_id, origin)
            .map_err(|_| PasskeyError::Configuration)?
            .rp_name(rp_name)
            .build()
            .map_err(|_| PasskeyError::Configuration)?;
        Ok(Self {
            webauthn,
            attestation: None,
        })
    }

    /// Requires attestation: registration accepts only an authenticator whose attestation
    /// chains to one of `cas`, and sign-in only passkeys so registered (see the module's
    /// documentation).
    pub fn with_attestation(mut self, cas: AttestationCas) -> Self {
        self.attestation = Some(cas.0);
        self
    }

    /// Whether registration requires attestation.
    pub fn requires_attestation(&self) -> bool {
        self.attestation.is_some()
    }

    /// Starts registering a passkey for a person: the options for the browser's
    /// `navigator.credentials.create({publicKey})` as JSON (`{"publicKey": ..}`), and the
    /// ceremony state as bytes.
    ///
    /// The state MUST stay on the server (the database or Redis, keyed by the sign-in or
    /// session): webauthn-rs's `danger-allow-state-serialisation` warns that a state the client
    /// can hold or give back (a cookie) allows replaying an old challenge and its answer without
    /// the authenticator. Take it out of the store once, when finishing, and let it expire with
    /// the browser's timeout. It holds no secret, but webauthn-rs trusts all of it (the
    /// challenge, the user-verification policy and, for authentication, the public keys and
    /// counters of the person's passkeys): whoever could write it could put in a key of their
    /// own, so it must come back exactly as it was stored (Redis records are sealed, O4).
    ///
    /// `user_handle`: a stable, opaque 16-byte id per person (never an e-mail address: the
    /// authenticator keeps it); `existing`: the raw ids of the person's passkeys, which the
    /// authenticator must not register again.
    pub fn start_registration(
        &self,
        user_handle: [u8; 16],
        username: &str,
        display_name: &str,
        existing: &[Vec<u8>],
    ) -> Result<(serde_json::Value, Vec<u8>), PasskeyError> {
        let exclude: Vec<CredentialID> = existing.to_vec();
        let exclude = (!exclude.is_empty()).then_some(exclude);
        let user = Uuid::from_bytes(user_handle);
        if let Some(cas) = &self.attestation {
            let (options, state) = self
                .webauthn
                .start_attested_passkey_registration(
                    user,
                    username,
                    display_name,
                    exclude,
                    cas.clone(),
                    None,
                )
                .map_err(PasskeyError::Start)?;
            return Ok((to_json(&options)?, to_bytes(&state)?));
        }
        let (options, state) = self
            .webauthn
            .start_passkey_registration(user, username, display_name, exclude)
            .map_err(PasskeyError::Start)?;
        Ok((to_json(&options)?, to_bytes(&state)?))
    }

    /// Finishes a registration with the browser's answer (the `PublicKeyCredential` of
    /// `create()` in its JSON form) and the state `start_registration` gave.
    ///
    /// The server must still refuse a credential id already stored for anyone (WebAuthn §7.1
    /// step 26): a unique index does it.
    pub fn finish_registration(
        &self,
        answer: &serde_json::Value,
        state: &[u8],
    ) -> Result<NewPasskey, PasskeyError> {
        let answer =
            RegisterPublicKeyCredential::deserialize(answer).map_err(|_| PasskeyError::Malformed);
        let (credential_id, stored) = if self.attestation.is_some() {
            let state: AttestedPasskeyRegistration =
                serde_json::from_slice(state).map_err(|_| PasskeyError::CorruptState)?;
            let passkey = self
                .webauthn
                .finish_attested_passkey_registration(&answer?, &state)
                .map_err(refusal)?;
            (passkey.cred_id().clone(), to_stored(&passkey, true)?)
        } else {
            let state: PasskeyRegistration =
                serde_json::from_slice(state).map_err(|_| PasskeyError::CorruptState)?;
            let passkey = self
                .webauthn
                .finish_passkey_registration(&answer?, &state)
                .map_err(refusal)?;
            (passkey.cred_id().clone(), to_stored(&passkey, false)?)
        };
        let facts = facts(&stored)?;
        Ok(NewPasskey {
            credential_id: URL_SAFE_NO_PAD.encode(credential_id),
            stored,
            backup_eligible: facts.backup_eligible,
            backup_state: facts.backup_state,
        })
    }

    /// Starts an authentication with the person's stored passkeys: the options for
    /// `navigator.credentials.get({publicKey})` as JSON, and the ceremony state as bytes.
    ///
    /// As for registration, the state MUST stay on the server and be taken once: an answer
    /// is bound to its challenge only as long as no one can present the same state twice.
    ///
    /// When attestation is required, only the attested passkeys whose stored chain still
    /// verifies against the list are offered; [`PasskeyError::NotAttested`] when none is.
    pub fn start_authentication(
        &self,
        stored: &[Vec<u8>],
    ) -> Result<(serde_json::Value, Vec<u8>), PasskeyError> {
        if stored.is_empty() {
            return Err(PasskeyError::NoPasskey);
        }
        if let Some(cas) = &self.attestation {
            let mut passkeys = Vec::new();
            for bytes in stored {
                if let Some(passkey) = read_attested(bytes, cas)? {
                    passkeys.push(passkey);
                }
            }
            if passkeys.is_empty() {
                return Err(PasskeyError::NotAttested);
            }
            let (options, state) = self
                .webauthn
                .start_attested_passkey_authentication(&passkeys)
                .map_err(PasskeyError::Start)?;
            return Ok((to_json(&options)?, to_bytes(&state)?));
        }
        let passkeys = stored
            .iter()
            .map(|bytes| read_passkey(bytes))
            .collect::<Result<Vec<_>, _>>()?;
        let (options, state) = self
            .webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(PasskeyError::Start)?;
        Ok((to_json(&options)?, to_bytes(&state)?))
    }

    /// Finishes an authentication with the browser's answer (the `PublicKeyCredential` of
    /// `get()` in JSON), the state `start_authentication` gave, and the person's stored
    /// passkeys as they are now.
    ///
    /// Refuses a credential no longer stored, an answer without user verification, and a
    /// counter that did not go up from the stored one (webauthn-rs compares with the counter
    /// in the state, from the start of this ceremony; this compares with the newest, so two
    /// ceremonies run side by side cannot both use the same count). A counter that stays 0 is
    /// accepted: many passkeys never count, and for them only taking the state once stops an
    /// answer from being replayed. Write `updated` back when it is `Some`.
    pub fn finish_authentication(
        &self,
        answer: &serde_json::Value,
        state: &[u8],
        stored: &[Vec<u8>],
    ) -> Result<Used, PasskeyError> {
        if let Some(cas) = &self.attestation {
            let state: AttestedPasskeyAuthentication =
                serde_json::from_slice(state).map_err(|_| PasskeyError::CorruptState)?;
            let answer =
                PublicKeyCredential::deserialize(answer).map_err(|_| PasskeyError::Malformed)?;
            let (bytes, facts) = stored_passkey(stored, answer.raw_id.as_slice())?;
            let mut passkey = read_attested(bytes, cas)?.ok_or(PasskeyError::NotAttested)?;
            let result = self
                .webauthn
                .finish_attested_passkey_authentication(&answer, &state)
                .map_err(refusal)?;
            check(&result, &facts)?;
            let updated = match passkey.update_credential(&result) {
                Some(true) => Some(to_stored(&passkey, true)?),
                Some(false) => None,
                None => return Err(PasskeyError::UnknownCredential),
            };
            return Ok(used(&result, updated));
        }
        let state: PasskeyAuthentication =
            serde_json::from_slice(state).map_err(|_| PasskeyError::CorruptState)?;
        let answer =
            PublicKeyCredential::deserialize(answer).map_err(|_| PasskeyError::Malformed)?;
        let (bytes, facts) = stored_passkey(stored, answer.raw_id.as_slice())?;
        let mut passkey = read_passkey(bytes)?;
        let result = self
            .webauthn
            .finish_passkey_authentication(&answer, &state)
            .map_err(refusal)?;
        check(&result, &facts)?;
        let updated = match passkey.update_credential(&result) {
            // An attested passkey used while attestation is not required stays marked.
            Some(true) => Some(to_stored(&passkey, marker(bytes)?)?),
            Some(false) => None,
            None => return Err(PasskeyError::UnknownCredential),
        };
        Ok(used(&result, updated))
    }
}

/// The checks after webauthn-rs's: user verification, and the counter against the stored one.
fn check(result: &AuthenticationResult, stored: &CredentialFacts) -> Result<(), PasskeyError> {
    if !result.user_verified() {
        return Err(PasskeyError::UserNotVerified);
    }
    if !counter_acceptable(result.counter(), stored.counter) {
        return Err(PasskeyError::CounterWentBack);
    }
    Ok(())
}

fn used(result: &AuthenticationResult, updated: Option<Vec<u8>>) -> Used {
    Used {
        credential_id: URL_SAFE_NO_PAD.encode(result.cred_id()),
        updated,
        backup_eligible: result.backup_eligible(),
        backup_state: result.backup_state(),
        counter: result.counter(),
    }
}

/// WebAuthn §7.2 step 22: once either side counts, the new count must exceed the stored one.
fn counter_acceptable(new: u32, stored: u32) -> bool {
    (new == 0 && stored == 0) || new > stored
}

/// The stored passkey whose credential id is `raw_id`, with its counter and flags.
fn stored_passkey<'a>(
    stored: &'a [Vec<u8>],
    raw_id: &[u8],
) -> Result<(&'a [u8], CredentialFacts), PasskeyError> {
    for bytes in stored {
        if read_passkey(bytes)?.cred_id().as_slice() == raw_id {
            return Ok((bytes, facts(bytes)?));
        }
    }
    Err(PasskeyError::UnknownCredential)
}

fn read_passkey(bytes: &[u8]) -> Result<Passkey, PasskeyError> {
    serde_json::from_slice(bytes).map_err(|_| PasskeyError::CorruptStored)
}

/// A stored passkey usable while attestation is required: registered with it, and its chain
/// still verifying against `cas` now; `None` otherwise.
fn read_attested(
    bytes: &[u8],
    cas: &AttestationCaList,
) -> Result<Option<AttestedPasskey>, PasskeyError> {
    if !marker(bytes)? {
        return Ok(None);
    }
    let passkey: AttestedPasskey =
        serde_json::from_slice(bytes).map_err(|_| PasskeyError::CorruptStored)?;
    Ok(passkey.verify_attestation(cas).is_ok().then_some(passkey))
}

/// Whether a stored passkey was registered with attestation.
fn marker(bytes: &[u8]) -> Result<bool, PasskeyError> {
    serde_json::from_slice::<Marker>(bytes)
        .map(|m| m.attested)
        .map_err(|_| PasskeyError::CorruptStored)
}

/// The bytes to store for a passkey, marked when it was registered with attestation.
fn to_stored(passkey: &impl serde::Serialize, attested: bool) -> Result<Vec<u8>, PasskeyError> {
    if !attested {
        return serde_json::to_vec(passkey).map_err(|_| PasskeyError::CorruptStored);
    }
    let mut value = serde_json::to_value(passkey).map_err(|_| PasskeyError::CorruptStored)?;
    let serde_json::Value::Object(fields) = &mut value else {
        return Err(PasskeyError::CorruptStored);
    };
    fields.insert("attested".into(), serde_json::Value::Bool(true));
    serde_json::to_vec(&value).map_err(|_| PasskeyError::CorruptStored)
}

fn facts(bytes: &[u8]) -> Result<CredentialFacts, PasskeyError> {
    serde_json::from_slice::<StoredFacts>(bytes)
        .map(|facts| facts.cred)
        .map_err(|_| PasskeyError::CorruptStored)
}

/// webauthn-rs's verdict on an answer, in this crate's terms.
fn refusal(error: WebauthnError) -> PasskeyError {
    match error {
        WebauthnError::UserNotVerified => PasskeyError::UserNotVerified,
        WebauthnError::CredentialPossibleCompromise => PasskeyError::CounterWentBack,
        WebauthnError::CredentialNotFound => PasskeyError::UnknownCredential,
        WebauthnError::CredentialExcludedFromRequest | WebauthnError::CredentialAlreadyExists => {
            PasskeyError::AlreadyRegistered
        }
        other => PasskeyError::Refused(other),
    }
}

/// The options and the state as JSON. These types serialise without fail (no maps with
/// non-string keys); an error would be webauthn-rs's, so it is reported as one starting.
fn to_json(options: &impl serde::Serialize) -> Result<serde_json::Value, PasskeyError> {
    serde_json::to_value(options).map_err(|_| not_serialisable())
}

fn to_bytes(state: &impl serde::Serialize) -> Result<Vec<u8>, PasskeyError> {
    serde_json::to_vec(state).map_err(|_| not_serialisable())
}

fn not_serialisable() -> PasskeyError {
    PasskeyError::Start(WebauthnError::ChallengePersistenceError)
}

#[cfg(test)]
mod tests;
