//! An interaction carries one authorization request through the sign-in pages. It is stored
//! server-side and bound to the browser that started it (see `web::csrf::browser_binding`), so
//! several tabs can sign in at once and a leaked URL is useless in another browser.

use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{EphemeralKind, Session};
use idp_core::random::{random_token, sha256_b64};
use serde::{Deserialize, Serialize};

use idp_oauth::authorization_code::CodeGrant;
use idp_oauth::tokens::UserGrant;
use idp_signin::{Authorization, Level, LiveSession, Policy, SignIn};

use super::authorization_request::{AuthorizationRequest, Prompt, append_query};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interaction {
    pub id: String,
    /// The browser that started it.
    pub browser: String,
    pub request: AuthorizationRequest,
    pub client_name: String,
    pub created_at: UnixTime,
    /// What this sign-in has proven so far: the state machine's one source of truth.
    pub signin: SignIn,
}

/// The client id of the provider's own account pages, which sign people in through the same
/// steps as a relying party but continue to `/account` instead of receiving a code.
pub const ACCOUNT_CLIENT: &str = "account";

impl Interaction {
    /// An interaction that signs the user in for the account page.
    pub async fn start_for_account(state: &AppState, browser: String) -> Result<Self, StoreError> {
        let request = AuthorizationRequest {
            client_id: ACCOUNT_CLIENT.to_owned(),
            redirect_uri: "/account".to_owned(),
            scopes: Vec::new(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: None,
            max_age: None,
            login_hint: None,
            ui_locales: None,
            acr: None,
        };
        let interaction = Self::new(
            state,
            browser,
            request,
            "your account".to_owned(),
            SignIn::AwaitingPassword { recover: false },
        );
        interaction.save(state).await?;
        Ok(interaction)
    }

    pub fn is_for_account(&self) -> bool {
        self.request.client_id == ACCOUNT_CLIENT
    }

    /// A new interaction at `signin` (not stored yet: see [`Interaction::save`]).
    pub fn new(
        state: &AppState,
        browser: String,
        request: AuthorizationRequest,
        client_name: String,
        signin: SignIn,
    ) -> Self {
        Self {
            id: random_token(24),
            browser,
            request,
            client_name,
            created_at: state.now(),
            signin,
        }
    }

    /// What the request asks of the sign-in.
    pub fn policy(&self, state: &AppState) -> Policy {
        policy(&self.request, state)
    }

    /// The interaction stored under `id`, if it is there and still within its lifetime. Only
    /// reads: what a page does with it (its language, its steps) is the caller's to decide.
    pub async fn load(state: &AppState, id: &str) -> Result<Option<Self>, StoreError> {
        let Some(payload) = state
            .stores
            .ephemeral
            .get(EphemeralKind::Interaction, id, state.now())
            .await?
        else {
            return Ok(None);
        };
        // One stored by an earlier release reads as expired: the person starts again.
        let Ok(interaction) = serde_json::from_value::<Self>(payload) else {
            return Ok(None);
        };
        Ok(Some(interaction))
    }

    pub async fn save(&self, state: &AppState) -> Result<(), StoreError> {
        let payload = serde_json::to_value(self).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let expires_at = self.created_at + state.settings.session.interaction_ttl;
        state
            .stores
            .ephemeral
            .put(EphemeralKind::Interaction, &self.id, &payload, expires_at)
            .await
    }

    /// The path of this interaction's pages.
    pub fn path(&self) -> String {
        format!("/login/{}", self.id)
    }
}

/// What a request asks of the sign-in (OpenID Connect Core §3.1.2.1), with the operator's
/// new-device setting.
pub fn policy(request: &AuthorizationRequest, state: &AppState) -> Policy {
    Policy {
        force_login: request.prompt == Some(Prompt::Login),
        no_prompt: request.prompt == Some(Prompt::None),
        max_age: request.max_age,
        level: request.acr.as_deref().and_then(Level::from_acr),
        new_device_check: state.settings.new_device.enabled,
    }
}

/// A stored session as the sign-in machine sees it.
pub fn live_session(session: &Session) -> LiveSession {
    LiveSession {
        sid: session.sid.clone(),
        user_id: session.user_id.clone(),
        auth_time: session.auth_time,
        level: Level::from_acr(&session.acr),
        epoch: session.credential_epoch,
    }
}

/// Issues a single-use authorization code for the request and returns the redirect URI that
/// delivers it (with `state` and the RFC 9207 `iss`). Only the sign-in machine grants the
/// [`Authorization`], for the session it names.
pub async fn issue_code(
    state: &AppState,
    request: &AuthorizationRequest,
    authorization: &Authorization,
    session: &Session,
    credential_epoch: i64,
) -> Result<String, StoreError> {
    if authorization.sid() != session.sid || authorization.user_id() != session.user_id {
        return Err(StoreError::Corrupt(
            "an authorization for another session".into(),
        ));
    }
    let code = random_token(32);
    let grant = CodeGrant {
        grant: UserGrant {
            client_id: request.client_id.clone(),
            user_id: session.user_id.clone(),
            scopes: request.scopes.clone(),
            auth_time: session.auth_time,
            acr: session.acr.clone(),
            amr: session.amr.clone(),
            sid: session.sid.clone(),
            grant_id: random_token(16),
        },
        redirect_uri: request.redirect_uri.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        credential_epoch: Some(credential_epoch),
    };
    let payload = serde_json::to_value(&grant).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    state
        .stores
        .ephemeral
        .put(
            EphemeralKind::AuthorizationCode,
            &sha256_b64(&code),
            &payload,
            state.now() + state.settings.tokens.authorization_code_ttl,
        )
        .await?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(value) = request.state.as_deref() {
        pairs.push(("state", value));
    }
    pairs.push(("iss", state.issuer()));
    Ok(append_query(&request.redirect_uri, &pairs))
}
