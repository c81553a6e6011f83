//! The records the provider keeps.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

mod audit;
mod factors;
mod profile;
mod roles;

pub use audit::{AuditEvent, AuditFilter, AuditKind, chain_start};
pub use factors::{Factor, FactorKind};
pub use profile::{Address, Profile, ProfileError};
pub use roles::{Role, Roles};

/// A person who signs in. `id` is the stable, opaque OIDC subject (`sub`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    /// Lower-case, as normalised by [`crate::validate::username`].
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Argon2id PHC string keyed with the server-side PIN key; `None` when a new PIN must be set.
    pub pin_hash: Option<String>,
    /// PIN tries taken since the last correct PIN (see `PinAttemptStore`).
    pub pin_failures: u32,
    /// Optional security questions for recovery (empty when none are set).
    pub security_questions: Vec<crate::security_questions::SecurityAnswer>,
    pub created_at: UnixTime,
    /// Set when an administrator disabled the account.
    pub disabled_at: Option<UnixTime>,
    /// Moves on at every credential change (PIN, password, unlock, disabling); a sign-in in
    /// progress ends when it does.
    pub credential_epoch: i64,
    /// Names and address, for the standard claims.
    pub profile: Profile,
    /// What the person may do in the consoles.
    pub roles: Roles,
}

/// What sign-up (web or CLI) stores, all of it at once.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub username: String,
    pub email: String,
    /// Confirmed already (an administrator vouched for it): it receives codes at once.
    pub email_verified: bool,
    pub phone: Option<String>,
    /// Confirmed already; never without a phone.
    pub phone_verified: bool,
    pub password_hash: String,
    pub pin_hash: String,
    pub created_at: UnixTime,
}

/// How a client proves its identity at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A JWT signed with a key the client registered (RFC 7523).
    PrivateKeyJwt,
    /// A TLS client certificate from a certificate authority, naming the client as it
    /// registered (RFC 8705 §2.1).
    TlsClientAuth,
    /// A self-signed TLS client certificate, one of those the client registered in its JWK
    /// Set (RFC 8705 §2.2).
    SelfSignedTlsClientAuth,
    None,
}

impl TokenEndpointAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::TlsClientAuth => "tls_client_auth",
            Self::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
            Self::None => "none",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "private_key_jwt" => Some(Self::PrivateKeyJwt),
            "tls_client_auth" => Some(Self::TlsClientAuth),
            "self_signed_tls_client_auth" => Some(Self::SelfSignedTlsClientAuth),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// Whether the client authenticates with its TLS certificate (RFC 8705 §2).
    pub fn is_tls(self) -> bool {
        matches!(self, Self::TlsClientAuth | Self::SelfSignedTlsClientAuth)
    }
}

/// JWS algorithms the provider signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    ES256,
    RS256,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::ES256, SigningAlg::RS256, SigningAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "ES256" => Some(Self::ES256),
            "RS256" => Some(Self::RS256),
            "EdDSA" => Some(Self::EdDSA),
            _ => None,
        }
    }
}

/// A registered relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// SHA-256 of the secret (see [`crate::random::sha256_b64`]); `None` for public clients.
    pub secret_hash: Option<String>,
    /// Matched exactly, character for character (RFC 9700 §2.1).
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub id_token_signed_response_alg: SigningAlg,
    /// May call the admin API (client credentials with scope `admin`).
    pub admin: bool,
    pub created_at: UnixTime,
    pub metadata: ClientMetadata,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == TokenEndpointAuthMethod::None
    }

    /// Whether the client may use this grant type: any, for clients an administrator created
    /// without a list; the registered ones otherwise (RFC 7591 §2).
    pub fn may_use_grant(&self, grant_type: &str) -> bool {
        self.metadata.grant_types.is_empty()
            || self.metadata.grant_types.iter().any(|g| g == grant_type)
    }
}

