//! The error vocabulary of OAuth 2.0 (RFC 6749 §4.1.2.1, §5.2), OpenID Connect Core §3.1.2.6
//! and RFC 6750 §3.1, and the storage error every backend returns.

use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    /// The request object is not valid (OpenID Connect Core §6.4, RFC 9101 §6.3).
    InvalidRequestObject,
    /// The `request_uri` could not be used (OpenID Connect Core §6.4).
    InvalidRequestUri,
    InvalidToken,
    UnmetAuthenticationRequirements,
    ConsentRequired,
    InsufficientScope,
    /// A DPoP proof is missing where one is required, or is not valid (RFC 9449 §5, §7.1).
    InvalidDpopProof,
    /// The server wants a DPoP proof carrying the nonce it sends (RFC 9449 §8, §9).
    UseDpopNonce,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidToken => "invalid_token",
            Self::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            Self::ConsentRequired => "consent_required",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

/// An error the protocol defines, with a description safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_token(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

/// What a storage backend reports. Backend detail is for the log, never for a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (for example, a username already taken).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A stored record could not be read back into its type.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The backend itself failed (an error it reported, a record it refused, ...).
    #[error("storage backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The backend cannot be reached now (down, timed out, no free connection). Nothing was
    /// changed that the caller can rely on; the same request may succeed later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The backend answers but cannot write now (its disk is full, its file read-only, it is
    /// a standby). Nothing was changed; the same request may succeed once the operator acts.
    #[error("storage cannot write: {0}")]
    CannotWrite(String),
}

impl StoreError {
    /// Whether this is an outage of ours (the backend unreachable, or unable to write), not
    /// something wrong with the request: the client is told to come back (503), and what the
    /// request would have counted against a person or an address is given back.
    pub fn is_outage(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::CannotWrite(_))
    }

    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }
}
