//! How errors reach people and clients, in one place. Pages get an HTML page; the token
//! endpoint gets RFC 6749 §5.2 JSON; protected resources get an RFC 6750 challenge. Internal
//! detail goes only to the log, under a reference id that the response shows.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::hashing::HashError;
use idp_core::{ErrorCode, OAuthError, StoreError};
use serde_json::json;

use crate::i18n::Text;
use crate::web::templates::render;

/// How long a client refused for our own outage (503) is asked to wait before trying again.
pub const UNAVAILABLE_RETRY_SECS: i64 = 30;

/// Tells the client to come back in `seconds` (a 429 or a 503).
pub fn retry_after_header(response: &mut Response, seconds: i64) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
}

/// Logs an internal failure and returns the reference id to show.
pub fn log_internal(error: &dyn std::fmt::Display) -> String {
    let reference = idp_core::random::random_token(9);
    tracing::error!(%reference, %error, "internal error");
    reference
}

/// An error shown as a page, never as a redirect.
#[derive(Debug)]
pub enum PageError {
    BadRequest {
        heading: Text,
        message: Text,
    },
    Forbidden(Text),
    /// The user has had too many wrong one-time codes in a row: only support unlocks them.
    CodesBlocked,
    /// Too many of these from this address: wait this many seconds.
    TooMany(i64),
    Busy,
    /// A one-time code could not be delivered (the mail server or SMS webhook refused it or
    /// could not be reached).
    CodeNotSent,
    /// A store that sign-in needs cannot be reached: refuse (never go on without it).
    Unavailable,
    Internal(String),
    /// Not a failure: the sign-in is at another step, whose page (this path) the browser is
    /// sent to (an old tab, the back button, a replayed post).
    Elsewhere(String),
}

impl PageError {
    pub fn bad_request(heading: &'static str, message: Text) -> Self {
        Self::BadRequest {
            heading: Text::new(heading),
            message,
        }
    }

    /// The interaction cookie or record is missing or expired.
    pub fn expired() -> Self {
        Self::bad_request("error-expired-title", Text::new("error-expired"))
    }

    /// Whether this refuses the request for our own outage (a store that could not be
    /// reached or written, a full hashing queue), not for anything the person did.
    pub fn is_outage(&self) -> bool {
        matches!(self, Self::Unavailable | Self::Busy)
    }

    /// The form's CSRF token did not match.
    pub fn csrf() -> Self {
        Self::Forbidden(Text::new("error-csrf"))
    }

    /// What tells this error apart, for the page's stable id (`error-` and this): its
    /// heading, or its message where a heading serves several errors.
    fn kind(&self) -> &'static str {
        let id = match self {
            Self::BadRequest { heading, .. } => heading.id(),
            Self::Forbidden(message) => message.id(),
            Self::CodesBlocked => "codes-blocked",
            Self::TooMany(_) => "too-many",
            Self::Busy => "busy",
            Self::CodeNotSent => "not-sent",
            Self::Unavailable => "paused",
            Self::Internal(_) => "internal",
            Self::Elsewhere(_) => "elsewhere",
        };
        let id = id.strip_prefix("error-").unwrap_or(id);
        id.strip_suffix("-title").unwrap_or(id)
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        match error {
            error if error.is_outage() => {
                log_unavailable(&error);
                Self::Unavailable
            }
            other => Self::Internal(log_internal(&other)),
        }
    }
}

/// Logs that a store could not be reached (a warning: it is expected to come back).
fn log_unavailable(error: &StoreError) {
    tracing::warn!(%error, "a store is unavailable; refusing the request");
}

impl From<HashError> for PageError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            other => Self::Internal(log_internal(&other)),
        }
    }
}

