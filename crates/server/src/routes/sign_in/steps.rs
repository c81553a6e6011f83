//! The sign-in pages' one way to the state machine (`idp_signin`): advance the sign-in loaded
//! by `web::sign_in`, carry out the machine's effects, and send the browser to the page of the
//! step it reached. No page decides what a sign-in has
//! proven; each one verifies what was typed and reports it here as an event.

use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::model::{AuditKind, Client, EphemeralKind, Session};
use idp_core::{ErrorCode, OAuthError};
use idp_oauth::authorization_response::AuthorizationResponse;
use idp_oauth::consent;
use idp_signin::{Effect, Event, Refusal, SignIn};

use super::device;
use crate::audit;
use crate::error::{Expired, PageError};
use crate::i18n::Text;
use crate::oauth::interaction::{Interaction, live_session};
use crate::session;
use crate::state::AppState;
use crate::trusted_device;
use crate::web::client_info::ClientInfo;
use crate::web::csrf;
use crate::web::sign_in::Loaded;

/// The page of a step.
pub fn page_of(interaction: &Interaction) -> String {
    let base = interaction.path();
    match &interaction.signin {
        SignIn::AwaitingPin { .. } => format!("{base}/pin"),
        SignIn::Recovering { channel: None, .. } => format!("{base}/recover"),
        SignIn::Recovering { .. } => format!("{base}/recover/code"),
        SignIn::ChoosingPin { .. } => format!("{base}/new-pin"),
        SignIn::AwaitingDeviceCode { .. } => format!("{base}/device"),
        SignIn::AwaitingSecondFactor { .. } => format!("{base}/second-factor"),
        SignIn::AwaitingConsent { .. } => format!("{base}/consent"),
        SignIn::ResettingPassword { channel: None, .. } => {
            format!("{base}/forgot-password/channel")
        }
        SignIn::ResettingPassword { .. } => format!("{base}/forgot-password/code"),
        SignIn::ResetAwaitingPin { .. } => format!("{base}/forgot-password/pin"),
        SignIn::ChoosingPassword { .. } => format!("{base}/forgot-password/new"),
        SignIn::AwaitingPassword { .. }
        | SignIn::Proven { .. }
        | SignIn::SignedIn { .. }
        | SignIn::Done => base,
    }
}

/// Sends the browser to the page of the step the sign-in is at (a page of another step was
/// asked for: an old tab, the back button).
pub fn to_current_page(loaded: &Loaded) -> Response {
    Redirect::to(&page_of(&loaded.interaction)).into_response()
}

/// The sign-in, when it is at a step `is_step` accepts; otherwise the page of its step.
pub fn at(loaded: Loaded, is_step: impl FnOnce(&SignIn) -> bool) -> Result<Loaded, PageError> {
    if is_step(&loaded.interaction.signin) {
        Ok(loaded)
    } else {
        Err(PageError::Elsewhere(page_of(&loaded.interaction)))
    }
}

/// The relying party's answer for an error the machine gave, with `state` and `iss`, in the
/// request's response mode.
fn error_answer(
    state: &AppState,
    interaction: &Interaction,
    code: ErrorCode,
    what: &'static str,
) -> AuthorizationResponse {
    let request = &interaction.request;
    AuthorizationResponse::error(
        &request.redirect_uri,
        request.response_mode,
        request.state.as_deref(),
        &OAuthError::new(code, what),
        state.issuer(),
    )
}

