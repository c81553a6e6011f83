//! The protocol: authorization requests and their checks, client authentication, the
//! authorization-code grant, consent, back-channel logout, and the interaction that carries a
//! request through sign-in.

pub mod access_token;
pub mod acr;
pub mod authorization_code;
pub mod authorization_request;
pub mod backchannel_logout;
pub mod client_auth;
pub mod client_credentials;
pub mod client_metadata;
pub mod consent;
pub mod interaction;
pub mod refresh_token;
pub mod single_use;
pub mod tokens;

/// Scopes this provider understands; others are ignored (OpenID Connect Core §3.1.2.1).
pub const SCOPES_SUPPORTED: [&str; 5] = ["openid", "profile", "email", "phone", "offline_access"];
