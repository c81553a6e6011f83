//! The second-factor step: after the PIN, a request for `urn:idp:acr:aal2` (or the
//! phishing-resistant level) asks for one factor the person has: a passkey (the page's one
//! script), a code from their authenticator app (field `otp`), one of their saved codes (field
//! `recovery_code`), or, where the operator lets texts count, a code texted to their confirmed
//! phone. A person with none adds an authenticator app or a passkey here, on a browser the
//! machine knows to be theirs. "I can't use any of these" goes on without one where the level
//! was voluntary. Every decision is the machine's: each handler verifies what was typed and
//! reports it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::model::{Channel, CodePurpose};
use idp_recovery::{CodeCheck, mask};
use idp_signin::{Destination, Event, Level, SecondFactor, SignIn};
use serde::Deserialize;
use serde_json::json;

use super::{device, steps};
use crate::error::PageError;
use crate::factors::{self, Checked, NewApp};
use crate::i18n::{FieldError, Text};
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;
use crate::web::code_entry;
use crate::web::csrf;
use crate::web::extract::{Step, StepForm};
use crate::web::passkey::PasskeyForm;
use crate::web::sign_in::Loaded;

fn path(loaded: &Loaded) -> String {
    format!("{}/second-factor", loaded.interaction.path())
}

fn at_step(loaded: Loaded) -> Result<Loaded, PageError> {
    steps::at(loaded, |s| matches!(s, SignIn::AwaitingSecondFactor { .. }))
}

/// What the person can do at this step, as the machine would accept it.
struct Choices {
    app: bool,
    saved_code: bool,
    add_app: bool,
    /// A code may be texted to this confirmed phone (where the operator lets texts count).
    text_to: Option<Destination>,
    /// A code was texted: where to.
    texted: Option<Destination>,
    /// The level asked for takes a passkey, which this page cannot take without JavaScript.
    passkey_needed: bool,
}

fn choices(state: &AppState, loaded: &Loaded) -> Choices {
    let verified = |factor| loaded.accepts(state, Event::SecondFactorVerified { factor });
    Choices {
        app: verified(SecondFactor::App),
        saved_code: verified(SecondFactor::SavedCode),
        add_app: loaded.accepts(
            state,
            Event::FactorAdded {
                factor: SecondFactor::App,
            },
        ),
        passkey_needed: loaded.policy.level == Some(Level::Aal2PhishingResistant),
        text_to: phone(loaded)
            .filter(|to| loaded.accepts(state, Event::TextCodeAsked { to: to.clone() })),
        texted: match &loaded.interaction.signin {
            SignIn::AwaitingSecondFactor { texted, .. } => texted.clone(),
            _ => None,
        },
    }
}

/// The person's confirmed phone, as a place a code can be texted to.
fn phone(loaded: &Loaded) -> Option<Destination> {
    let user = loaded.user.as_ref()?;
    let phone = user.phone.as_ref().filter(|_| user.phone_verified)?;
    Some(Destination {
        channel: Channel::Sms,
        recipient: phone.clone(),
        confirms_email: false,
    })
}

/// The passkey ceremony the page offers, begun: a sign-in with the person's passkeys, or
/// adding one where the machine lets them.
async fn passkey(
    state: &AppState,
    loaded: &Loaded,
) -> Result<Option<serde_json::Value>, PageError> {
    let user = loaded.user()?;
    let place = &loaded.interaction.id;
    let any = SecondFactor::Passkey { synced: true };
    let (begun, creating, action) =
        if loaded.accepts(state, Event::SecondFactorVerified { factor: any }) {
            let begun = factors::begin_passkey_sign_in(state, user, place).await?;
            (begun, false, format!("{}/passkey", path(loaded)))
        } else if loaded.accepts(state, Event::FactorAdded { factor: any }) {
            let begun = factors::begin_passkey_registration(state, user, place).await?;
            (begun, true, format!("{}/add-passkey", path(loaded)))
        } else {
            return Ok(None);
        };
    Ok(begun.map(|begun| crate::web::passkey::ceremony(begun, creating, action)))
}

