//! The consoles (SPEC "Consoles"): `/admin` for support staff and administrators. Who may see
//! a console page, and who may change anything through one, is decided here once:
//! - someone not signed in is sent into a sign-in that comes back to the console;
//! - a person without the console's role is refused (403);
//! - every page needs a session at `urn:idp:acr:aal2` or higher, and every change a sign-in
//!   within the last [`FRESH_FOR`] seconds; short of either, the page says so and offers the
//!   step-up, which the sign-in machine runs as for any relying party.
//!
//! What the consoles do to people is `crate::staff`'s, shared with the command line and the
//! admin API.

/// Answers with the page `admit` gave instead, when the console does not admit the request.
macro_rules! admitted {
    ($admitted:expr) => {
        match $admitted? {
            Ok(admitted) => admitted,
            Err(page) => return Ok(page),
        }
    };
}

pub mod audit;
mod client_options;
pub mod clients;
pub mod keys;
pub mod registration;
pub mod support;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::model::{Role, Roles, User};
use idp_signin::Level;
use serde::Deserialize;
use serde_json::json;

use crate::error::PageError;
use crate::i18n::Text;
use crate::oauth::interaction::Interaction;
use crate::routes::sign_in::steps;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::csrf;

/// How recent a sign-in must be for a change through a console (seconds).
pub const FRESH_FOR: i64 = 15 * 60;

/// The level every console page needs.
const LEVEL: Level = Level::Aal2;

/// A part of a console: the page its sign-in comes back to, and the roles it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// People: support staff and administrators.
    People,
    /// Signing keys, clients, registration tokens, the audit log: administrators.
    Operations,
    /// A developer's own clients.
    Developer,
}

impl Console {
    pub fn path(self) -> &'static str {
        match self {
            Self::People | Self::Operations => "/admin",
            Self::Developer => "/developer",
        }
    }

    fn admits(self, roles: Roles) -> bool {
        match self {
            Self::People => roles.has(Role::Admin) || roles.has(Role::Support),
            Self::Operations => roles.has(Role::Admin),
            Self::Developer => roles.has(Role::Developer),
        }
    }
}

/// What a console request is for: to look, or to change something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Look,
    Change,
}

/// A person the console admitted.
pub struct Staff {
    pub user: User,
}

impl Staff {
    /// Who acts, as the audit log names them.
    pub fn actor(&self) -> crate::staff::Actor {
        crate::staff::Actor::Staff(self.user.id.clone())
    }

    pub fn is_admin(&self) -> bool {
        self.user.roles.has(Role::Admin)
    }
}

/// Whether the browser's session may use `console` for `intent`: the person admitted, or the
/// page to answer with instead (a sign-in, a refusal, the offer of a step-up).
pub async fn admit(
    state: &AppState,
    jar: CookieJar,
    from: &ClientInfo,
    console: Console,
    intent: Intent,
) -> Result<Result<(CookieJar, Staff), Response>, PageError> {
    let session = crate::session::current(state, &jar).await?;
    let user = match &session {
        Some(session) => state.stores.users.find_user(&session.user_id).await?,
        None => None,
    };
    let (Some(session), Some(user)) = (session, user.filter(|u| u.disabled_at.is_none())) else {
        // A plain sign-in first: whether the person has the role is known only after it, and
        // one without it is not asked for a second factor to be told so.
        return sign_in(state, jar, from, console, Ask::Nothing)
            .await
            .map(Err);
    };
    if !console.admits(user.roles) {
        let only = match console {
            Console::People => "console-forbidden",
            Console::Operations => "console-admins-only",
            Console::Developer => "console-developers-only",
        };
        return Err(PageError::NoAccess(Text::new(only)));
    }
    let level = Level::from_acr(&session.acr);
    if level.is_none_or(|have| have < LEVEL) {
        return Ok(Err(step_up_page(state, jar, console, false)));
    }
    if intent == Intent::Change && state.now() - session.auth_time > FRESH_FOR {
        return Ok(Err(step_up_page(state, jar, console, true)));
    }
    Ok(Ok((jar, Staff { user })))
}

/// The page that offers the step-up: to the level the consoles need, or (`fresh`) a sign-in
/// recent enough for a change.
fn step_up_page(state: &AppState, jar: CookieJar, console: Console, fresh: bool) -> Response {
    let query = if fresh { "?fresh=1" } else { "" };
    let response = csrf::form_page(
        state,
        jar,
        StatusCode::FORBIDDEN,
        "console_step_up.html",
        json!({
            "fresh": fresh,
            "step_up": format!("{}/step-up{query}", console.path()),
            "console": console.path(),
        }),
    );
    no_store(response)
}

/// A console page, kept by no browser or proxy.
pub fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// What a console's sign-in asks for beyond password and PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Nothing,
    /// The consoles' level.
    Level,
    /// The consoles' level, authenticated now (for a change).
    Fresh,
}

/// Starts the sign-in that brings the browser back to `console`, asking for `ask`.
async fn sign_in(
    state: &AppState,
    jar: CookieJar,
    from: &ClientInfo,
    console: Console,
    ask: Ask,
) -> Result<Response, PageError> {
    let (jar, browser) = csrf::browser_binding(state, jar);
    let mut interaction = Interaction::for_own_page(state.now(), browser, console.path());
    if ask != Ask::Nothing {
        // Essential: a sign-in that does not reach the level ends without a session, rather
        // than replacing the one the browser has with a weaker one.
        interaction.request.acr = Some(LEVEL.acr().to_owned());
        interaction.request.acr_essential = true;
    }
    if ask == Ask::Fresh {
        interaction.request.max_age = Some(0);
    }
    let session = match ask {
        // Only a session of a person who may sign in answers for them (see `admit`).
        Ask::Nothing => None,
        Ask::Level | Ask::Fresh => crate::session::current(state, &jar).await?,
    };
    let client = crate::routes::account::factors::account_client();
    steps::begin(state, jar, session, interaction, &client, from).await
}

#[derive(Deserialize)]
pub struct StepUpQuery {
    #[serde(default)]
    fresh: Option<String>,
}

/// GET `/admin/step-up`: the console's sign-in again, at its level, and with `fresh` a new
/// authentication whatever the session's age.
pub async fn admin_step_up(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Query(query): Query<StepUpQuery>,
) -> Result<Response, PageError> {
    sign_in(&state, jar, &from, Console::People, query.ask()).await
}

/// GET `/developer/step-up`: the same for the developer console.
pub async fn developer_step_up(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Query(query): Query<StepUpQuery>,
) -> Result<Response, PageError> {
    sign_in(&state, jar, &from, Console::Developer, query.ask()).await
}

impl StepUpQuery {
    fn ask(&self) -> Ask {
        if self.fresh.is_some() {
            Ask::Fresh
        } else {
            Ask::Level
        }
    }
}

/// The longest reason taken.
const MAX_REASON: usize = 500;

/// What is wrong with the reason given for a change (the key of the words that say it), or
/// `None`: every change through a console gives one, for the audit log.
pub fn reason_problem(reason: &str) -> Option<&'static str> {
    if reason.is_empty() {
        Some("console-reason-needed")
    } else if reason.chars().any(char::is_control) {
        Some("console-reason-one-line")
    } else if reason.chars().count() > MAX_REASON {
        Some("console-reason-too-long")
    } else {
        None
    }
}

/// A console page's query after a change: which change was done, for its notice.
#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    pub done: Option<String>,
}

/// Where a change sends the browser afterwards (post, redirect, get).
pub fn after_change(path: &str) -> Response {
    Redirect::to(path).into_response()
}
