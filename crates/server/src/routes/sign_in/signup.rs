//! Sign-up: the account details and password, then the PIN. Nothing is stored until both steps
//! pass; the user is then signed in and, if a relying party sent them, continues to it.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::StoreError;
use idp_core::model::{AuditKind, EphemeralKind, NewUser};
use idp_core::random::random_token;
use idp_core::validate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::error::{Expired, PageError};
use crate::i18n::{self, FieldError, Text};
use idp_signin::{Event, Level, Method};

use super::steps;
use crate::session;
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;
use crate::web::extract::CsrfForm;
use crate::web::templates::render;
use crate::web::{cookies, csrf};

const SIGNUP_PATH: &str = "/signup";

/// A sign-up waiting for its PIN.
#[derive(Serialize, Deserialize)]
struct PendingSignup {
    username: String,
    email: String,
    phone: Option<String>,
    password_hash: String,
    interaction: Option<String>,
    /// The browser that started the sign-up (see `web::csrf::browser_binding`).
    browser: String,
}

#[derive(Deserialize, Default)]
pub struct SignupQuery {
    #[serde(default)]
    interaction: String,
}

#[derive(Deserialize, Default)]
pub struct SignupForm {
    #[serde(default)]
    interaction: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

fn signup_form(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    form: &SignupForm,
    error: Option<FieldError>,
) -> Response {
    csrf::form_page(
        state,
        jar,
        status,
        "signup.html",
        json!({
            "interaction": form.interaction,
            "username": form.username,
            "email": form.email,
            "phone": form.phone,
            "password_min": state.password_policy.min_length,
            "error": error,
        }),
    )
}

pub async fn signup_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<SignupQuery>,
) -> Response {
    let form = SignupForm {
        interaction: query.interaction,
        ..SignupForm::default()
    };
    signup_form(&state, jar, StatusCode::OK, &form, None)
}

pub async fn signup_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<Response, PageError> {
    let refuse = |jar, message: FieldError| {
        Ok(signup_form(
            &state,
            jar,
            StatusCode::BAD_REQUEST,
            &form,
            Some(message),
        ))
    };
    let username = match validate::username(&form.username) {
        Ok(name) => name,
        Err(why) => return refuse(jar, FieldError::on("username", why.into())),
    };
    let email = match validate::email(&form.email) {
        Ok(email) => email,
        Err(why) => return refuse(jar, FieldError::on("email", why.into())),
    };
    let phone = match form.phone.trim() {
        "" => None,
        typed => match validate::phone(typed) {
            Ok(phone) => Some(phone),
            Err(why) => return refuse(jar, FieldError::on("phone", why.into())),
        },
    };
    if let Err(why) = state
        .password_policy
        .check(&form.password, &form.password_confirm, &username)
    {
        return refuse(jar, FieldError::on(i18n::password_field(why), why.into()));
    }
    // Counted once the form is valid, before the username is looked up and the password
    // hashed: typing mistakes cost nothing; bulk sign-ups, and probing which usernames are
    // taken, are limited per address.
    let counted = throttle::per_ip_try(&state, throttle::Action::SignUp, from.ip()).await?;
    let started = start(&state, jar, &form, (username, email, phone)).await;
    // A sign-up refused for our own outage does not count against the address.
    counted.unless_outage(&state, started).await
}

/// Stores a valid sign-up form as a pending sign-up, unless the username is taken.
async fn start(
    state: &AppState,
    jar: CookieJar,
    form: &SignupForm,
    (username, email, phone): (String, String, Option<String>),
) -> Result<Response, PageError> {
    if state
        .stores
        .users
        .find_user_by_username(&username)
        .await?
        .is_some()
    {
        let taken = FieldError::on("username", Text::new("signup-username-taken"));
        return Ok(signup_form(
            state,
            jar,
            StatusCode::BAD_REQUEST,
            form,
            Some(taken),
        ));
    }

    let pending = PendingSignup {
        username,
        email,
        phone,
        password_hash: state.hasher.hash(form.password.clone(), None).await?,
        interaction: Some(form.interaction.clone()).filter(|i| !i.is_empty()),
        browser: String::new(),
    };
    let (jar, browser) = csrf::browser_binding(state, jar);
    let pending = PendingSignup { browser, ..pending };
    let id = random_token(24);
    let payload = serde_json::to_value(&pending).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let ttl = state.settings.session.interaction_ttl;
    state
        .stores
        .ephemeral
        .put(EphemeralKind::Signup, &id, &payload, state.now() + ttl)
        .await?;
    let jar = jar.add(cookies::with_path(
        &state.settings,
        cookies::SIGNUP,
        id,
        SIGNUP_PATH,
        Some(ttl),
    ));
    Ok((jar, Redirect::to("/signup/pin")).into_response())
}

