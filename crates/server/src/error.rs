//! How errors reach people and clients, in one place. Pages get an HTML page; the token
//! endpoint gets RFC 6749 §5.2 JSON; protected resources get an RFC 6750 challenge. Internal
//! detail goes only to the log, under a reference id that the response shows.
//!
//! An error carries its cause and is logged where it is rendered (the `IntoResponse` impls
//! here), never where it is made: one that is handled on the way is not logged as a failure.

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
fn log_internal(error: &dyn std::fmt::Display) -> String {
    let reference = idp_core::random::random_token(9);
    tracing::error!(%reference, %error, "internal error");
    reference
}

/// Logs that a store could not be reached (a warning: it is expected to come back).
fn log_unavailable(error: &StoreError) {
    tracing::warn!(%error, "a store is unavailable; refusing the request");
}

/// A failure on our side behind a client's error, carried to where the error is answered and
/// logged there.
#[derive(Debug)]
pub enum Fault {
    /// A store cannot be reached or written: the client is asked to come back.
    Outage(StoreError),
    /// Anything else: the client is given a reference id to the log.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl Fault {
    pub fn store(error: StoreError) -> Self {
        if error.is_outage() {
            Self::Outage(error)
        } else {
            Self::internal(error)
        }
    }

    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }

    /// Logs the fault, as it is answered, and returns what the client is told:
    /// `temporarily_unavailable` (503) for an outage, else `server_error` with a reference.
    fn logged(self) -> OAuthError {
        match self {
            Self::Outage(error) => {
                log_unavailable(&error);
                OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "a store is unavailable; try again shortly",
                )
            }
            Self::Internal(error) => OAuthError::new(
                ErrorCode::ServerError,
                format!("internal error, reference {}", log_internal(&error)),
            ),
        }
    }
}

/// Why a page says that what the request continues has expired. The page is the same for
/// every cause (the person starts again); the cause goes only to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The address names no sign-in.
    NoSignInInPath,
    /// No sign-in is stored under that id.
    SignInNotFound,
    /// The sign-in was started in another browser.
    SignInOfAnotherBrowser,
    /// The person the sign-in is about was deleted.
    PersonGone,
    /// The sign-in machine will not resume the sign-in.
    SignInNoLongerStands,
    /// The sign-in machine refused a step as void.
    SignInVoid,
    /// A step that needs a person was reached with none.
    NoPerson,
    /// The person's credentials changed while their session was being opened.
    CredentialsChangedMeanwhile,
    /// A code was to be issued with no session.
    NoSession,
    /// The client the sign-in is for was deleted.
    ClientGone,
    /// The person's PIN was cleared meanwhile.
    PinCleared,
    /// The signed-in person's account was deleted.
    AccountGone,
    /// The browser has no sign-up cookie.
    SignUpCookieMissing,
    /// No sign-up is stored under the cookie's id.
    SignUpNotFound,
    /// The sign-up was started in another browser.
    SignUpOfAnotherBrowser,
}

impl Expired {
    /// The cause in words, for the log.
    pub fn cause(self) -> &'static str {
        match self {
            Self::NoSignInInPath => "the address names no sign-in",
            Self::SignInNotFound => {
                "no such sign-in: never started, already finished, or past its lifetime"
            }
            Self::SignInOfAnotherBrowser => "the sign-in was started in another browser",
            Self::PersonGone => "the person the sign-in is about no longer exists",
            Self::SignInNoLongerStands => {
                "the sign-in no longer stands: its session ended, or its person's credentials changed"
            }
            Self::SignInVoid => {
                "the sign-in machine refused the step: the sign-in no longer stands"
            }
            Self::NoPerson => "the step needs a person and the sign-in names none",
            Self::CredentialsChangedMeanwhile => {
                "the person's credentials changed while the session was being opened"
            }
            Self::NoSession => "no session to issue the code under",
            Self::ClientGone => "the client of the sign-in no longer exists",
            Self::PinCleared => "the person's PIN was cleared meanwhile (an unlock)",
            Self::AccountGone => "the signed-in person's account no longer exists",
            Self::SignUpCookieMissing => "the browser sent no sign-up cookie",
            Self::SignUpNotFound => "no such sign-up: already finished, or past its lifetime",
            Self::SignUpOfAnotherBrowser => "the sign-up was started in another browser",
        }
    }
}