async fn page(
    state: &AppState,
    jar: CookieJar,
    loaded: &Loaded,
    status: StatusCode,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let choices = choices(state, loaded);
    let essential = loaded.policy.level_essential;
    let passkey = passkey(state, loaded).await?;
    let runs_script = passkey.is_some();
    let response = csrf::form_page(
        state,
        jar,
        status,
        "second_factor.html",
        json!({
            "action": path(loaded),
            "client": loaded.interaction.client_name,
            "app": choices.app,
            "saved_code": choices.saved_code,
            "add_app": choices.add_app.then(|| format!("{}/add-app", path(loaded))),
            "text": choices.text_to.map(|to| json!({
                "action": format!("{}/text", path(loaded)),
                "to": mask::phone(&to.recipient),
            })),
            "texted": choices.texted.map(|to| json!({
                "action": format!("{}/texted", path(loaded)),
                "to": mask::phone(&to.recipient),
            })),
            "passkey": passkey,
            "passkey_needed": choices.passkey_needed,
            "decline": format!("{}/decline", path(loaded)),
            "cancel": crate::web::sign_in::cancel(&loaded.interaction),
            "essential": essential,
            "error": error,
        }),
    );
    Ok(if runs_script {
        crate::web::passkey::allow(response)
    } else {
        response
    })
}

pub async fn second_factor_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    let loaded = at_step(loaded)?;
    page(&state, jar, &loaded, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct FactorForm {
    #[serde(default)]
    otp: Option<String>,
    #[serde(default)]
    recovery_code: Option<String>,
}

pub async fn second_factor_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<FactorForm>,
) -> Result<Response, PageError> {
    let loaded = at_step(loaded)?;
    let (factor, field, typed) = match (&form.otp, &form.recovery_code) {
        (Some(otp), _) => (SecondFactor::App, "otp", otp.as_str()),
        (None, Some(code)) => (SecondFactor::SavedCode, "recovery_code", code.as_str()),
        (None, None) => {
            let missing = FieldError::on("otp", Text::new("factor-code-missing"));
            return page(&state, jar, &loaded, StatusCode::BAD_REQUEST, Some(missing)).await;
        }
    };
    // Nothing is checked (and no saved code spent) for a factor the machine would refuse.
    let event = Event::SecondFactorVerified { factor };
    if !loaded.accepts(&state, event.clone()) {
        return Ok(steps::to_current_page(&loaded));
    }
    if typed.trim().is_empty() {
        let missing = FieldError::on(field, Text::new("factor-code-missing"));
        return page(&state, jar, &loaded, StatusCode::BAD_REQUEST, Some(missing)).await;
    }
    let user = loaded.user()?.clone();
    let checked = match factor {
        SecondFactor::App => factors::check_app_code(&state, &user, typed, &from).await?,
        _ => factors::use_saved_code(&state, &user, typed, &from).await?,
    };
    let wrong = match (checked, factor) {
        (Checked::Right, _) => return steps::advance(&state, jar, loaded, event, &from).await,
        (Checked::Used, SecondFactor::App) => "factor-app-code-used",
        (_, SecondFactor::App) => "factor-app-code-wrong",
        _ => "factor-saved-code-wrong",
    };
    let error = FieldError::on(field, Text::new(wrong));
    page(&state, jar, &loaded, StatusCode::UNAUTHORIZED, Some(error)).await
}

/// The browser's answer to the passkey sign-in the page began.
pub async fn passkey_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<PasskeyForm>,
) -> Result<Response, PageError> {
    let loaded = at_step(loaded)?;
    let any = SecondFactor::Passkey { synced: true };
    if !loaded.accepts(&state, Event::SecondFactorVerified { factor: any }) {
        return Ok(steps::to_current_page(&loaded));
    }
    let user = loaded.user()?.clone();
    let place = loaded.interaction.id.clone();
    let answer = form.answer();
    match factors::finish_passkey_sign_in(&state, &user, &place, answer, &from).await? {
        Some(factor) => {
            let event = Event::SecondFactorVerified { factor };
            steps::advance(&state, jar, loaded, event, &from).await
        }
        None => {
            let error = FieldError::general(Text::new("passkey-refused"));
            page(&state, jar, &loaded, StatusCode::UNAUTHORIZED, Some(error)).await
        }
    }
}

