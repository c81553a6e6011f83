//! Why the server could not start.

use idp_token_issuer::TokenError;

use crate::keys::stored::KeyLoadError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Store(#[from] idp_core::StoreError),
    #[error("password hashing: {0}")]
    Hash(#[from] idp_core::hashing::HashError),
    #[error("signing keys: {0}")]
    Keys(#[from] idp_token_issuer::TokenError),
}

impl From<KeyLoadError> for StartError {
    fn from(error: KeyLoadError) -> Self {
        match error {
            KeyLoadError::Store(e) => Self::Store(e),
            KeyLoadError::Token(e) => Self::Keys(e),
            KeyLoadError::Refused(e) => Self::Keys(TokenError::Key(e)),
        }
    }
}