async fn load_pending(
    state: &AppState,
    jar: &CookieJar,
) -> Result<(String, PendingSignup), PageError> {
    let name = cookies::name(&state.settings, cookies::SIGNUP, false);
    let id = jar
        .get(&name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(signup_expired(Expired::SignUpCookieMissing))?;
    let payload = state
        .stores
        .ephemeral
        .get(EphemeralKind::Signup, &id, state.now())
        .await?
        .ok_or(signup_expired(Expired::SignUpNotFound))?;
    let pending: PendingSignup =
        serde_json::from_value(payload).map_err(|_| StoreError::Corrupt("signup".into()))?;
    if !csrf::is_bound(state, jar, &pending.browser) {
        return Err(signup_expired(Expired::SignUpOfAnotherBrowser));
    }
    Ok((id, pending))
}

/// The sign-up the request continues is gone, for `cause`: the person starts it again.
fn signup_expired(cause: Expired) -> PageError {
    PageError::Expired {
        heading: "signup-expired-title",
        message: "signup-expired",
        cause,
    }
}

fn pin_form(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    error: Option<FieldError>,
) -> Response {
    let policy = state.pins.policy();
    csrf::form_page(
        state,
        jar,
        status,
        "pin_create.html",
        json!({
            "action": "/signup/pin",
            "signing_up": true,
            "pin_min": policy.min_length,
            "pin_max": policy.max_length,
            "error": error,
        }),
    )
}

pub async fn pin_page(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    load_pending(&state, &jar).await?;
    Ok(pin_form(&state, jar, StatusCode::OK, None))
}

#[derive(Deserialize)]
pub struct PinForm {
    #[serde(default)]
    pin: String,
    #[serde(default)]
    pin_confirm: String,
}

pub async fn pin_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    CsrfForm(form): CsrfForm<PinForm>,
) -> Result<Response, PageError> {
    let (id, pending) = load_pending(&state, &jar).await?;
    let (pin, confirmation) = (form.pin.trim(), form.pin_confirm.trim());
    if let Err(why) = state
        .pins
        .policy()
        .check_new(pin, confirmation, pending.phone.as_deref())
    {
        return Ok(pin_form(
            &state,
            jar,
            StatusCode::BAD_REQUEST,
            Some(FieldError::on(i18n::pin_field(why), why.into())),
        ));
    }
    let user = NewUser {
        id: random_token(16),
        username: pending.username.clone(),
        email: pending.email,
        // Confirmed with a code later (a new device's, or on the account page).
        email_verified: false,
        phone: pending.phone,
        phone_verified: false,
        password_hash: pending.password_hash,
        pin_hash: state.pins.hash_new_pin(pin).await?,
        created_at: state.now(),
    };
    // On a backend failure the pending sign-up stays, so the user can simply submit again.
    let created = match state.stores.users.create_user(&user).await {
        Err(StoreError::Conflict(_)) => false,
        other => other.map(|()| true)?,
    };
    state
        .stores
        .ephemeral
        .delete(EphemeralKind::Signup, &id)
        .await?;
    let jar = jar.add(cookies::removal(
        &state.settings,
        cookies::SIGNUP,
        SIGNUP_PATH,
    ));
    if !created {
        {
            let form = SignupForm {
                interaction: pending.interaction.unwrap_or_default(),
                username: pending.username,
                ..SignupForm::default()
            };
            return Ok(signup_form(
                &state,
                jar,
                StatusCode::CONFLICT,
                &form,
                Some(FieldError::on(
                    "username",
                    Text::new("signup-username-taken"),
                )),
            ));
        }
    }
    audit::record(
        &state,
        audit::event(&state, AuditKind::SignUp, &from).user(&user.id),
    )
    .await;
    // Password and PIN were chosen just now, on the browser that becomes trusted.
    let amr = idp_signin::amr(&[Method::Pwd, Method::Pin]);
    let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
    let (jar, session) = session::start(
        &state,
        jar,
        None,
        &user.id,
        0, // a new account's first credentials
        Level::PasswordPinDevice.acr(),
        &amr,
        &from,
    )
    .await?;
    // Disabled between its creation and now: the session does not stand.
    let current = state.stores.users.find_user(&user.id).await?;
    if current.is_none_or(|u| u.disabled_at.is_some() || u.credential_epoch != 0) {
        state.stores.sessions.delete_found_session(&session).await?;
        return Err(PageError::Forbidden(Text::new("login-account-disabled")));
    }
    // The browser that created the account is the user's first trusted device.
    let jar = crate::trusted_device::trust_this_device(&state, jar, &user.id, &from).await?;
    if let Some(id) = pending.interaction.as_deref() {
        // The sign-in that sent the person here (if this browser started it) continues with
        // the session just made.
        match crate::web::sign_in::load(&state, &jar, id).await {
            Ok(mut loaded) => {
                let event = Event::SignedUp {
                    user_id: user.id.clone(),
                    sid: session.sid.clone(),
                };
                loaded.session = Some(session);
                return steps::advance(&state, jar, loaded, event, &from).await;
            }
            Err(error @ (PageError::Unavailable(_) | PageError::Internal(_))) => return Err(error),
            Err(_) => {}
        }
    }
    // Its own address, so that reloading it or switching its language shows it again.
    Ok((jar, Redirect::to(SIGNED_UP_PATH)).into_response())
}

/// Where a sign-up that no relying party started ends.
pub const SIGNED_UP_PATH: &str = "/signed-up";

/// "Your account is ready", for the browser's session; without one, the sign-in page.
pub async fn signed_up_page(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let Some(session) = session::current(&state, &jar).await? else {
        return Ok(Redirect::to("/account").into_response());
    };
    let Some(user) = state.stores.users.find_user(&session.user_id).await? else {
        return Ok(Redirect::to("/account").into_response());
    };
    Ok(render(
        StatusCode::OK,
        "signed_up.html",
        json!({ "username": user.username }),
    ))
}
