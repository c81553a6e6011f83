//! Signing keys, the JWKS that publishes them, and the tokens the provider signs: the OpenID
//! Connect ID token, the RFC 9068 JWT access token and the Back-Channel Logout token. Also the
//! keys' lifecycle schedule and how they are sealed at rest, without the store that keeps them.

pub mod claims;
pub mod client_assertion;
pub mod client_keys;
pub mod dpop;
pub mod keys;
pub mod lifecycle;
pub mod sealing;
pub mod stored;
pub mod verified;

pub use claims::{
    AccessTokenClaims, Confirmation, IdTokenClaims, LogoutTokenClaims, at_hash, c_hash,
};
pub use keys::{KeySet, SigningKey};
pub use verified::VerifiedTokens;

/// Why a token could not be signed or verified.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no active signing key for {0}")]
    NoKey(&'static str),
    #[error("key material rejected: {0}")]
    Key(String),
    #[error("token rejected: {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Jwt(#[from] jsonwebtoken::errors::Error),
}