/// An error shown as a page, never as a redirect.
#[derive(Debug)]
pub enum PageError {
    BadRequest {
        heading: Text,
        message: Text,
    },
    /// What the request continues (a sign-in, a sign-up) is gone or not this browser's: the
    /// page (these messages) asks the person to start again; the cause is logged.
    Expired {
        heading: &'static str,
        message: &'static str,
        cause: Expired,
    },
    Forbidden(Text),
    /// The person may not see this page (a console without its role).
    NoAccess(Text),
    /// What the path names does not exist.
    NotFound(Text),
    /// The user has had too many wrong one-time codes in a row: only support unlocks them.
    CodesBlocked,
    /// Too many of these from this address: wait this many seconds.
    TooMany(i64),
    Busy,
    /// A one-time code could not be delivered (the mail server or SMS webhook refused it or
    /// could not be reached).
    CodeNotSent,
    /// A store that sign-in needs cannot be reached: refuse (never go on without it). The
    /// store's error, when there is one, is logged as the page is rendered.
    Unavailable(Option<StoreError>),
    /// A failure of ours: logged as the page is rendered, under the reference id it shows.
    Internal(Box<dyn std::error::Error + Send + Sync>),
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

    /// The sign-in (or other step) the request continues is missing or expired, for `cause`.
    pub fn expired(cause: Expired) -> Self {
        Self::Expired {
            heading: "error-expired-title",
            message: "error-expired",
            cause,
        }
    }

    /// Whether this refuses the request for our own outage (a store that could not be
    /// reached or written, a full hashing queue), not for anything the person did.
    pub fn is_outage(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Busy)
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
            Self::Expired { heading, .. } => heading,
            Self::Forbidden(message) | Self::NoAccess(message) | Self::NotFound(message) => {
                message.id()
            }
            Self::CodesBlocked => "codes-blocked",
            Self::TooMany(_) => "too-many",
            Self::Busy => "busy",
            Self::CodeNotSent => "not-sent",
            Self::Unavailable(_) => "paused",
            Self::Internal(_) => "internal",
            Self::Elsewhere(_) => "elsewhere",
        };
        let id = id.strip_prefix("error-").unwrap_or(id);
        id.strip_suffix("-title").unwrap_or(id)
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        if error.is_outage() {
            Self::Unavailable(Some(error))
        } else {
            Self::Internal(Box::new(error))
        }
    }
}

