//! The FAPI 2.0 Security Profile (final): what a client under the profile must do, in one
//! place. A client is under it when its metadata says so (`fapi2_security_profile: true`, set
//! at registration or by `idp client create --fapi2`) or when the operator puts every client
//! under it (`fapi2.all_clients`). Each endpoint asks [`Rules`] what applies instead of
//! reading the metadata itself, so a new requirement is one more method here.
//!
//! For clients under the profile:
//! - authorization requests come through PAR (RFC 9126), with PKCE S256 and `redirect_uri`;
//! - only `response_type=code` (never implicit or hybrid, whatever `protocol.implicit_and_hybrid`
//!   says); redirect URIs are https;
//! - authorization codes live at most 60 s, pushed requests at most 600 s;
//! - the client authenticates with `private_key_jwt`, signed PS256, ES256 or EdDSA, whose
//!   `aud` is exactly the issuer (one string; the 2025 OpenID audience advisory), or with a
//!   TLS client certificate (`tls_client_auth`, `self_signed_tls_client_auth`, RFC 8705);
//! - request objects, when used, are signed;
//! - refresh tokens do not rotate (FAPI 2.0 §5.3.2.1: the refresh grant answers with the same
//!   token);
//! - tokens are sender-constrained ([`Rules::requires_sender_constraint`]: DPoP or mTLS).

use idp_core::model::{ClientMetadata, SigningAlg, TokenEndpointAuthMethod};
use serde_json::Value;

use crate::authorization_request::ProtocolOptions;

/// The longest an authorization code of a client under the profile lives (FAPI 2.0 §5.3.2.1).
pub const MAX_CODE_LIFETIME_SECS: i64 = 60;
/// The longest a pushed request's `request_uri` may live (FAPI 2.0 §5.3.2.2).
pub const MAX_REQUEST_URI_LIFETIME_SECS: i64 = 600;
/// The algorithms a client assertion of a client under the profile may be signed with (FAPI
/// 2.0 §5.4.1: PS256, ES256 or EdDSA with Ed25519; never RS256).
pub const ASSERTION_ALGORITHMS: [&str; 3] = ["PS256", "ES256", "EdDSA"];
/// The token endpoint authentication methods of clients under the profile (FAPI 2.0
/// §5.3.2.1: mutual TLS or `private_key_jwt`).
pub const AUTH_METHODS: [TokenEndpointAuthMethod; 3] = [
    TokenEndpointAuthMethod::PrivateKeyJwt,
    TokenEndpointAuthMethod::TlsClientAuth,
    TokenEndpointAuthMethod::SelfSignedTlsClientAuth,
];

/// What the profile asks of one client: derived from its metadata and the operator's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    fapi2: bool,
}

impl Rules {
    /// The rules for a client with this metadata under these settings.
    pub fn for_client(metadata: &ClientMetadata, options: ProtocolOptions) -> Self {
        Self::new(metadata.fapi2_security_profile || options.fapi2_all_clients)
    }

    /// The rules for a client under the profile (`fapi2`) or not.
    pub fn new(fapi2: bool) -> Self {
        Self { fapi2 }
    }

    /// Whether the client is under the profile at all.
    pub fn applies(self) -> bool {
        self.fapi2
    }

    /// Authorization requests must be pushed (PAR, RFC 9126).
    pub fn requires_par(self) -> bool {
        self.fapi2
    }

    /// PKCE with S256, even for confidential clients.
    pub fn requires_pkce(self) -> bool {
        self.fapi2
    }

    /// Whether the implicit and hybrid response types may be used where the operator offers
    /// them: never under the profile (only `code`).
    pub fn allows_implicit_and_hybrid(self) -> bool {
        !self.fapi2
    }

    /// A redirect URI the client may use, beyond the checks every client gets: https only.
    pub fn check_redirect_uri(self, uri: &str) -> Result<(), String> {
        if self.fapi2 && url::Url::parse(uri).map_or(true, |u| u.scheme() != "https") {
            return Err(format!("`{uri}` must use https (FAPI 2.0)"));
        }
        Ok(())
    }

