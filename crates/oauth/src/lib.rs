//! The protocol, without HTTP: the authorization request and its checks, client registration
//! metadata, the authentication context classes, client authentication, the form body of the
//! token-side endpoints, the interaction that carries a request through the sign-in and the
//! code it ends with, the token endpoint's grants and the tokens they issue, and whether an
//! access token is still active. Each function names the stores, the clock and the issuer it
//! needs; protocol refusals are [`idp_core::OAuthError`] or an enum of this crate, which the
//! server turns into pages and JSON answers.

pub mod access_token;
pub mod acr;
pub mod authorization_answer;
pub mod authorization_code;
pub mod authorization_request;
pub mod authorization_response;
pub mod claims;
pub mod client_auth;
pub mod client_credentials;
pub mod client_keys;
pub mod client_metadata;
pub mod consent;
pub mod dpop;
pub mod fapi;
pub mod form_body;
pub mod grant_error;
#[cfg(test)]
mod grant_tests;
pub mod interaction;
pub mod issuer;
pub mod mtls;
pub mod refresh_format;
pub mod refresh_token;
pub mod request_object;
pub mod single_use;
pub mod steady_refresh;
pub mod subject;
#[cfg(test)]
mod test_stores;
pub mod tokens;

/// Scopes this provider understands; others are ignored (OpenID Connect Core §3.1.2.1).
pub const SCOPES_SUPPORTED: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];