/// The rest of a client's registration (RFC 7591 §2, RP-initiated and back-channel logout).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// Empty: every grant type (clients created by an administrator).
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// The person who registered the client in the developer console, who alone manages it
    /// there (`None`: an administrator's or a registration's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The client's public keys, for `private_key_jwt` (a JWK Set).
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its public keys instead (a JWK Set at a URL; never both).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// The one algorithm the client signs its request objects with, when it registered one
    /// (OpenID Connect Dynamic Registration §2); `none` for unsigned ones.
    #[serde(default)]
    pub request_object_signing_alg: Option<String>,
    /// The only `request_uri`s fetched for the client, when it registered some (compared
    /// without their fragments).
    #[serde(default)]
    pub request_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Authorization requests must come through PAR (RFC 9126 §6).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Under the FAPI 2.0 Security Profile (see `idp_oauth::fapi`): registered as
    /// `fapi2_security_profile: true`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fapi2_security_profile: bool,
    /// Created by an administrator: trusted, so no consent page.
    #[serde(default)]
    pub first_party: bool,
    /// A resource server an administrator set up: may introspect tokens issued to other
    /// clients (RFC 7662 §2.1 leaves to the server who may learn what).
    #[serde(default)]
    pub resource_server: bool,
    /// Registered over HTTP: managed with this registration access token (its SHA-256).
    #[serde(default)]
    pub registration_token_hash: Option<String>,
    /// Disabled by an administrator: treated as unknown everywhere.
    #[serde(default)]
    pub disabled: bool,
    /// The logo and links shown on the sign-in and consent pages.
    #[serde(default, flatten)]
    pub links: ClientLinks,
    /// Whether the client sees people by their own id or by one made for its sector (OpenID
    /// Connect Core §8).
    #[serde(default, skip_serializing_if = "SubjectType::is_public")]
    pub subject_type: SubjectType,
    /// A pairwise client's list of redirect URIs at a URL of its own (Core §8.1): its host is
    /// the client's sector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
    /// UserInfo answers this client with a JWT signed with this algorithm (Core §5.3.2);
    /// plain JSON when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_signed_response_alg: Option<SigningAlg>,
    /// Every access token of this client is bound to a DPoP key: a token request without a
    /// proof is refused (RFC 9449 §5.2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens: bool,
    /// How the client's certificate names it, for `tls_client_auth` (RFC 8705 §2.1.2).
    #[serde(default, flatten)]
    pub tls_client_auth: TlsClientAuthName,
    /// Every access token of this client is bound to its TLS client certificate: a token
    /// request without one is refused (RFC 8705 §3.4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_client_certificate_bound_access_tokens: bool,
}

/// The one name a `tls_client_auth` client's certificate must carry (RFC 8705 §2.1.2): its
/// subject's distinguished name, or a subject alternative name of one kind. Exactly one is
/// set for such a client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsClientAuthName {
    /// RFC 4514 string representation, e.g. `CN=portal,O=Example,C=GB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_subject_dn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_dns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_uri: Option<String>,
    /// An IPv4 or IPv6 address, in its usual text form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_email: Option<String>,
}

/// What the sign-in and consent pages show of a client besides its name (RFC 7591 §2): each
/// an absolute https URL, checked when registered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientLinks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
}

/// How a client sees a person's `sub` (OpenID Connect Core §8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    /// The person's own id, the same for every client.
    #[default]
    Public,
    /// An id made for the client's sector, so that clients of different sectors cannot
    /// correlate people.
    Pairwise,
}

impl SubjectType {
    pub fn is_public(&self) -> bool {
        *self == Self::Public
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Pairwise => "pairwise",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "public" => Some(Self::Public),
            "pairwise" => Some(Self::Pairwise),
            _ => None,
        }
    }
}

/// A signed-in browser: what the SSO cookie points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 of the cookie value; the cookie value itself is never stored.
    pub id_hash: String,
    /// Public session identifier, the ID token's `sid` claim.
    pub sid: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub acr: String,
    pub amr: Vec<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The person's credential epoch when the session was opened (or last restamped by a
    /// change made in it): a code issued from the session carries it.
    #[serde(default)]
    pub credential_epoch: i64,
}

/// How long a browser stays trusted without being seen: 400 days, the most browsers keep a
/// cookie.
pub const DEVICE_TRUST_SECS: i64 = 400 * 86_400;

/// A browser the user completed a sign-in on, known by its long-lived device cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Public identifier, for the account page.
    pub id: String,
    /// SHA-256 of the device cookie; the cookie value is never stored.
    pub id_hash: String,
    pub user_id: String,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The tokens issued to one client for one user from one authorization; revoking it revokes
/// them all (a replayed authorization code does so, RFC 6749 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    /// The SSO session it came from (`sid`).
    pub sid: Option<String>,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// A signing key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: SigningAlg,
    /// The PKCS#8 DER private key, sealed with AES-256-GCM under a key derived from the master
    /// key (never stored in the clear).
    pub sealed_private_key: Vec<u8>,
    pub state: KeyState,
    pub created_at: UnixTime,
    /// For a `next` key: when it starts signing.
    pub activate_at: Option<UnixTime>,
    /// For a `retired` key: when it leaves the JWKS.
    pub remove_after: Option<UnixTime>,
}

/// Where a signing key is in its life: `next` (published, not signing yet), `active`
/// (signing), `retired` (published, not signing, until what it signed has expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Active,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "next" => Some(Self::Next),
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// Short-lived records kept by kind: each expires on its own and some are consumed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EphemeralKind {
    /// An authorization request in progress (login and PIN steps).
    Interaction,
    /// A sign-up waiting for its PIN.
    Signup,
    /// An authorization code (RFC 6749 §4.1.2), consumed once.
    AuthorizationCode,
    /// A refresh token (RFC 6749 §6), consumed once: each use rotates it.
    RefreshToken,
    /// The `jti` of a revoked access token, kept until the token would have expired.
    RevokedAccessToken,
    /// Initial access tokens were kept here before they could serve several registrations
    /// (now `ClientStore::create_initial_access_token`); none is written any more.
    InitialAccessToken,
    /// A client assertion's `jti`, kept until the assertion expires so it is accepted once.
    AssertionJti,
    /// A pushed authorization request (RFC 9126), used once.
    PushedRequest,
    /// A passkey ceremony's state between its options and the browser's answer, taken once.
    PasskeyCeremony,
    /// A second factor being added on the account page (its secret sealed), keyed to the
    /// session adding it, until its first code is right.
    PendingFactor,
    /// A DPoP proof's `jti` (RFC 9449 §11.1), remembered while the proof's `iat` would still
    /// be accepted, so that each proof is used once. Every node shares it.
    DpopJti,
}