impl From<idp_pin_verifier::PinVerifierError> for PageError {
    fn from(error: idp_pin_verifier::PinVerifierError) -> Self {
        match error {
            idp_pin_verifier::PinVerifierError::Store(e) => e.into(),
            idp_pin_verifier::PinVerifierError::Hash(e) => e.into(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::TooMany(seconds) => Some(*seconds),
            Self::Busy | Self::Unavailable => Some(UNAVAILABLE_RETRY_SECS),
            Self::CodeNotSent => Some(120),
            _ => None,
        };
        let kind = self.kind();
        let (status, heading, message, reference) = match self {
            Self::BadRequest { heading, message } => {
                (StatusCode::BAD_REQUEST, heading, message, None)
            }
            Self::Forbidden(message) => (
                StatusCode::FORBIDDEN,
                Text::new("error-form-title"),
                message,
                None,
            ),
            Self::CodesBlocked => (
                StatusCode::FORBIDDEN,
                Text::new("codes-blocked-title"),
                Text::new("codes-blocked"),
                None,
            ),
            Self::TooMany(seconds) => (
                StatusCode::TOO_MANY_REQUESTS,
                Text::new("error-too-many-title"),
                if seconds < 60 {
                    Text::new("error-too-many-seconds").count("seconds", seconds)
                } else {
                    Text::new("error-too-many-minutes").count("minutes", (seconds + 59) / 60)
                },
                None,
            ),
            Self::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                Text::new("error-busy-title"),
                Text::new("error-busy"),
                None,
            ),
            Self::CodeNotSent => (
                StatusCode::SERVICE_UNAVAILABLE,
                Text::new("error-not-sent-title"),
                Text::new("code-not-sent"),
                None,
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                Text::new("error-paused-title"),
                Text::new("error-paused"),
                None,
            ),
            Self::Internal(reference) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Text::new("error-title"),
                Text::new("error-internal"),
                Some(reference),
            ),
            Self::Elsewhere(path) => return axum::response::Redirect::to(&path).into_response(),
        };
        let mut response = render(
            status,
            "error.html",
            json!({
                "kind": kind,
                "heading": heading,
                "message": message,
                "reference": reference,
            }),
        );
        if let Some(seconds) = retry_after {
            retry_after_header(&mut response, seconds);
        }
        response
    }
}

fn oauth_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A token endpoint error (RFC 6749 §5.2).
#[derive(Debug)]
pub struct JsonError(pub OAuthError);

impl From<OAuthError> for JsonError {
    fn from(error: OAuthError) -> Self {
        Self(error)
    }
}

fn server_error(reference: String) -> OAuthError {
    OAuthError::new(
        ErrorCode::ServerError,
        format!("internal error, reference {reference}"),
    )
}

/// The client error for a store failure: `temporarily_unavailable` (503) when the store
/// cannot be reached, else `server_error` with a reference to the log.
fn store_error(error: &StoreError) -> OAuthError {
    match error {
        error if error.is_outage() => {
            log_unavailable(error);
            OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "a store is unavailable; try again shortly",
            )
        }
        other => server_error(log_internal(other)),
    }
}

impl From<StoreError> for JsonError {
    fn from(error: StoreError) -> Self {
        Self(store_error(&error))
    }
}

impl From<idp_token_issuer::TokenError> for JsonError {
    fn from(error: idp_token_issuer::TokenError) -> Self {
        Self(server_error(log_internal(&error)))
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let status = oauth_status(self.0.code);
        let body =
            json!({ "error": self.0.code.as_str(), "error_description": self.0.description });
        let mut response = (status, Json(body)).into_response();
        if self.0.code == ErrorCode::InvalidClient {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        response
    }
}

/// A protected-resource error (RFC 6750 §3).
#[derive(Debug)]
pub struct BearerError(pub OAuthError);

impl From<StoreError> for BearerError {
    fn from(error: StoreError) -> Self {
        Self(store_error(&error))
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let status = oauth_status(self.0.code);
        let challenge = format!(
            "Bearer error=\"{}\", error_description=\"{}\"",
            self.0.code.as_str(),
            self.0.description.replace(['"', '\\'], "")
        );
        let mut response = (
            status,
            Json(json!({ "error": self.0.code.as_str(), "error_description": self.0.description })),
        )
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
