//! The claims of the tokens the provider signs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::clock::UnixTime;
use idp_core::model::SigningAlg;
use idp_core::random::random_token;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256, Sha512};

/// The ID token (OpenID Connect Core §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub acr: String,
    /// RFC 8176 values: `pwd` and `pin`.
    pub amr: Vec<String>,
    pub sid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The hash of the code issued with the ID token at the authorization endpoint (hybrid
    /// flow, OpenID Connect Core §3.3.2.11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_hash: Option<String>,
    /// Claims about the person (OpenID Connect Core §5.1) the request asked for, by name.
    #[serde(flatten, default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The JWT access token (RFC 9068 §2.2), with the grant it belongs to so that revoking the
/// grant (a replayed code, a reused refresh token, a revocation) invalidates it. A token from
/// the `client_credentials` grant has the client as subject and no user, grant or
/// authentication claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// The grant this token was issued under (none for client credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// The claims the `claims` request parameter asked UserInfo for, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_claims: Option<Vec<String>>,
    /// The key the token is bound to (RFC 7800 §3.1): whoever presents it must prove they
    /// hold that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The confirmation of a sender-constrained token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint of a DPoP key (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// The SHA-256 thumbprint of a TLS client certificate (RFC 8705 §3.1).
    #[serde(rename = "x5t#S256", default, skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

impl Confirmation {
    /// The confirmation of a DPoP key and a TLS client certificate, by their thumbprints;
    /// none when the token is bound to neither.
    pub fn of(jkt: Option<&str>, certificate: Option<&str>) -> Option<Self> {
        (jkt.is_some() || certificate.is_some()).then(|| Self {
            jkt: jkt.map(str::to_owned),
            x5t_s256: certificate.map(str::to_owned),
        })
    }
}

/// How long a logout token is accepted after it is issued: long enough for the relying party
/// to receive it, short enough that a captured one is soon useless.
pub const LOGOUT_TOKEN_LIFETIME_SECS: i64 = 120;

/// The logout token (OpenID Connect Back-Channel Logout 1.0 §2.4), sent to a relying party when
/// a session it signed in to ends. It names both the user and the session, and never carries a
/// `nonce` (§2.4 forbids one, so that a logout token cannot pass for an ID token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutTokenClaims {
    pub iss: String,
    pub aud: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    pub sub: String,
    pub sid: String,
    pub events: LogoutEvents,
}

/// The `events` claim of a logout token: the back-channel logout event, with no members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutEvents {
    #[serde(rename = "http://schemas.openid.net/event/backchannel-logout")]
    pub backchannel_logout: BackchannelLogoutEvent,
}

/// The back-channel logout event: an empty JSON object (Back-Channel Logout 1.0 §2.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackchannelLogoutEvent {}

impl LogoutTokenClaims {
    /// The logout token for `user_id`'s session `sid` at `client_id`, issued `now` with a fresh
    /// `jti` and valid for [`LOGOUT_TOKEN_LIFETIME_SECS`].
    pub fn new(issuer: &str, client_id: &str, user_id: &str, sid: &str, now: UnixTime) -> Self {
        Self {
            iss: issuer.to_owned(),
            aud: client_id.to_owned(),
            iat: now,
            exp: now + LOGOUT_TOKEN_LIFETIME_SECS,
            jti: random_token(16),
            sub: user_id.to_owned(),
            sid: sid.to_owned(),
            events: LogoutEvents::default(),
        }
    }
}

/// `at_hash` (OpenID Connect Core §3.1.3.6): the left half of the hash of the access token,
/// with the hash of the ID token's signing algorithm (SHA-256 for ES256 and RS256, SHA-512 for
/// Ed25519).
pub fn at_hash(access_token: &str, alg: SigningAlg) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlg::ES256 | SigningAlg::RS256 => Sha256::digest(access_token.as_bytes()).to_vec(),
        SigningAlg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// `c_hash` (OpenID Connect Core §3.3.2.11): the code's hash, made as `at_hash` is.
pub fn c_hash(code: &str, alg: SigningAlg) -> String {
    at_hash(code, alg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_openid_example() {
        // OpenID Connect Core, Appendix A.3 / A.4 (access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y").
        assert_eq!(
            at_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                SigningAlg::RS256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn a_logout_token_has_the_back_channel_logout_shape() {
        let claims = LogoutTokenClaims::new("https://idp.example", "rp1", "u1", "s1", 1_000);
        let json = serde_json::to_value(&claims).unwrap();
        let jti = json["jti"].as_str().unwrap().to_owned();
        assert_eq!(jti.len(), 22, "16 random bytes, base64url");
        assert_eq!(
            json,
            serde_json::json!({
                "iss": "https://idp.example",
                "aud": "rp1",
                "iat": 1_000,
                "exp": 1_120,
                "jti": jti,
                "sub": "u1",
                "sid": "s1",
                "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            })
        );
        assert!(
            json.get("nonce").is_none(),
            "§2.4: a logout token has no nonce"
        );
    }

    #[test]
    fn each_logout_token_has_its_own_jti() {
        let a = LogoutTokenClaims::new("i", "rp1", "u1", "s1", 1_000);
        let b = LogoutTokenClaims::new("i", "rp1", "u1", "s1", 1_000);
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn a_logout_token_reads_back_from_its_json() {
        let claims = LogoutTokenClaims::new("i", "rp1", "u1", "s1", 1_000);
        let json = serde_json::to_string(&claims).unwrap();
        let back: LogoutTokenClaims = serde_json::from_str(&json).unwrap();
        assert_eq!(back, claims);
        // A token without the event is not a logout token.
        let without_event = json.replace("backchannel-logout", "other-event");
        assert!(serde_json::from_str::<LogoutTokenClaims>(&without_event).is_err());
    }
}
