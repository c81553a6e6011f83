//! Consent: before a third-party client (one registered over HTTP) first receives a person's
//! data, the person sees what it asks for and allows or refuses it. The answer is remembered
//! per person and client, covers exactly the scopes shown, and can be withdrawn on the
//! account page. Clients an administrator created are first-party and skip this, unless the
//! request says `prompt=consent` (the sign-in machine's `Policy::force_consent`): a relying
//! party that asks to have the person confirm again is answered alike, first-party or not.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::model::Client;
use idp_oauth::claims::consent_scopes;
use idp_signin::{Event, SignIn};
use serde::Deserialize;
use serde_json::json;

use super::steps;
use crate::error::{Expired, PageError};
use crate::i18n::Text;
use crate::oauth::consent::describe;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::client_logo;
use crate::web::csrf;
use crate::web::extract::{Step, StepForm};
use crate::web::sign_in::Loaded;

/// The interaction at its consent step: bound to the session the sign-in opened or found,
/// which must still be this browser's (the machine's rule).
async fn at_consent_step(state: &AppState, loaded: Loaded) -> Result<(Loaded, Client), PageError> {
    let loaded = steps::at(loaded, |s| matches!(s, SignIn::AwaitingConsent { .. }))?;
    let client = state
        .stores
        .clients
        .find_client(&loaded.interaction.request.client_id)
        .await?
        .ok_or(PageError::expired(Expired::ClientGone))?;
    Ok((loaded, client))
}

pub async fn consent_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    let (loaded, client) = at_consent_step(&state, loaded).await?;
    let interaction = &loaded.interaction;
    // The claims asked for by name are shown as their scopes (see idp_oauth::claims).
    let request = &interaction.request;
    let scopes: Vec<_> = consent_scopes(&request.scopes, request.claims.as_ref())
        .iter()
        .map(|s| describe(s))
        .collect();
    let page = csrf::form_page(
        &state,
        jar,
        StatusCode::OK,
        "consent.html",
        json!({
            "action": format!("{}/consent", interaction.path()),
            "client_name": client.name,
            "client": client_logo::view(&client.name, &client.metadata.links),
            "scopes": scopes,
        }),
    );
    Ok(client_logo::allow(page, &client.metadata.links))
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    decision: String,
}

pub async fn consent_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<ConsentForm>,
) -> Result<Response, PageError> {
    let (loaded, client) = at_consent_step(&state, loaded).await?;
    let event = match form.decision.as_str() {
        "allow" => {
            let user_id = loaded.user()?.id.clone();
            let request = &loaded.interaction.request;
            let scopes = consent_scopes(&request.scopes, request.claims.as_ref());
            state
                .stores
                .consents
                .grant_consent(&user_id, &client.id, &scopes, state.now())
                .await?;
            Event::ConsentGiven
        }
        "deny" => Event::ConsentRefused,
        _ => {
            return Err(PageError::bad_request(
                "consent-choose-title",
                Text::new("consent-choose"),
            ));
        }
    };
    steps::advance(&state, jar, loaded, event, &from).await
}
