//! An interaction carries one authorization request through the sign-in pages. It is stored
//! server-side and bound to the browser that started it (the server's CSRF binding), so
//! several tabs can sign in at once and a leaked URL is useless in another browser.

use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{ClientLinks, EphemeralKind, Session};
use idp_core::random::random_token;
use idp_core::store::EphemeralStore;
use idp_signin::{Level, LiveSession, Policy, SignIn};
use serde::{Deserialize, Serialize};

use crate::authorization_request::{AuthorizationRequest, Prompt};
use crate::authorization_response::{ResponseMode, ResponseType};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interaction {
    pub id: String,
    /// The browser that started it.
    pub browser: String,
    pub request: AuthorizationRequest,
    pub client_name: String,
    /// The client's logo and links, for the sign-in and consent pages.
    #[serde(default)]
    pub client_links: ClientLinks,
    pub created_at: UnixTime,
    /// What this sign-in has proven so far: the state machine's one source of truth.
    pub signin: SignIn,
    /// A password reset that sent no code (the username is nobody's, or has no confirmed
    /// contact by the channel chosen: see `SignIn::ResettingPassword`): what its code step
    /// answers with, as a real code would.
    #[serde(default)]
    pub decoy_code: Option<DecoyCode>,
    /// An authenticator app being added at the second-factor step: its secret, sealed, until
    /// its first code is right.
    #[serde(default)]
    pub pending_app: Option<Vec<u8>>,
}

/// The code a password reset of nobody "sent": every code typed is wrong, with one try fewer,
/// until its tries or its lifetime are over, as a real code's are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecoyCode {
    pub tries_left: u32,
    pub expires_at: UnixTime,
}

/// The client id of the provider's own account pages, which sign people in through the same
/// steps as a relying party but continue to `/account` instead of receiving a code.
pub const ACCOUNT_CLIENT: &str = "account";

/// The provider's own pages that sign people in through the account pages' client and come
/// back to where they began: the account page and the consoles.
pub const OWN_PAGES: [&str; 3] = ["/account", "/admin", "/developer"];

impl Interaction {
    /// A new interaction at `signin`, begun `now` (not stored yet: see [`Interaction::save`]).
    pub fn new(
        now: UnixTime,
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
            client_links: ClientLinks::default(),
            created_at: now,
            signin,
            decoy_code: None,
            pending_app: None,
        }
    }

    /// An interaction that signs the user in for the account page (not stored yet).
    pub fn for_account(now: UnixTime, browser: String) -> Self {
        Self::for_own_page(now, browser, OWN_PAGES[0])
    }

    /// An interaction that signs the user in for one of [`OWN_PAGES`] (not stored yet); it
    /// ends back there.
    pub fn for_own_page(now: UnixTime, browser: String, page: &'static str) -> Self {
        let request = AuthorizationRequest {
            client_id: ACCOUNT_CLIENT.to_owned(),
            redirect_uri: page.to_owned(),
            scopes: Vec::new(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: Vec::new(),
            max_age: None,
            login_hint: None,
            ui_locales: None,
            acr: None,
            acr_essential: false,
            response_type: ResponseType::CODE,
            response_mode: ResponseMode::Query,
            claims: None,
            hinted_user: None,
            dpop_jkt: None,
        };
        Self::new(
            now,
            browser,
            request,
            "your account".to_owned(),
            SignIn::AwaitingPassword { recover: false },
        )
    }

    pub fn is_for_account(&self) -> bool {
        self.request.client_id == ACCOUNT_CLIENT
    }

    /// Where an own pages' sign-in ends: the page it began for, one of [`OWN_PAGES`] (the
    /// account page for anything else).
    pub fn own_page(&self) -> &'static str {
        OWN_PAGES
            .into_iter()
            .find(|page| *page == self.request.redirect_uri)
            .unwrap_or(OWN_PAGES[0])
    }

    /// What the request asks of the sign-in, with the operator's settings.
    pub fn policy(&self, operator: Operator) -> Policy {
        policy(&self.request, operator)
    }

    /// The interaction stored under `id`, if it is there and still within its lifetime at
    /// `now`. Only reads: what a page does with it (its language, its steps) is the caller's
    /// to decide.
    pub async fn load(
        ephemeral: &dyn EphemeralStore,
        now: UnixTime,
        id: &str,
    ) -> Result<Option<Self>, StoreError> {
        let Some(payload) = ephemeral.get(EphemeralKind::Interaction, id, now).await? else {
            return Ok(None);
        };
        // One stored by an earlier release reads as expired: the person starts again.
        let Ok(interaction) = serde_json::from_value::<Self>(payload) else {
            return Ok(None);
        };
        Ok(Some(interaction))
    }

    /// Stores the interaction until `lifetime` seconds after it began.
    pub async fn save(
        &self,
        ephemeral: &dyn EphemeralStore,
        lifetime: i64,
    ) -> Result<(), StoreError> {
        let payload = serde_json::to_value(self).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let expires_at = self.created_at + lifetime;
        ephemeral
            .put(EphemeralKind::Interaction, &self.id, &payload, expires_at)
            .await
    }

    /// The path of this interaction's pages.
    pub fn path(&self) -> String {
        format!("/login/{}", self.id)
    }
}

