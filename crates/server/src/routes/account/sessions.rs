//! The person's sessions and trusted devices: ending one, forgetting one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::model::AuditKind;
use serde::Deserialize;

use super::{done, refused};
use crate::audit;
use crate::error::PageError;
use crate::i18n::{FieldError, Text};
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::cookies;
use crate::web::extract::SignedInForm;

#[derive(Deserialize)]
pub struct EndSessionForm {
    #[serde(default)]
    sid: String,
}

/// Signs out one session of the user's (this one included).
pub async fn end_session(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<EndSessionForm>,
) -> Result<Response, PageError> {
    let target = state
        .stores
        .sessions
        .list_sessions(&user.id, state.now())
        .await?
        .into_iter()
        .find(|s| s.sid == form.sid);
    let Some(target) = target else {
        let error = FieldError::general(Text::new("account-session-gone"));
        return refused(&state, jar, &session, &user, StatusCode::NOT_FOUND, error).await;
    };
    crate::session::end(&state, &target, &from).await?;
    if form.sid == session.sid {
        let jar = jar.add(cookies::removal(&state.settings, cookies::SESSION, "/"));
        return Ok((jar, Redirect::to("/account")).into_response());
    }
    done(&state, jar, &session, &user, "account-session-ended").await
}

#[derive(Deserialize)]
pub struct ForgetDeviceForm {
    #[serde(default)]
    id: String,
}

/// Forgets a trusted device: its next sign-in needs a new-device code again.
pub async fn forget_device(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<ForgetDeviceForm>,
) -> Result<Response, PageError> {
    if !state
        .stores
        .devices
        .forget_device(&user.id, &form.id)
        .await?
    {
        let error = FieldError::general(Text::new("account-device-unknown"));
        return refused(&state, jar, &session, &user, StatusCode::NOT_FOUND, error).await;
    }
    audit::record(
        &state,
        audit::event(&state, AuditKind::DeviceForgotten, &from).user(&user.id),
    )
    .await;
    done(&state, jar, &session, &user, "account-device-forgotten").await
}
