//! What this node publishes about its keys: the JWKS and the discovery document, rendered
//! once per key change, and the access tokens those keys were found to have signed.

use std::sync::Arc;

use idp_oauth::authorization_response::{ResponseMode, ResponseType};
use idp_oauth::{SCOPES_SUPPORTED, acr};
use idp_token_issuer::{KeySet, VerifiedTokens};
use serde_json::json;

use crate::config::Settings;

/// The signing keys and, rendered once when they change, the JWKS and the discovery document
/// (which names the keys' algorithms): serving either copies no more than a pointer.
pub struct Published {
    pub keys: Arc<KeySet>,
    /// Access tokens whose signature these keys verified: a resource server introspects the
    /// same token again and again. Made with the keys and gone with them (a revoked key's
    /// tokens are never found here again); expiry and revocation are checked on every use.
    verified: VerifiedTokens,
    pub jwks: axum::body::Bytes,
    /// The JWKS's `Cache-Control` (the pre-publication window depends on it).
    pub jwks_cache_control: axum::http::HeaderValue,
    pub discovery: axum::body::Bytes,
}

impl Published {
    /// The claims of an access token these keys signed (signature, `typ` and issuer checked),
    /// verified once per token.
    pub fn access_token_claims(
        &self,
        token: &str,
        issuer: &str,
    ) -> Option<idp_token_issuer::AccessTokenClaims> {
        self.verified.access_token_claims(token, issuer)
    }

    pub fn new(settings: &Settings, keys: KeySet) -> Self {
        let jwks = serde_json::to_vec(&keys.jwks()).unwrap_or_default();
        let discovery = serde_json::to_vec(&document(settings, &keys)).unwrap_or_default();
        let max_age = format!("public, max-age={}", settings.keys.jwks_max_age_secs);
        let keys = Arc::new(keys);
        Self {
            verified: VerifiedTokens::new(keys.clone()),
            keys,
            jwks: jwks.into(),
            jwks_cache_control: axum::http::HeaderValue::from_str(&max_age)
                .unwrap_or(axum::http::HeaderValue::from_static("no-cache")),
            discovery: discovery.into(),
        }
    }
}

/// The response types this provider answers with these settings.
fn response_types(settings: &Settings) -> Vec<&'static str> {
    if settings.protocol.implicit_and_hybrid {
        ResponseType::ALL.to_vec()
    } else {
        vec!["code"]
    }
}

/// The grant types this provider implements with these settings.
fn grant_types(settings: &Settings) -> Vec<&'static str> {
    let mut grants = vec!["authorization_code", "refresh_token", "client_credentials"];
    if settings.protocol.implicit_and_hybrid {
        grants.push("implicit");
    }
    grants
}

/// The discovery document for these settings and keys.
pub fn document(settings: &Settings, keys: &KeySet) -> serde_json::Value {
    let issuer = settings.issuer.as_str();
    let algs: Vec<&str> = keys.algorithms().iter().map(|a| a.as_str()).collect();
    let mut document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "registration_endpoint": format!("{issuer}/register"),
        "pushed_authorization_request_endpoint": format!("{issuer}/par"),
        "require_pushed_authorization_requests": false,
        "end_session_endpoint": format!("{issuer}/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "revocation_endpoint": format!("{issuer}/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_endpoint": format!("{issuer}/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "jwks_uri": format!("{issuer}/jwks"),
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": response_types(settings),
        "response_modes_supported": ResponseMode::SUPPORTED,
        "grant_types_supported": grant_types(settings),
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": idp_oauth::dpop::ALGORITHMS,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "display_values_supported": ["page", "popup", "touch", "wap"],
        "acr_values_supported": acr::LEVELS,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
            "at_hash", "c_hash", "name", "given_name", "family_name", "preferred_username", "updated_at",
            "email", "email_verified", "phone_number", "phone_number_verified", "address"
        ],
        "claims_parameter_supported": true,
        "ui_locales_supported": crate::i18n::Locale::ALL.map(crate::i18n::Locale::code),
        "request_parameter_supported": true,
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": false,
        "request_object_signing_alg_values_supported":
            idp_oauth::request_object::algorithms(settings.protocol.unsigned_request_objects),
        "authorization_response_iss_parameter_supported": true,
    });
    crate::oauth::mtls::describe(settings, &mut document);
    idp_oauth::fapi::Rules::new(settings.fapi2.all_clients).restrict_discovery(&mut document);
    document
}