impl From<idp_oauth::grant_error::GrantError> for PageError {
    fn from(error: idp_oauth::grant_error::GrantError) -> Self {
        match error {
            idp_oauth::grant_error::GrantError::Store(e) => e.into(),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<HashError> for PageError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            other => Self::Internal(Box::new(other)),
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
            Self::Busy | Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_SECS),
            Self::CodeNotSent => Some(120),
            _ => None,
        };
        let kind = self.kind();
        let (status, heading, message, reference) = match self {
            Self::BadRequest { heading, message } => {
                (StatusCode::BAD_REQUEST, heading, message, None)
            }
            Self::Expired {
                heading,
                message,
                cause,
            } => {
                tracing::info!(cause = cause.cause(), "refused as expired");
                (
                    StatusCode::BAD_REQUEST,
                    Text::new(heading),
                    Text::new(message),
                    None,
                )
            }
            Self::Forbidden(message) => (
                StatusCode::FORBIDDEN,
                Text::new("error-form-title"),
                message,
                None,
            ),
            Self::NoAccess(message) => (
                StatusCode::FORBIDDEN,
                Text::new("error-no-access-title"),
                message,
                None,
            ),
            Self::NotFound(message) => (
                StatusCode::NOT_FOUND,
                Text::new("error-not-found-title"),
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
            Self::Unavailable(error) => {
                if let Some(error) = &error {
                    log_unavailable(error);
                }
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Text::new("error-paused-title"),
                    Text::new("error-paused"),
                    None,
                )
            }
            Self::Internal(error) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Text::new("error-title"),
                Text::new("error-internal"),
                Some(log_internal(&error)),
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
pub enum JsonError {
    /// Refused for the request: the client is told as it is.
    OAuth(OAuthError),
    /// A failure of ours: logged as it is answered.
    Fault(Fault),
}

impl From<OAuthError> for JsonError {
    fn from(error: OAuthError) -> Self {
        Self::OAuth(error)
    }
}

impl From<StoreError> for JsonError {
    fn from(error: StoreError) -> Self {
        Self::Fault(Fault::store(error))
    }
}

impl From<idp_token_issuer::TokenError> for JsonError {
    fn from(error: idp_token_issuer::TokenError) -> Self {
        Self::Fault(Fault::internal(error))
    }
}

impl From<idp_oauth::grant_error::GrantError> for JsonError {
    fn from(error: idp_oauth::grant_error::GrantError) -> Self {
        use idp_oauth::grant_error::GrantError;
        match error {
            GrantError::OAuth(error) => error.into(),
            GrantError::Store(error) => error.into(),
            GrantError::Token(error) => error.into(),
        }
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let error = match self {
            Self::OAuth(error) => error,
            Self::Fault(fault) => fault.logged(),
        };
        let status = oauth_status(error.code);
        let body = json!({ "error": error.code.as_str(), "error_description": error.description });
        let mut response = (status, Json(body)).into_response();
        if error.code == ErrorCode::InvalidClient {
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
pub enum BearerError {
    /// Refused for the request: the client is told as it is.
    OAuth(OAuthError),
    /// Refused for its DPoP proof or binding (RFC 9449 §7.1): a `DPoP` challenge, with the
    /// nonce to use when one is asked for.
    Dpop(OAuthError, Option<String>),
    /// A failure of ours: logged as it is answered.
    Fault(Fault),
}

impl From<StoreError> for BearerError {
    fn from(error: StoreError) -> Self {
        Self::Fault(Fault::store(error))
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let error = match self {
            Self::OAuth(error) => error,
            Self::Dpop(error, nonce) => return crate::oauth::dpop::resource_refusal(error, nonce),
            Self::Fault(fault) => fault.logged(),
        };
        let status = oauth_status(error.code);
        let challenge = format!(
            "Bearer error=\"{}\", error_description=\"{}\"",
            error.code.as_str(),
            error.description.replace(['"', '\\'], "")
        );
        let mut response = (
            status,
            Json(json!({ "error": error.code.as_str(), "error_description": error.description })),
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

/// The log capture the handler tests use too.
#[cfg(test)]
#[path = "../../../tests/common/log.rs"]
mod log;

#[cfg(test)]
mod tests {
    use super::log::Log;
    use super::*;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await;
        String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned()
    }

    #[tokio::test]
    async fn an_internal_failure_is_logged_when_shown_under_the_reference_the_page_shows() {
        let (log, _guard) = Log::capture(tracing::Level::DEBUG);
        let error = PageError::from(StoreError::Corrupt("session row".into()));
        assert_eq!(log.take(), "", "made, not yet shown");
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let logged = log.take();
        assert!(logged.contains("ERROR") && logged.contains("corrupt record: session row"));
        let reference = logged
            .split("reference=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap();
        let page = body(response).await;
        assert!(page.contains(reference), "{page}");
        assert!(!page.contains("session row"), "{page}");
    }

    #[tokio::test]
    async fn an_outage_is_logged_as_a_warning_when_answered() {
        let (log, _guard) = Log::capture(tracing::Level::DEBUG);
        let error = JsonError::from(StoreError::Unavailable("connection refused".into()));
        assert_eq!(log.take(), "", "made, not yet answered");
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let logged = log.take();
        assert!(
            logged.contains("WARN") && logged.contains("a store is unavailable"),
            "{logged}"
        );
        assert!(logged.contains("connection refused"), "{logged}");
        let answer = body(response).await;
        assert!(answer.contains("temporarily_unavailable"), "{answer}");
        assert!(!answer.contains("connection refused"), "{answer}");
    }

    const CAUSES: [Expired; 15] = [
        Expired::NoSignInInPath,
        Expired::SignInNotFound,
        Expired::SignInOfAnotherBrowser,
        Expired::PersonGone,
        Expired::SignInNoLongerStands,
        Expired::SignInVoid,
        Expired::NoPerson,
        Expired::CredentialsChangedMeanwhile,
        Expired::NoSession,
        Expired::ClientGone,
        Expired::PinCleared,
        Expired::AccountGone,
        Expired::SignUpCookieMissing,
        Expired::SignUpNotFound,
        Expired::SignUpOfAnotherBrowser,
    ];

    #[test]
    fn every_expired_cause_is_told_apart_in_the_log() {
        let causes: std::collections::HashSet<_> = CAUSES.iter().map(|c| c.cause()).collect();
        assert_eq!(causes.len(), CAUSES.len());
    }

    #[tokio::test]
    async fn an_expired_page_is_the_same_whatever_the_cause_and_the_log_names_it() {
        // As the page was before causes were told apart.
        let before = PageError::bad_request("error-expired-title", Text::new("error-expired"));
        let before = before.into_response();
        let status = before.status();
        let page = body(before).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("This sign-in has expired"), "{page}");
        let (log, _guard) = Log::capture(tracing::Level::DEBUG);
        for cause in CAUSES {
            let response = PageError::expired(cause).into_response();
            assert_eq!(response.status(), status, "{cause:?}");
            assert_eq!(body(response).await, page, "{cause:?}");
            let logged = log.take();
            assert!(
                logged.contains(" INFO ") && logged.contains(cause.cause()),
                "{cause:?}: {logged}"
            );
        }
    }
}