impl EphemeralKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interaction => "interaction",
            Self::Signup => "signup",
            Self::AuthorizationCode => "code",
            Self::RefreshToken => "refresh",
            Self::RevokedAccessToken => "revoked_jti",
            Self::InitialAccessToken => "initial_access_token",
            Self::AssertionJti => "assertion_jti",
            Self::PushedRequest => "pushed_request",
            Self::PasskeyCeremony => "passkey_ceremony",
            Self::PendingFactor => "pending_factor",
            Self::DpopJti => "dpop_jti",
        }
    }

    /// Records that must outlive a restart or an eviction in a cache: they stay in the
    /// database even where a shared cache holds the short-lived ones. A client assertion's
    /// `jti` is one: forgetting it would accept the assertion again. Refresh tokens must stay
    /// beside their grants besides: `GrantStore::rotate` reads them there.
    pub fn is_durable(self) -> bool {
        matches!(
            self,
            Self::RefreshToken
                | Self::RevokedAccessToken
                | Self::InitialAccessToken
                | Self::AssertionJti
        )
    }
}

/// The outcome of consuming a single-use record.
#[derive(Debug, Clone, PartialEq)]
pub enum Consumed {
    /// First use: the payload, now marked consumed.
    Fresh(serde_json::Value),
    /// Already consumed before: the payload, so the caller can revoke what the first use issued.
    Replayed(serde_json::Value),
    /// Unknown or expired.
    Missing,
}

/// The grant a record was issued under, and the user who gave it: a rotation goes ahead only
/// while the grant is active, belongs to that user, and the user is not disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantOwner {
    pub grant_id: String,
    pub user_id: String,
}

/// A rotation's check of the live record it found (its payload, as stored: JSON), made before
/// anything changes: the grant the record belongs to, or `None` to leave the record as it is.
/// A store may run it again when it has to start the rotation over.
pub type RecordCheck = Box<dyn Fn(&str) -> Option<GrantOwner> + Send + Sync>;

/// How a rotation judges the record it rotates: by `judge` once it has read it, or, where the
/// caller already knows the record passes (`judged`: the grant it belongs to), without reading
/// it first. A record is known to pass when what was judged is bound to the record's id (a
/// refresh token carries what its check needs, and its id is its digest), or was read from
/// the record itself (records never change under their id). `judge` still settles every case
/// the rotation without a read does not.
pub struct RotationCheck {
    pub judge: RecordCheck,
    pub judged: Option<String>,
}

impl RotationCheck {
    /// A check that reads the record before it judges it.
    pub fn reading(judge: impl Fn(&str) -> Option<GrantOwner> + Send + Sync + 'static) -> Self {
        Self {
            judge: Box::new(judge),
            judged: None,
        }
    }

    /// This check, for a record known to pass it, of grant `grant_id`.
    #[must_use]
    pub fn passed(self, grant_id: String) -> Self {
        Self {
            judged: Some(grant_id),
            ..self
        }
    }
}

/// What a rotation came to (see `GrantStore::rotate`). Its `Debug` leaves the records out:
/// they describe a person's grant.
#[derive(Clone, PartialEq)]
pub enum Rotated {
    /// The record was live and accepted, its grant active: it is used up, and its payload (as
    /// stored, the one the check accepted) is stored under the new id.
    Done(String),
    /// The record is live, but its check refused it: nothing changed. Its payload, as the
    /// check saw it.
    Refused(String),
    /// The record is live, but its grant was revoked, or the grant's user disabled: nothing
    /// changed.
    Inactive,
    /// Used before (expired since or not): the payload, so the caller can revoke what the
    /// first use issued.
    Replayed(serde_json::Value),
    /// Unknown, or expired before it was used.
    Missing,
}

impl std::fmt::Debug for Rotated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Done(_) => "Done",
            Self::Refused(_) => "Refused",
            Self::Inactive => "Inactive",
            Self::Replayed(_) => "Replayed",
            Self::Missing => "Missing",
        })
    }
}

/// How a message reaches a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

/// A message to a person, kept in the outbox when no delivery is configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// What a one-time code is for; each user has at most one live code per purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    /// PIN recovery.
    Recovery,
    /// Resetting a forgotten password.
    PasswordReset,
    /// The new-device check after the PIN.
    NewDevice,
    /// Confirming an e-mail address or phone number.
    Contact,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recovery => "recovery",
            Self::PasswordReset => "password_reset",
            Self::NewDevice => "new_device",
            Self::Contact => "contact",
        }
    }
}

/// A one-time code as stored: its keyed hash (never the code), when it expires, the tries it
/// has left, and what it was sent for (channel, destination).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeCode {
    pub hash: String,
    pub expires_at: UnixTime,
    pub tries_left: u32,
    pub data: serde_json::Value,
}
