//! An interaction carries one authorization request through the sign-in pages. It is stored
//! server-side and bound to the browser that started it (see `web::csrf::browser_binding`), so
//! several tabs can sign in at once and a leaked URL is useless in another browser.

use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{EphemeralKind, Session};
use idp_core::random::{random_token, sha256_b64};
use serde::{Deserialize, Serialize};

use super::authorization_code::CodeGrant;
use super::authorization_request::{AuthorizationRequest, Prompt, append_query};
use super::tokens::UserGrant;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interaction {
    pub id: String,
    /// The browser that started it.
    pub browser: String,
    pub request: AuthorizationRequest,
    pub client_name: String,
    pub created_at: UnixTime,
    /// Set once the password was right; the PIN step needs it.
    pub user_id: Option<String>,
    /// The session a sign-up made for this request, which answers it whatever `prompt` and
    /// `max_age` say: the user has just chosen their password and PIN.
    #[serde(default)]
    pub signed_up_sid: Option<String>,
    /// A step-up of this session: the password was given in it, so every later step needs
    /// that session to still be this browser's.
    #[serde(default)]
    pub step_up_sid: Option<String>,
    /// Sent to the consent page for this session; nothing else may reach it.
    #[serde(default)]
    pub consent_sid: Option<String>,
    /// PIN recovery in progress: the channel its code went by.
    #[serde(default)]
    pub recovery: Option<idp_core::model::Channel>,
    /// Set, to the channel its code went by, once recovery re-proved the user's identity: a
    /// new PIN may be chosen.
    #[serde(default)]
    pub recovered_by: Option<idp_core::model::Channel>,
    /// Set once the PIN was right (or newly chosen): only the new-device check may remain.
    #[serde(default)]
    pub pin_verified: bool,
    /// The new-device check in progress, if any.
    #[serde(default)]
    pub device_check: Option<crate::routes::device::DeviceCheck>,
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
        Self::start(state, browser, request, "your account".to_owned()).await
    }

    pub fn is_for_account(&self) -> bool {
        self.request.client_id == ACCOUNT_CLIENT
    }

    pub async fn start(
        state: &AppState,
        browser: String,
        request: AuthorizationRequest,
        client_name: String,
    ) -> Result<Self, StoreError> {
        let interaction = Self {
            id: random_token(24),
            browser,
            request,
            client_name,
            created_at: state.now(),
            user_id: None,
            signed_up_sid: None,
            step_up_sid: None,
            consent_sid: None,
            recovery: None,
            recovered_by: None,
            pin_verified: false,
            device_check: None,
        };
        interaction.save(state).await?;
        Ok(interaction)
    }

    pub async fn load(state: &AppState, id: &str) -> Result<Option<Self>, StoreError> {
        let Some(payload) = state
            .stores
            .ephemeral
            .get(EphemeralKind::Interaction, id, state.now())
            .await?
        else {
            return Ok(None);
        };
        let interaction: Self = serde_json::from_value(payload)
            .map_err(|_| StoreError::Corrupt("interaction".into()))?;
        // Its pages speak the relying party's language unless the person chose one.
        crate::i18n::prefer(interaction.request.ui_locales.as_deref());
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

    /// Records that `user_id` gave the right password. Everything proven for whoever was
    /// signing in before (PIN, recovery, new-device code) is forgotten: proofs never carry
    /// over from one user to another, nor from one password step to the next.
    pub fn password_verified(&mut self, user_id: String) {
        self.user_id = Some(user_id);
        self.step_up_sid = None;
        self.consent_sid = None;
        self.recovery = None;
        self.recovered_by = None;
        self.pin_verified = false;
        self.device_check = None;
    }

    /// The path of this interaction's pages.
    pub fn path(&self) -> String {
        format!("/login/{}", self.id)
    }
}

/// Whether a session answers the request without asking anything: not under `prompt=login`,
/// under `max_age` only with a sign-in at most that old, and only at the level of
/// authentication the request requires.
pub fn session_satisfies(request: &AuthorizationRequest, session: &Session, now: UnixTime) -> bool {
    if request.prompt == Some(Prompt::Login) {
        return false;
    }
    if !super::acr::satisfies(&session.acr, request.acr.as_deref()) {
        return false;
    }
    match request.max_age {
        Some(max_age) => now - session.auth_time <= max_age,
        None => true,
    }
}

/// Issues a single-use authorization code for the request and returns the redirect URI that
/// delivers it (with `state` and the RFC 9207 `iss`).
pub async fn issue_code(
    state: &AppState,
    request: &AuthorizationRequest,
    session: &Session,
) -> Result<String, StoreError> {
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