    /// A client an administrator sets up: https redirect URIs and an allowed authentication
    /// method (registrations over HTTP are checked in [`crate::client_metadata::check`]).
    pub fn check_client(
        self,
        redirect_uris: &[String],
        method: TokenEndpointAuthMethod,
        (id_token_alg, userinfo_alg): (SigningAlg, Option<SigningAlg>),
    ) -> Result<(), String> {
        for uri in redirect_uris {
            self.check_redirect_uri(uri)?;
        }
        for alg in std::iter::once(id_token_alg).chain(userinfo_alg) {
            self.signing_alg(Some(alg), alg)?;
        }
        if !self.allows_auth_method(method) {
            return Err(format!(
                "the client must authenticate with private_key_jwt, tls_client_auth or self_signed_tls_client_auth, not {}",
                method.as_str()
            ));
        }
        Ok(())
    }

    /// The algorithm the provider signs the client's ID tokens (or UserInfo answers) with: the
    /// one it `named`, else `default`. Under the profile only PS256, ES256 or EdDSA (FAPI 2.0
    /// §5.4.1), and ES256 when the client names none.
    pub fn signing_alg(
        self,
        named: Option<SigningAlg>,
        default: SigningAlg,
    ) -> Result<SigningAlg, String> {
        if !self.fapi2 {
            return Ok(named.unwrap_or(default));
        }
        match named {
            None => Ok(SigningAlg::ES256),
            Some(SigningAlg::RS256) => Err(
                "tokens for the client are signed ES256 or EdDSA, never RS256 (FAPI 2.0)".into(),
            ),
            Some(alg) => Ok(alg),
        }
    }

    /// How long the client's authorization codes live, when the operator set `configured`.
    pub fn code_lifetime(self, configured: i64) -> i64 {
        if self.fapi2 {
            configured.min(MAX_CODE_LIFETIME_SECS)
        } else {
            configured
        }
    }

    /// How long the client's pushed requests wait for the browser, when PAR gives `configured`.
    pub fn request_uri_lifetime(self, configured: i64) -> i64 {
        if self.fapi2 {
            configured.min(MAX_REQUEST_URI_LIFETIME_SECS)
        } else {
            configured
        }
    }

    /// Whether the client may authenticate at the token endpoint (and PAR, revocation,
    /// introspection) with `method`.
    pub fn allows_auth_method(self, method: TokenEndpointAuthMethod) -> bool {
        !self.fapi2 || AUTH_METHODS.contains(&method)
    }

