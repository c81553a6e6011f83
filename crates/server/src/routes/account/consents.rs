//! The third-party applications the person allowed: withdrawing one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::{done, refused};
use crate::error::PageError;
use crate::i18n::{FieldError, Text};
use crate::state::AppState;
use crate::web::extract::SignedInForm;

#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    client_id: String,
}

/// Withdraws consent from a third-party application, and revokes what it holds.
pub async fn withdraw_consent(
    State(state): State<AppState>,
    jar: CookieJar,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<WithdrawForm>,
) -> Result<Response, PageError> {
    if !state
        .stores
        .consents
        .withdraw_consent(&user.id, &form.client_id)
        .await?
    {
        let error = FieldError::general(Text::new("account-app-unknown"));
        return refused(&state, jar, &session, &user, StatusCode::NOT_FOUND, error).await;
    }
    state
        .stores
        .grants
        .revoke_grants_of(&user.id, &form.client_id, state.now())
        .await?;
    done(&state, jar, &session, &user, "account-app-withdrawn").await
}
