//! Consent: before a third-party client (one registered over HTTP) first receives a person's
//! data, the person sees what it asks for and allows or refuses it. The answer is remembered
//! per person and client, covers exactly the scopes shown, and can be withdrawn on the
//! account page. Clients an administrator created are first-party and skip this.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::model::{Client, EphemeralKind, Session};
use idp_core::{ErrorCode, OAuthError, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::login::load;
use super::session;
use crate::error::PageError;
use crate::i18n::Text;
use crate::oauth::authorization_request::error_redirect;
use crate::oauth::interaction::{Interaction, issue_code, session_satisfies};
use crate::state::AppState;
use crate::web::csrf;

/// A scope in people's words.
pub fn describe(scope: &str) -> Text {
    Text::new(match scope {
        "openid" => "scope-openid",
        "profile" => "scope-profile",
        "email" => "scope-email",
        "phone" => "scope-phone",
        "offline_access" => "scope-offline_access",
        _ => "scope-other",
    })
}

/// Whether the person must be asked before the client gets these scopes.
pub async fn needed(
    state: &AppState,
    client: &Client,
    user_id: &str,
    scopes: &[String],
) -> Result<bool, StoreError> {
    if client.metadata.first_party {
        return Ok(false);
    }
    Ok(
        match state
            .stores
            .consents
            .consented_scopes(user_id, &client.id)
            .await?
        {
            Some(granted) => !scopes.iter().all(|s| granted.contains(s)),
            None => true,
        },
    )
}

/// Where to send the browser to be asked (the interaction's user is the session's).
pub async fn ask(
    state: &AppState,
    mut interaction: Interaction,
    session: &Session,
) -> Result<String, StoreError> {
    interaction.user_id = Some(session.user_id.clone());
    interaction.consent_sid = Some(session.sid.clone());
    interaction.save(state).await?;
    Ok(format!("{}/consent", interaction.path()))
}

/// The interaction and the live session of the person it is for.
async fn load_for_consent(
    state: &AppState,
    jar: &CookieJar,
    id: &str,
) -> Result<(Interaction, Session, Client), PageError> {
    let interaction = load(state, jar, id).await?;
    let session = session::current(state, jar)
        .await?
        .ok_or_else(PageError::expired)?;
    // Only an interaction sent here, for this very session, reaches consent: a step-up or a
    // `prompt=login` waiting for its PIN cannot jump ahead.
    if interaction.consent_sid.as_deref() != Some(session.sid.as_str())
        || interaction.user_id.as_deref() != Some(session.user_id.as_str())
        || !session_satisfies(&interaction.request, &session, state.now())
    {
        return Err(PageError::expired());
    }
    let client = state
        .stores
        .clients
        .find_client(&interaction.request.client_id)
        .await?
        .ok_or_else(PageError::expired)?;
    Ok((interaction, session, client))
}

pub async fn consent_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (interaction, _, client) = load_for_consent(&state, &jar, &id).await?;
    let scopes: Vec<_> = interaction
        .request
        .scopes
        .iter()
        .map(|s| describe(s))
        .collect();
    Ok(csrf::form_page(
        &state,
        jar,
        StatusCode::OK,
        "consent.html",
        json!({
            "action": format!("{}/consent", interaction.path()),
            "client_name": client.name,
            "scopes": scopes,
        }),
    ))
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
}

pub async fn consent_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<ConsentForm>,
) -> Result<Response, PageError> {
    if !csrf::verify(&state, &jar, &form.csrf) {
        return Err(PageError::csrf());
    }
    let (interaction, session, client) = load_for_consent(&state, &jar, &id).await?;
    let request = &interaction.request;
    let target = match form.decision.as_str() {
        "allow" => {
            state
                .stores
                .consents
                .grant_consent(&session.user_id, &client.id, &request.scopes, state.now())
                .await?;
            issue_code(&state, request, &session).await?
        }
        "deny" => {
            let error = OAuthError::new(ErrorCode::AccessDenied, "the person did not allow access");
            error_redirect(
                &request.redirect_uri,
                request.state.as_deref(),
                &error,
                state.issuer(),
            )
        }
        _ => {
            return Err(PageError::bad_request(
                "consent-choose-title",
                Text::new("consent-choose"),
            ));
        }
    };
    state
        .stores
        .ephemeral
        .delete(EphemeralKind::Interaction, &interaction.id)
        .await?;
    Ok((jar, Redirect::to(&target)).into_response())
}