/// The browser's answer to adding a passkey here (a person with no factor, on a browser known
/// to be theirs).
pub async fn add_passkey_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<PasskeyForm>,
) -> Result<Response, PageError> {
    let loaded = at_step(loaded)?;
    let any = SecondFactor::Passkey { synced: true };
    // Nothing is stored for a factor the machine would not take.
    if !loaded.accepts(&state, Event::FactorAdded { factor: any }) {
        return Ok(steps::to_current_page(&loaded));
    }
    let user = loaded.user()?.clone();
    let place = loaded.interaction.id.clone();
    let name = factor_name(&form.name, "factor-kind-passkey");
    let answer = form.answer();
    match factors::finish_passkey_registration(&state, &user, &place, answer, &name, &from).await? {
        Some((_, synced)) => {
            let event = Event::FactorAdded {
                factor: SecondFactor::Passkey { synced },
            };
            steps::advance(&state, jar, loaded, event, &from).await
        }
        None => {
            let error = FieldError::general(Text::new("passkey-refused"));
            page(&state, jar, &loaded, StatusCode::UNAUTHORIZED, Some(error)).await
        }
    }
}

/// A decline or a request for a text carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct EmptyForm {}

/// "Text me a code": sent to the person's confirmed phone, where texts count.
pub async fn text_code(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, .. }: StepForm<EmptyForm>,
) -> Result<Response, PageError> {
    let loaded = at_step(loaded)?;
    let Some(to) = phone(&loaded) else {
        return Ok(steps::to_current_page(&loaded));
    };
    steps::advance(&state, jar, loaded, Event::TextCodeAsked { to }, &from).await
}

#[derive(Deserialize)]
pub struct TextedForm {
    #[serde(default)]
    code: String,
}

/// The code that was texted.
pub async fn texted_code(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<TextedForm>,
) -> Result<Response, PageError> {
    let loaded = at_step(loaded)?;
    let event = Event::SecondFactorVerified {
        factor: SecondFactor::TextedCode,
    };
    if !loaded.accepts(&state, event.clone()) {
        return Ok(steps::to_current_page(&loaded));
    }
    let user = loaded.user()?.clone();
    let tried = throttle::per_ip_try(&state, throttle::Action::CodeTry, from.ip()).await?;
    let store = state.stores.codes.as_ref();
    let now = state.now();
    let checked = state
        .codes
        .check(store, CodePurpose::NewDevice, &user.id, &form.code, now)
        .await;
    let outcome = tried
        .settle(&state, checked, |o| matches!(o, CodeCheck::Wrong { .. }))
        .await?;
    let error = match outcome {
        // Only the code texted for this very sign-in: never an e-mailed one sent for another.
        CodeCheck::Correct(data) if device::sent_for(&data, &loaded.interaction, Channel::Sms) => {
            return steps::advance(&state, jar, loaded, event, &from).await;
        }
        CodeCheck::Correct(_) => code_entry::wrong_code(0, false),
        CodeCheck::Wrong { tries_left } => code_entry::wrong_code(tries_left, false),
        CodeCheck::Blocked => return Err(PageError::CodesBlocked),
        CodeCheck::Spent => FieldError::on("code", Text::new("code-expired")),
    };
    page(&state, jar, &loaded, StatusCode::UNAUTHORIZED, Some(error)).await
}

