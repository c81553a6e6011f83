//! The account page: contact details and their confirmation, password and PIN changes,
//! second factors, sessions, and recent sign-ins. Every page needs a full sign-in (password
//! and PIN); every change needs the current secret it replaces, and adding a second factor a
//! session at the level `crate::factors::level_to_add` names.
//!
//! This module shows the page; each form it holds is a module of its own, answered with the
//! page again (`done` with a notice, `refused` with the reason).

pub mod consents;
pub mod contact;
pub mod factors;
pub mod password;
pub mod pin;
pub mod profile;
pub mod questions;
pub mod sessions;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::StoreError;
use idp_core::model::{AuditKind, Session, User};
use idp_core::security_questions;
use serde_json::json;

use crate::error::PageError;
use crate::i18n::{FieldError, Text, device, question_text, when};
use crate::state::AppState;
use crate::web::csrf;
use crate::web::extract::SignedIn;

/// Sign-in events shown on the account page.
const SIGN_IN_EVENTS: [AuditKind; 5] = [
    AuditKind::SignInSucceeded,
    AuditKind::PasswordWrong,
    AuditKind::PasswordThrottled,
    AuditKind::PinWrong,
    AuditKind::PinLocked,
];

/// A person's live sessions as pages show them (`current`: the one of the browser showing
/// the page), newest first.
pub(crate) async fn sessions_shown(
    state: &AppState,
    user_id: &str,
    current: Option<&str>,
) -> Result<Vec<serde_json::Value>, StoreError> {
    let now = state.now();
    let zone = state.settings.time_zone();
    let sessions = state.stores.sessions.list_sessions(user_id, now).await?;
    Ok(sessions
        .into_iter()
        .map(|s| {
            json!({
                "sid": s.sid,
                "current": Some(s.sid.as_str()) == current,
                "created_at": when::moment(s.created_at, now, zone),
                "acr": s.acr,
                "ip": s.ip,
                "device": device::name(s.user_agent.as_deref()),
            })
        })
        .collect())
}

/// The browsers a person trusts, as pages show them.
pub(crate) async fn devices_shown(
    state: &AppState,
    user_id: &str,
) -> Result<Vec<serde_json::Value>, StoreError> {
    let now = state.now();
    let zone = state.settings.time_zone();
    let devices = state.stores.devices.list_devices(user_id).await?;
    Ok(devices
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id,
                "last_seen_at": when::moment(d.last_seen_at, now, zone),
                "ip": d.ip,
                "device": device::name(d.user_agent.as_deref()),
            })
        })
        .collect())
}

/// The account page, with a notice or an error from the last action.
async fn page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    status: StatusCode,
    notice: Option<Text>,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let now = state.now();
    let zone = state.settings.time_zone();
    let at = |at: i64| when::moment(at, now, zone);
    let sessions = sessions_shown(state, &user.id, Some(&session.sid)).await?;
    let events: Vec<_> = state
        .stores
        .audit
        .recent_for_user(&user.id, &SIGN_IN_EVENTS, 20)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "at": at(e.at),
                "outcome": outcome_label(e.kind),
                "ip": e.ip,
                "device": device::name(e.user_agent.as_deref()),
            })
        })
        .collect();
    let devices = devices_shown(state, &user.id).await?;
    let mut consents = Vec::new();
    for (client_id, scopes, granted_at) in state.stores.consents.list_consents(&user.id).await? {
        let name = state
            .stores
            .clients
            .find_client(&client_id)
            .await?
            .map_or_else(|| Text::new("account-removed-app").words(), |c| c.name);
        let scopes: Vec<_> = scopes
            .iter()
            .map(|s| crate::oauth::consent::describe(s))
            .collect();
        consents.push(json!({
            "client_id": client_id,
            "name": name,
            "scopes": scopes,
            "granted_at": at(granted_at),
        }));
    }
    let factors = factors::section(state, session, user).await?;
    Ok(csrf::form_page(
        state,
        jar,
        status,
        "account.html",
        json!({
            "username": user.username,
            "roles": user.roles.iter().map(idp_core::model::Role::as_str).collect::<Vec<_>>(),
            "console": user.roles.has(idp_core::model::Role::Admin)
                || user.roles.has(idp_core::model::Role::Support),
            "developer": user.roles.has(idp_core::model::Role::Developer),
            "email": user.email,
            "email_verified": user.email_verified,
            "phone": user.phone,
            "phone_verified": user.phone_verified,
            "profile": profile::fields(&user.profile),
            "sessions": sessions,
            "devices": devices,
            "consents": consents,
            "factors": factors,
            "questions": security_questions::QUESTIONS
                .iter()
                .map(|(id, _)| json!({ "id": id, "text": question_text(id) }))
                .collect::<Vec<_>>(),
            "questions_offered": state.settings.factors.security_questions,
            "questions_set": user
                .security_questions
                .iter()
                .map(|a| question_text(&a.question))
                .collect::<Vec<_>>(),
            "events": events,
            "open": error.as_ref().and_then(section_of),
            "notice": notice,
            "error": error,
        }),
    ))
}

/// The account page after a change, with a notice.
async fn done(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    notice: &'static str,
) -> Result<Response, PageError> {
    page(
        state,
        jar,
        session,
        user,
        StatusCode::OK,
        Some(Text::new(notice)),
        None,
    )
    .await
}

/// The account page after a refused change, with the reason.
async fn refused(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    status: StatusCode,
    error: FieldError,
) -> Result<Response, PageError> {
    page(state, jar, session, user, status, None, Some(error)).await
}

/// The folded section of the page a refused change belongs to, shown open with its error.
fn section_of(error: &FieldError) -> Option<&'static str> {
    let section = match error.field {
        Some("current_password" | "password" | "password_confirm") => "password",
        Some("current_pin" | "new_pin" | "new_pin_confirm") => "pin",
        Some("value" | "contact_password") => "contact",
        Some("questions_password") => "questions",
        Some(
            "name" | "given_name" | "family_name" | "street_address" | "locality" | "region"
            | "postal_code" | "country",
        ) => "profile",
        Some("factor_pin" | "factor_name") => "factors",
        Some(_) => return None,
        None => match error.text.id() {
            id if id.starts_with("question-") => "questions",
            "account-choose-channel"
            | "recover-too-many-codes"
            | "code-not-sent"
            | "code-expired-ask" => "contact",
            "account-factors-step-up-needed" | "account-factor-unknown" => "factors",
            _ => return None,
        },
    };
    Some(section)
}

fn outcome_label(kind: AuditKind) -> Text {
    Text::new(match kind {
        AuditKind::SignInSucceeded => "outcome-signed-in",
        AuditKind::PasswordWrong => "outcome-password-wrong",
        AuditKind::PasswordThrottled => "outcome-throttled",
        AuditKind::PinWrong => "outcome-pin-wrong",
        AuditKind::PinLocked => "outcome-pin-locked",
        _ => "outcome-other",
    })
}

pub async fn account_page(
    State(state): State<AppState>,
    jar: CookieJar,
    SignedIn { session, user }: SignedIn,
) -> Result<Response, PageError> {
    page(&state, jar, &session, &user, StatusCode::OK, None, None).await
}
