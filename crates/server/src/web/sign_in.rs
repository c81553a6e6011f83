//! The sign-in in progress as its pages see it: the interaction named in the path, bound to
//! this browser, loaded with the facts the state machine (`idp_signin`) needs to judge it (the
//! browser's session and the person the sign-in is about, as they are now). Advancing it is
//! `routes::sign_in::steps`'s; loading it is shared with the extractors in `web::extract`.

use axum_extra::extract::CookieJar;
use idp_core::StoreError;
use idp_core::model::{Session, User};
use idp_signin::{Account, Context, Event, Factors, LiveSession, Policy, SignIn};

use crate::error::{Expired, PageError};
use crate::i18n::{self, Text};
use crate::oauth::interaction::{Interaction, live_session};
use crate::session;
use crate::state::AppState;
use crate::web::csrf;

/// An interaction with what the machine needs to judge it: the browser's session and the
/// person the sign-in is about, as they are now.
pub struct Loaded {
    pub interaction: Interaction,
    /// The person the sign-in is about (the session's, at the start).
    pub user: Option<User>,
    pub session: Option<Session>,
    pub policy: Policy,
    /// The person's second factors, looked up only where the machine reads them (see
    /// [`Loaded::look_up_factors`]).
    pub factors: Factors,
}

/// The person with the username as typed; `None` for one nobody has, or that is no username.
pub async fn person_named(state: &AppState, typed: &str) -> Result<Option<User>, StoreError> {
    match idp_core::validate::username(typed) {
        Ok(name) => state.stores.users.find_user_by_username(&name).await,
        Err(_) => Ok(None),
    }
}

/// The machine's view of a stored person, with their second factors.
pub fn account(user: &User, factors: Factors) -> Account {
    Account {
        factors,
        user_id: user.id.clone(),
        epoch: user.credential_epoch,
        has_pin: user.pin_hash.is_some(),
        can_recover: user.email_verified || (user.phone.is_some() && user.phone_verified),
        disabled: user.disabled_at.is_some(),
    }
}

impl Loaded {
    /// Runs `f` with the machine's context for this sign-in now.
    pub fn judge<T>(&self, state: &AppState, f: impl FnOnce(Context<'_>) -> T) -> T {
        let account = self.user.as_ref().map(|u| account(u, self.factors));
        let live: Option<LiveSession> = self.session.as_ref().map(live_session);
        f(Context {
            now: state.now(),
            policy: &self.policy,
            session: live.as_ref(),
            account: account.as_ref(),
        })
    }

    /// Whether the machine would accept `event` now: asked before a side effect that must
    /// not happen unless it does (sending a code), so that no page decides it by itself.
    pub fn accepts(&self, state: &AppState, event: Event) -> bool {
        self.judge(state, |ctx| {
            idp_signin::advance(&self.interaction.signin, event, ctx).is_ok()
        })
    }

    /// Looks up the person's second factors where the machine reads them: when the request's
    /// level takes one, at the new-device step (an app stands in for the code) and in PIN
    /// recovery (a saved code stands in for a sent one).
    pub async fn look_up_factors(&mut self, state: &AppState) -> Result<(), StoreError> {
        let needed = self.policy.level.is_some_and(|l| l.needs_second_factor())
            || matches!(
                self.interaction.signin,
                SignIn::AwaitingDeviceCode { .. } | SignIn::Recovering { .. }
            );
        self.factors = match &self.user {
            Some(user) if needed => crate::factors::of(state, user).await?,
            _ => Factors::default(),
        };
        Ok(())
    }

    /// Looks up the person's second factors whatever the step: for a page that offers one
    /// where the sign-in does not usually need them (PIN recovery from the PIN step).
    pub async fn with_factors(mut self, state: &AppState) -> Result<Self, StoreError> {
        if let Some(user) = &self.user {
            self.factors = crate::factors::of(state, user).await?;
        }
        Ok(self)
    }

    /// The person the sign-in is about; only steps past the password have one.
    pub fn user(&self) -> Result<&User, PageError> {
        self.user
            .as_ref()
            .ok_or(PageError::expired(Expired::NoPerson))
    }
}

/// The interaction named in the path, if this browser started it and it still stands (its
/// person's credentials unchanged, the session it continues still this browser's). The page
/// answered is then one of the sign-in's: its relying party's `ui_locales` become the page's
/// default language.
pub async fn load(state: &AppState, jar: &CookieJar, id: &str) -> Result<Loaded, PageError> {
    let interaction = Interaction::load(state.stores.ephemeral.as_ref(), state.now(), id)
        .await?
        .ok_or(PageError::expired(Expired::SignInNotFound))?;
    // The pages of a sign-in speak its relying party's `ui_locales` unless the person chose a
    // language: one input of the page's language, which `i18n::PageLanguage::locale` decides.
    i18n::relying_party_asks(interaction.request.ui_locales.as_deref());
    if !csrf::is_bound(state, jar, &interaction.browser) {
        return Err(PageError::expired(Expired::SignInOfAnotherBrowser));
    }
    let session = session::current(state, jar).await?;
    let user = match interaction.signin.user_id() {
        // A step about a person who is gone does not stand.
        Some(user_id) => Some(
            state
                .stores
                .users
                .find_user(user_id)
                .await?
                .ok_or(PageError::expired(Expired::PersonGone))?,
        ),
        None => None,
    };
    let policy = interaction.policy(state.operator());
    let mut loaded = Loaded {
        interaction,
        user,
        session,
        policy,
        factors: Factors::default(),
    };
    loaded.look_up_factors(state).await?;
    match loaded.judge(state, |ctx| {
        idp_signin::resume(&loaded.interaction.signin, ctx)
    }) {
        Ok(()) => Ok(loaded),
        Err(_)
            if loaded
                .user
                .as_ref()
                .is_some_and(|u| u.disabled_at.is_some()) =>
        {
            Err(PageError::Forbidden(Text::new("login-account-disabled")))
        }
        Err(_) => Err(PageError::expired(Expired::SignInNoLongerStands)),
    }
}

/// What a sign-in page's "Cancel" needs (`forms.cancel`): where it posts, and the relying
/// party it goes back to (none for the account pages' own sign-in). The relying party hears
/// `access_denied` (the machine's `Event::Cancelled`).
pub fn cancel(interaction: &Interaction) -> serde_json::Value {
    serde_json::json!({
        "action": format!("{}/cancel", interaction.path()),
        "client": (!interaction.is_for_account()).then_some(interaction.client_name.as_str()),
    })
}

/// Stores the interaction for the configured lifetime of a sign-in.
pub async fn save(state: &AppState, interaction: &Interaction) -> Result<(), StoreError> {
    let lifetime = state.settings.session.interaction_ttl;
    interaction
        .save(state.stores.ephemeral.as_ref(), lifetime)
        .await
}
