//! What a page handler needs checked before it runs, as extractors, so no handler repeats
//! the check: a form whose CSRF token matches this browser ([`CsrfForm`]); the sign-in in
//! progress bound to this browser ([`Step`], and with a form [`StepForm`]); the signed-in
//! person ([`SignedIn`], and with a form [`SignedInForm`]). A form's token is always checked
//! before anything else is looked up.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::model::{Session, User};
use serde::de::DeserializeOwned;

use crate::error::{Expired, PageError};
use crate::oauth::interaction::Interaction;
use crate::session;
use crate::state::AppState;
use crate::web::csrf;
use crate::web::sign_in::{self as signin, Loaded};

/// A posted form whose `csrf` field is this browser's token; the rest deserialised as `T`
/// (which need not name `csrf`). Anything else is refused with 403 before the handler runs,
/// so a forged post changes nothing.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(request.headers());
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| PageError::csrf())?;
        let submitted = url::form_urlencoded::parse(&body)
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        if !csrf::verify(state, &jar, &submitted) {
            return Err(PageError::csrf());
        }
        let form = serde_urlencoded::from_bytes(&body).map_err(|_| {
            PageError::bad_request("error-form-title", crate::i18n::Text::new("error-form"))
        })?;
        Ok(Self(form))
    }
}

/// The sign-in in progress named by the path's `{id}`, started by this browser and still
/// standing (see [`signin::load`]).
pub struct Step(pub Loaded);

impl FromRequestParts<AppState> for Step {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| PageError::expired(Expired::NoSignInInPath))?;
        let jar = CookieJar::from_headers(&parts.headers);
        Ok(Self(signin::load(state, &jar, &id).await?))
    }
}

/// A form posted to a step of the sign-in in progress: the CSRF token is checked first (a
/// forged post learns nothing of the sign-in), then the sign-in is loaded as [`Step`].
pub struct StepForm<T> {
    pub loaded: Loaded,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for StepForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let id = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map(|Path(id)| id);
        let jar = CookieJar::from_headers(&parts.headers);
        let CsrfForm(form) =
            CsrfForm::<T>::from_request(Request::from_parts(parts, body), state).await?;
        let id = id.map_err(|_| PageError::expired(Expired::NoSignInInPath))?;
        let loaded = signin::load(state, &jar, &id).await?;
        Ok(Self { loaded, form })
    }
}

/// The signed-in person and their session; anyone else is sent into a sign-in that comes
/// back to the account page.
pub struct SignedIn {
    pub session: Session,
    pub user: User,
}

impl SignedIn {
    async fn find(state: &AppState, jar: CookieJar) -> Result<Self, Response> {
        let found = async {
            if let Some(session) = session::current(state, &jar).await?
                && let Some(user) = state.stores.users.find_user(&session.user_id).await?
                && user.disabled_at.is_none()
            {
                return Ok(Some(Self { session, user }));
            }
            Ok::<_, PageError>(None)
        };
        match found.await {
            Ok(Some(signed_in)) => Ok(signed_in),
            Ok(None) => {
                let (jar, browser) = csrf::browser_binding(state, jar);
                let interaction = Interaction::for_account(state.now(), browser);
                match crate::web::sign_in::save(state, &interaction).await {
                    Ok(()) => Err((jar, Redirect::to(&interaction.path())).into_response()),
                    Err(error) => Err(PageError::from(error).into_response()),
                }
            }
            Err(error) => Err(error.into_response()),
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Self::find(state, CookieJar::from_headers(&parts.headers)).await
    }
}

/// A form of the signed-in person: the CSRF token is checked first (a forged post starts
/// nothing), then the session as [`SignedIn`].
pub struct SignedInForm<T> {
    pub session: Session,
    pub user: User,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for SignedInForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(request.headers());
        let CsrfForm(form) = CsrfForm::<T>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let SignedIn { session, user } = SignedIn::find(state, jar).await?;
        Ok(Self {
            session,
            user,
            form,
        })
    }
}
