//! Why the token endpoint refuses or fails a grant. A protocol refusal is answered to the
//! client as it is (RFC 6749 §5.2); a store or signing failure is ours, and the server logs it
//! where it answers.

use idp_core::{OAuthError, StoreError};
use idp_token_issuer::TokenError;

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// Refused for the request: the client is told as it is.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// A store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A token could not be signed.
    #[error(transparent)]
    Token(#[from] TokenError),
}