/// The operator's settings a sign-in's policy takes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Operator {
    /// An unknown browser needs a one-time code after the PIN.
    pub new_device_check: bool,
    /// A code texted to a confirmed phone counts as a second factor.
    pub texted_codes_count: bool,
}

/// What a request asks of the sign-in (OpenID Connect Core §3.1.2.1), with the operator's
/// settings.
pub fn policy(request: &AuthorizationRequest, operator: Operator) -> Policy {
    Policy {
        // `select_account` asks what `login` asks: see `Prompt::SelectAccount`.
        force_login: request.prompt.contains(&Prompt::Login)
            || request.prompt.contains(&Prompt::SelectAccount),
        no_prompt: request.prompt.contains(&Prompt::None),
        force_consent: request.prompt.contains(&Prompt::Consent),
        hinted_user: request.hinted_user.clone(),
        max_age: request.max_age,
        level: request.acr.as_deref().and_then(Level::from_acr),
        level_essential: request.acr_essential,
        new_device_check: operator.new_device_check,
        texted_codes_count: operator.texted_codes_count,
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

#[cfg(test)]
mod tests {
    use idp_signin::Level;

    use super::*;
    use crate::test_stores::MemoryEphemeral;

    fn request(
        prompt: Option<Prompt>,
        max_age: Option<i64>,
        acr: Option<&str>,
    ) -> AuthorizationRequest {
        AuthorizationRequest {
            prompt: prompt.into_iter().collect(),
            max_age,
            acr: acr.map(str::to_owned),
            ..Interaction::for_account(0, String::new()).request
        }
    }

    #[tokio::test]
    async fn an_interaction_is_found_within_its_lifetime_and_not_after() {
        let ephemeral = MemoryEphemeral::default();
        let started = Interaction::for_account(1_000, "browser-digest".to_owned());
        assert!(started.is_for_account());
        assert_eq!(started.path(), format!("/login/{}", started.id));
        started.save(&ephemeral, 600).await.unwrap();
        let found = Interaction::load(&ephemeral, 1_599, &started.id)
            .await
            .unwrap();
        let found = found.expect("within its lifetime");
        assert_eq!(found.browser, "browser-digest");
        assert_eq!(found.signin, started.signin);
        let late = Interaction::load(&ephemeral, 1_600, &started.id)
            .await
            .unwrap();
        assert!(late.is_none(), "gone once its lifetime is over");
        let unknown = Interaction::load(&ephemeral, 1_000, "no-such-id")
            .await
            .unwrap();
        assert!(unknown.is_none());
    }

    #[tokio::test]
    async fn an_interaction_of_an_earlier_form_reads_as_expired() {
        let ephemeral = MemoryEphemeral::default();
        let payload = serde_json::json!({ "id": "old", "request": "not a request" });
        ephemeral
            .put(EphemeralKind::Interaction, "old", &payload, 2_000)
            .await
            .unwrap();
        let found = Interaction::load(&ephemeral, 1_000, "old").await.unwrap();
        assert!(found.is_none());
    }

    #[test]
    fn the_policy_is_what_the_request_asks_with_the_operators_new_device_setting() {
        let plain = policy(
            &request(None, None, None),
            Operator {
                new_device_check: true,
                ..Operator::default()
            },
        );
        assert!(!plain.force_login && !plain.no_prompt && plain.new_device_check);
        assert_eq!((plain.max_age, plain.level), (None, None));
        assert!(
            policy(
                &request(Some(Prompt::Login), None, None),
                Operator {
                    new_device_check: false,
                    ..Operator::default()
                }
            )
            .force_login
        );
        assert!(
            !policy(
                &request(Some(Prompt::Login), None, None),
                Operator {
                    new_device_check: false,
                    ..Operator::default()
                }
            )
            .new_device_check
        );
        assert!(
            policy(
                &request(Some(Prompt::None), None, None),
                Operator {
                    new_device_check: true,
                    ..Operator::default()
                }
            )
            .no_prompt
        );
        assert_eq!(
            policy(
                &request(None, Some(0), None),
                Operator {
                    new_device_check: true,
                    ..Operator::default()
                }
            )
            .max_age,
            Some(0)
        );
        let device = "urn:idp:acr:password-pin-device";
        let level = policy(
            &request(None, None, Some(device)),
            Operator {
                new_device_check: true,
                ..Operator::default()
            },
        )
        .level;
        assert_eq!(level, Level::from_acr(device));
        assert!(level.is_some());
    }
}
