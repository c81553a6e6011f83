//! The security questions that recovery asks besides the code: set, replaced or removed.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::model::AuditKind;
use idp_core::security_questions::{self, SecurityAnswer};
use serde::Deserialize;

use super::password::wrong_current_password;
use super::{done, refused};
use crate::audit;
use crate::error::{Expired, PageError};
use crate::i18n::{FieldError, Text};
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::extract::SignedInForm;

#[derive(Deserialize)]
pub struct QuestionsForm {
    #[serde(default)]
    current_password: String,
    /// "1" to remove the questions instead of setting them.
    #[serde(default)]
    remove: String,
    #[serde(default)]
    question_1: String,
    #[serde(default)]
    answer_1: String,
    #[serde(default)]
    question_2: String,
    #[serde(default)]
    answer_2: String,
}

/// Sets (or removes) the security questions that recovery asks besides the code.
pub async fn set_questions(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<QuestionsForm>,
) -> Result<Response, PageError> {
    // Where the operator turned them off (`factors.security_questions`), none are set.
    if !state.settings.factors.security_questions {
        return Err(PageError::Forbidden(Text::new("account-questions-off")));
    }
    if let Some(refusal) = wrong_current_password(
        &state,
        &jar,
        &session,
        &user,
        &from,
        &form.current_password,
        "questions_password",
    )
    .await?
    {
        return Ok(refusal);
    }
    let mut answers = Vec::new();
    if form.remove != "1" {
        let choices = [
            (form.question_1.as_str(), form.answer_1.as_str()),
            (form.question_2.as_str(), form.answer_2.as_str()),
        ];
        let checked = match security_questions::check(&choices) {
            Ok(checked) => checked,
            Err(why) => {
                return refused(
                    &state,
                    jar,
                    &session,
                    &user,
                    StatusCode::BAD_REQUEST,
                    FieldError::general(why.into()),
                )
                .await;
            }
        };
        for (question, answer) in checked {
            answers.push(SecurityAnswer {
                question,
                answer_hash: state.pins.hash_keyed(&answer).await?,
            });
        }
    }
    state
        .stores
        .users
        .set_security_questions(&user.id, &answers)
        .await?;
    let detail = if answers.is_empty() { "removed" } else { "set" };
    let event = audit::event(&state, AuditKind::SecurityQuestionsChanged, &from)
        .user(&user.id)
        .detail(detail);
    audit::record(&state, event).await;
    let user = state
        .stores
        .users
        .find_user(&user.id)
        .await?
        .ok_or(PageError::expired(Expired::AccountGone))?;
    let notice = if answers.is_empty() {
        "account-questions-removed"
    } else {
        "account-questions-saved"
    };
    done(&state, jar, &session, &user, notice).await
}