/// Where a finished sign-in sends the browser.
enum Answer {
    /// A page of the provider's own (the account pages' sign-in).
    Own(&'static str),
    /// The relying party, with its answer.
    Client(AuthorizationResponse),
}

impl Answer {
    fn respond(&self) -> Result<Response, PageError> {
        match self {
            Self::Own(path) => Ok(Redirect::to(path).into_response()),
            Self::Client(answer) => crate::web::authorization_response::respond(answer),
        }
    }
}

/// Advances the sign-in by `event`, carries out the effects, and answers with the next page
/// or the relying party's answer.
pub async fn advance(
    state: &AppState,
    mut jar: CookieJar,
    mut loaded: Loaded,
    event: Event,
    from: &ClientInfo,
) -> Result<Response, PageError> {
    let mut next = Some(event);
    let mut answer: Option<Answer> = None;
    while let Some(event) = next.take() {
        let step = match loaded.judge(state, |ctx| {
            idp_signin::advance(&loaded.interaction.signin, event, ctx)
        }) {
            Ok(step) => step,
            Err(refusal) => return refused(state, jar, &loaded, refusal).await,
        };
        loaded.interaction.signin = step.state;
        for effect in step.effects {
            ensure_user(state, &mut loaded).await?;
            match effect {
                Effect::TrustDevice => {
                    let user = loaded.user()?;
                    jar = trusted_device::trust_this_device(state, jar, &user.id, from).await?;
                }
                Effect::SendDeviceCode(to) => {
                    device::send_code(state, &loaded.interaction, loaded.user()?, &to, from)
                        .await?;
                }
                Effect::OpenSession(proof) => {
                    let amr = idp_signin::amr(&proof.methods);
                    let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
                    let (acr, user_id) = (proof.level.acr(), proof.user_id.as_str());
                    let epoch = proof.credential_epoch;
                    let browser = loaded.session.as_ref();
                    let (with_session, opened) =
                        session::start(state, jar, browser, user_id, epoch, acr, &amr, from)
                            .await?;
                    // The person as they are now, read after the session exists: a credential
                    // change that ended the person's sessions before this one was made has
                    // moved their epoch on, and this session ends too (the machine's check on
                    // the next event refuses it).
                    loaded.user = state.stores.users.find_user(&proof.user_id).await?;
                    if loaded.user.as_ref().map(|u| u.credential_epoch) != Some(epoch) {
                        state.stores.sessions.delete_found_session(&opened).await?;
                        return Err(PageError::expired(Expired::CredentialsChangedMeanwhile));
                    }
                    jar = with_session;
                    let event = audit::event(state, AuditKind::SignInSucceeded, from)
                        .user(&proof.user_id)
                        .client(&loaded.interaction.request.client_id);
                    audit::record(state, event).await;
                    next = Some(Event::SessionOpened {
                        sid: opened.sid.clone(),
                    });
                    loaded.session = Some(opened);
                }
                Effect::IssueCode(authorization) => {
                    let session = loaded
                        .session
                        .as_ref()
                        .ok_or(PageError::expired(Expired::NoSession))?;
                    // The code carries the credentials its session was opened under.
                    let epoch = session.credential_epoch;
                    answer = Some(if loaded.interaction.is_for_account() {
                        Answer::Own(loaded.interaction.own_page())
                    } else {
                        let request = &loaded.interaction.request;
                        let client = state
                            .stores
                            .clients
                            .find_client(&request.client_id)
                            .await?
                            .ok_or(PageError::expired(Expired::ClientGone))?;
                        // An ID token from here carries claims about the person: read them
                        // as they are now (a session's answer has not looked the person up).
                        let person = match &loaded.user {
                            _ if !request.response_type.id_token => None,
                            Some(user) if user.id == session.user_id => Some(user.clone()),
                            _ => Some(
                                state
                                    .stores
                                    .users
                                    .find_user(&session.user_id)
                                    .await?
                                    .ok_or(PageError::expired(Expired::PersonGone))?,
                            ),
                        };
                        Answer::Client(
                            crate::oauth::grants::answer_authorized(
                                state,
                                &client,
                                person.as_ref(),
                                request,
                                &authorization,
                                session,
                                epoch,
                            )
                            .await?,
                        )
                    });
                }
                Effect::Deny => {
                    // The account pages' own sign-in goes back to the start instead.
                    answer = Some(if loaded.interaction.is_for_account() {
                        Answer::Own("/")
                    } else {
                        Answer::Client(error_answer(
                            state,
                            &loaded.interaction,
                            ErrorCode::AccessDenied,
                            "the person did not allow access",
                        ))
                    });
                }
            }
        }
        if next.is_none()
            && let SignIn::SignedIn { user_id, .. } = &loaded.interaction.signin
        {
            let needed = consent_needed(state, &loaded.interaction, user_id).await?;
            next = Some(Event::ConsentChecked { needed });
        }
        if next.is_some() {
            ensure_user(state, &mut loaded).await?;
        }
    }
    if let Some(answer) = answer {
        finish(state, &loaded.interaction).await?;
        return Ok((jar, answer.respond()?).into_response());
    }
    let jar = save(state, jar, &mut loaded.interaction).await?;
    Ok((jar, Redirect::to(&page_of(&loaded.interaction))).into_response())
}

/// Loads the person the sign-in is now about, when a step changed who that is (a password,
/// a sign-up).
async fn ensure_user(state: &AppState, loaded: &mut Loaded) -> Result<(), PageError> {
    // A step that names no one (done) keeps the person it was about.
    if let Some(wanted) = loaded.interaction.signin.user_id()
        && loaded.user.as_ref().is_none_or(|u| u.id != wanted)
    {
        loaded.user = state.stores.users.find_user(wanted).await?;
        loaded.look_up_factors(state).await?;
    }
    Ok(())
}

/// Stores the interaction, binding it to this browser first if it is new.
async fn save(
    state: &AppState,
    jar: CookieJar,
    interaction: &mut Interaction,
) -> Result<CookieJar, PageError> {
    let jar = if interaction.browser.is_empty() {
        let (jar, browser) = csrf::browser_binding(state, jar);
        interaction.browser = browser;
        jar
    } else {
        jar
    };
    crate::web::sign_in::save(state, interaction).await?;
    Ok(jar)
}

/// The sign-in has its answer: its record goes.
async fn finish(state: &AppState, interaction: &Interaction) -> Result<(), PageError> {
    if !interaction.browser.is_empty() {
        state
            .stores
            .ephemeral
            .delete(EphemeralKind::Interaction, &interaction.id)
            .await?;
    }
    Ok(())
}

pub async fn consent_needed(
    state: &AppState,
    interaction: &Interaction,
    user_id: &str,
) -> Result<bool, PageError> {
    if interaction.is_for_account() {
        return Ok(false);
    }
    let client = state
        .stores
        .clients
        .find_client(&interaction.request.client_id)
        .await?
        .ok_or(PageError::expired(Expired::ClientGone))?;
    Ok(consent::needed(
        state.stores.consents.as_ref(),
        &client,
        user_id,
        &idp_oauth::claims::consent_scopes(
            &interaction.request.scopes,
            interaction.request.claims.as_ref(),
        ),
    )
    .await?)
}

async fn refused(
    state: &AppState,
    jar: CookieJar,
    loaded: &Loaded,
    refusal: Refusal,
) -> Result<Response, PageError> {
    let (code, what) = match refusal {
        Refusal::Void => return Err(PageError::expired(Expired::SignInVoid)),
        Refusal::OutOfStep => return Ok((jar, to_current_page(loaded)).into_response()),
        Refusal::Disabled => return Err(PageError::Forbidden(Text::new("login-account-disabled"))),
        Refusal::LoginRequired => (ErrorCode::LoginRequired, "the user must sign in"),
        Refusal::ConsentRequired => (
            ErrorCode::ConsentRequired,
            "the user has not allowed this client",
        ),
        Refusal::UnmetAuthenticationRequirements => (
            ErrorCode::UnmetAuthenticationRequirements,
            "the essential acr was not reached",
        ),
    };
    finish(state, &loaded.interaction).await?;
    let answer = error_answer(state, &loaded.interaction, code, what);
    Ok((jar, crate::web::authorization_response::respond(&answer)?).into_response())
}

/// Starts a sign-in for a checked authorization request: answered at once from the browser's
/// session (`session`, as the caller looked it up for this request) when the machine allows
/// it, otherwise at the step it begins with.
pub async fn begin(
    state: &AppState,
    jar: CookieJar,
    session: Option<Session>,
    interaction: Interaction,
    client: &Client,
    from: &ClientInfo,
) -> Result<Response, PageError> {
    let policy = interaction.policy(state.operator());
    // A session that answers the request stands for its person (credential changes and
    // disabling end sessions, and its code carries the credentials it was opened under); the
    // person is looked up for a step-up only, where the machine could make one.
    let needs_account = session
        .as_ref()
        .is_some_and(|s| idp_signin::begin_needs_account(&policy, &live_session(s), state.now()));
    let user = match &session {
        Some(session) if needs_account => state.stores.users.find_user(&session.user_id).await?,
        _ => None,
    };
    let mut loaded = Loaded {
        interaction,
        user,
        session,
        policy,
        factors: idp_signin::Factors::default(),
    };
    loaded.look_up_factors(state).await?;
    match loaded.judge(state, idp_signin::begin) {
        Ok(SignIn::SignedIn { user_id, sid }) => {
            loaded.interaction.signin = SignIn::SignedIn {
                user_id: user_id.clone(),
                sid,
            };
            // The client the request was checked against, not looked up again.
            let request = &loaded.interaction.request;
            let scopes =
                idp_oauth::claims::consent_scopes(&request.scopes, request.claims.as_ref());
            let needed =
                consent::needed(state.stores.consents.as_ref(), client, &user_id, &scopes).await?;
            advance(state, jar, loaded, Event::ConsentChecked { needed }, from).await
        }
        Ok(signin) => {
            if !matches!(signin, SignIn::AwaitingPin { .. }) {
                // A password sign-in: the session found (if any) is not this one's.
                loaded.user = None;
            }
            loaded.interaction.signin = signin;
            let jar = save(state, jar, &mut loaded.interaction).await?;
            Ok((jar, to_current_page(&loaded)).into_response())
        }
        Err(refusal) => refused(state, jar, &loaded, refusal).await,
    }
}