    /// The algorithms the client's assertions may be signed with, of those `all` accepted.
    pub fn assertion_algorithms<'a>(self, all: &[&'a str]) -> Vec<&'a str> {
        all.iter()
            .copied()
            .filter(|alg| !self.fapi2 || ASSERTION_ALGORITHMS.contains(alg))
            .collect()
    }

    /// Whether a client assertion's `aud` is acceptable before the usual checks: under the
    /// profile it must be exactly the issuer, one string (not the token endpoint, not an
    /// array); other clients keep RFC 7523's leniency, checked elsewhere.
    pub fn assertion_audience_ok(self, aud: Option<&Value>, issuer: &str) -> bool {
        !self.fapi2 || matches!(aud, Some(Value::String(aud)) if aud == issuer)
    }

    /// Whether request objects may be unsigned (`alg: none`) when the operator allows them.
    pub fn allows_unsigned_request_objects(self) -> bool {
        !self.fapi2
    }

    /// Whether each use of a refresh token returns a new one (and spends the old). Under the
    /// profile the same refresh token is answered back (FAPI 2.0 §5.3.2.1: no rotation),
    /// and using it again is not a replay.
    pub fn rotates_refresh_tokens(self) -> bool {
        !self.fapi2
    }

    /// The discovery document as it must read when every client is under the profile
    /// (`fapi2.all_clients`): PAR required, only the authentication methods and assertion
    /// algorithms the profile allows, only `code`, PKCE S256, signed request objects. Left as
    /// it is otherwise (it lists what any client may use).
    pub fn restrict_discovery(self, document: &mut Value) {
        if !self.fapi2 {
            return;
        }
        let keep = |document: &mut Value, key: &str, allowed: &dyn Fn(&str) -> bool| {
            if let Some(list) = document.get_mut(key).and_then(Value::as_array_mut) {
                list.retain(|v| v.as_str().is_some_and(allowed));
            }
        };
        document["require_pushed_authorization_requests"] = Value::Bool(true);
        let method_allowed =
            |m: &str| TokenEndpointAuthMethod::parse(m).is_some_and(|m| self.allows_auth_method(m));
        let alg_allowed = |alg: &str| ASSERTION_ALGORITHMS.contains(&alg);
        for endpoint in [
            "token_endpoint",
            "revocation_endpoint",
            "introspection_endpoint",
        ] {
            keep(
                document,
                &format!("{endpoint}_auth_methods_supported"),
                &method_allowed,
            );
            keep(
                document,
                &format!("{endpoint}_auth_signing_alg_values_supported"),
                &alg_allowed,
            );
        }
        keep(document, "response_types_supported", &|t| t == "code");
        keep(document, "grant_types_supported", &|g| g != "implicit");
        keep(
            document,
            "request_object_signing_alg_values_supported",
            &|a| a != "none",
        );
        document["code_challenge_methods_supported"] = serde_json::json!(["S256"]);
    }

    /// Whether the client's access (and refresh) tokens must be sender-constrained (DPoP,
    /// RFC 9449, or mTLS, RFC 8705; FAPI 2.0 §5.3.2.1): the token endpoint refuses a client
    /// under the profile that presents neither a DPoP proof nor a TLS client certificate.
    pub fn requires_sender_constraint(self) -> bool {
        self.fapi2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_applies_to_clients_that_ask_or_to_all_when_the_operator_says() {
        let mut metadata = ClientMetadata::default();
        let off = ProtocolOptions::default();
        let all = ProtocolOptions {
            fapi2_all_clients: true,
            ..off
        };
        assert!(!Rules::for_client(&metadata, off).applies());
        assert!(Rules::for_client(&metadata, all).applies());
        metadata.fapi2_security_profile = true;
        assert!(Rules::for_client(&metadata, off).applies());
    }

    #[test]
    fn under_the_profile_the_limits_tighten() {
        let (fapi, other) = (Rules::new(true), Rules::new(false));
        assert_eq!(fapi.code_lifetime(300), 60);
        assert_eq!(fapi.code_lifetime(30), 30);
        assert_eq!(other.code_lifetime(300), 300);
        assert_eq!(fapi.request_uri_lifetime(900), 600);
        let all = ["ES256", "ES384", "RS256", "PS256", "EdDSA"];
        assert_eq!(fapi.assertion_algorithms(&all), ["ES256", "PS256", "EdDSA"]);
        assert_eq!(other.assertion_algorithms(&all), all);
        let issuer = "https://idp.example";
        let aud = |v: Value| fapi.assertion_audience_ok(Some(&v), issuer);
        assert!(aud(Value::from(issuer)));
        assert!(!aud(Value::from("https://idp.example/token")));
        assert!(!aud(serde_json::json!([issuer])));
        assert!(!fapi.assertion_audience_ok(None, issuer));
        assert!(other.assertion_audience_ok(Some(&serde_json::json!([issuer])), issuer));
        assert!(fapi.check_redirect_uri("http://127.0.0.1/cb").is_err());
        assert!(fapi.check_redirect_uri("com.example.app:/cb").is_err());
        assert!(fapi.check_redirect_uri("https://rp.example/cb").is_ok());
        assert!(other.check_redirect_uri("http://127.0.0.1/cb").is_ok());
        assert!(!fapi.allows_auth_method(TokenEndpointAuthMethod::ClientSecretBasic));
        assert!(!fapi.allows_auth_method(TokenEndpointAuthMethod::None));
        assert!(fapi.allows_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt));
        assert!(!fapi.allows_implicit_and_hybrid() && other.allows_implicit_and_hybrid());
        assert!(!fapi.rotates_refresh_tokens() && other.rotates_refresh_tokens());
        assert!(fapi.requires_sender_constraint() && !other.requires_sender_constraint());
    }
}