pub async fn decline(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, .. }: StepForm<EmptyForm>,
) -> Result<Response, PageError> {
    let loaded = at_step(loaded)?;
    let code_to = device::destination(loaded.user()?);
    steps::advance(
        &state,
        jar,
        loaded,
        Event::SecondFactorDeclined { code_to },
        &from,
    )
    .await
}

fn add_app_path(loaded: &Loaded) -> String {
    format!("{}/add-app", path(loaded))
}

/// The interaction at the second-factor step where the machine lets the person add an app.
fn may_add_app(state: &AppState, loaded: Loaded) -> Result<Loaded, PageError> {
    let loaded = at_step(loaded)?;
    let added = Event::FactorAdded {
        factor: SecondFactor::App,
    };
    if loaded.accepts(state, added) {
        Ok(loaded)
    } else {
        Err(PageError::Elsewhere(path(&loaded)))
    }
}

/// The app being added: the one this sign-in keeps, else a new one (kept from now on, so that
/// reloading the page does not change the code to scan).
async fn pending_app(state: &AppState, loaded: &mut Loaded) -> Result<NewApp, PageError> {
    let id = loaded.interaction.id.clone();
    if let Some(app) = loaded
        .interaction
        .pending_app
        .as_deref()
        .and_then(|sealed| NewApp::unseal(state, &id, sealed))
    {
        return Ok(app);
    }
    let app = NewApp::generate();
    loaded.interaction.pending_app = Some(app.sealed(state, &id));
    crate::web::sign_in::save(state, &loaded.interaction).await?;
    Ok(app)
}

#[allow(clippy::too_many_arguments)]
pub fn add_app_screen(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    app: &NewApp,
    user: &idp_core::model::User,
    action: String,
    name: &str,
    error: Option<FieldError>,
    cancel: Option<serde_json::Value>,
) -> Response {
    let uri = app.uri(state, user);
    csrf::form_page(
        state,
        jar,
        status,
        "add_app.html",
        json!({
            "action": action,
            // A URI too long for a code (a very long name) leaves the key to type.
            "qr": idp_factors::totp::qr_svg(&uri, &Text::new("add-app-qr-label").words()),
            "secret": app.secret.base32_grouped(),
            "uri": uri,
            "name": name,
            "error": error,
            "cancel": cancel,
        }),
    )
}

pub async fn add_app_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    let mut loaded = may_add_app(&state, loaded)?;
    let app = pending_app(&state, &mut loaded).await?;
    let user = loaded.user()?;
    let action = add_app_path(&loaded);
    Ok(add_app_screen(
        &state,
        jar,
        StatusCode::OK,
        &app,
        user,
        action,
        "",
        None,
        Some(crate::web::sign_in::cancel(&loaded.interaction)),
    ))
}

#[derive(Deserialize)]
pub struct AddAppForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    otp: String,
}

pub async fn add_app_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<AddAppForm>,
) -> Result<Response, PageError> {
    let mut loaded = may_add_app(&state, loaded)?;
    let app = pending_app(&state, &mut loaded).await?;
    let user = loaded.user()?.clone();
    let name = factor_name(&form.name, "factor-kind-app");
    if !app.bind(&state, &user, &name, &form.otp, &from).await? {
        let error = FieldError::on("otp", Text::new("factor-app-code-wrong"));
        let action = add_app_path(&loaded);
        return Ok(add_app_screen(
            &state,
            jar,
            StatusCode::UNAUTHORIZED,
            &app,
            &user,
            action,
            &form.name,
            Some(error),
            Some(crate::web::sign_in::cancel(&loaded.interaction)),
        ));
    }
    loaded.interaction.pending_app = None;
    let added = Event::FactorAdded {
        factor: SecondFactor::App,
    };
    steps::advance(&state, jar, loaded, added, &from).await
}

/// The name a person gave a factor, trimmed and bounded; their kind in words when none.
pub fn factor_name(typed: &str, kind_key: &'static str) -> String {
    let typed: String = typed.trim().chars().take(60).collect();
    if typed.is_empty() {
        Text::new(kind_key).words()
    } else {
        typed
    }
}
