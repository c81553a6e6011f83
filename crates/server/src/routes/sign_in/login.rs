//! The sign-in pages of an interaction: password, then PIN (or a new PIN after an unlock),
//! then back to the relying party.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::hashing::Turn;
use idp_core::model::{AuditKind, User};
use idp_pin_verifier::PinOutcome;
use idp_signin::{Event, SignIn};
use serde::Deserialize;
use serde_json::json;

use super::{device, steps};
use crate::audit;
use crate::error::{Expired, PageError};
use crate::i18n::{self, FieldError, Text};
use crate::messages;
use crate::oauth::interaction::Interaction;
use crate::session;
use crate::state::AppState;
use crate::throttle;
use crate::trusted_device;
use crate::web::client_info::ClientInfo;
use crate::web::client_logo;
use crate::web::csrf;
use crate::web::extract::{Step, StepForm};
use crate::web::sign_in::{self, Loaded};
use crate::web::templates::render;

fn login_page(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
    status: StatusCode,
    username: &str,
    error: Option<FieldError>,
) -> Response {
    let page = csrf::form_page(
        state,
        jar,
        status,
        "login.html",
        json!({
            "client_name": interaction.client_name,
            "client": client_logo::view(&interaction.client_name, &interaction.client_links),
            "action": interaction.path(),
            "interaction": interaction.id,
            "forgot_password": super::reset::start_path(interaction),
            "cancel": sign_in::cancel(interaction),
            "username": username,
            "error": error,
        }),
    );
    client_logo::allow(page, &interaction.client_links)
}

pub async fn password_page(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    match &loaded.interaction.signin {
        SignIn::AwaitingPassword { .. } => {}
        // Back from sign-up with the session it made for this request.
        SignIn::SignedIn { user_id, .. } => {
            let user_id = user_id.clone();
            let needed = steps::consent_needed(&state, &loaded.interaction, &user_id).await?;
            return steps::advance(&state, jar, loaded, Event::ConsentChecked { needed }, &from)
                .await;
        }
        _ => return Ok(steps::to_current_page(&loaded)),
    }
    let interaction = &loaded.interaction;
    let hint = interaction.request.login_hint.clone().unwrap_or_default();
    Ok(login_page(
        &state,
        jar,
        interaction,
        StatusCode::OK,
        &hint,
        None,
    ))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn password_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<PasswordForm>,
) -> Result<Response, PageError> {
    let interaction = &loaded.interaction;
    let typed = form.username.trim();
    if let throttle::Verdict::Wait(wait) =
        throttle::password_attempt(&state, typed, from.ip()).await?
    {
        let event = audit::event(&state, AuditKind::PasswordThrottled, &from)
            .client(&interaction.request.client_id);
        audit::record(&state, event).await;
        let message = FieldError::general(throttle::wait_message(wait));
        let mut page = login_page(
            &state,
            jar,
            interaction,
            StatusCode::TOO_MANY_REQUESTS,
            typed,
            Some(message),
        );
        crate::error::retry_after_header(&mut page, wait);
        return Ok(page);
    }
    let (user, matches) = match check_password(&state, typed, &form.password).await {
        Ok(checked) => checked,
        Err(error) => {
            // Never checked (the hashing queue was full, or a store could not be reached):
            // the refusal is ours, and costs the person no try.
            throttle::password_unchecked(&state, typed, from.ip()).await;
            return Err(error);
        }
    };
    let user = match user {
        Some(user) if matches => user,
        other => {
            let mut event = audit::event(&state, AuditKind::PasswordWrong, &from)
                .client(&interaction.request.client_id);
            event = match &other {
                Some(user) => event.user(&user.id),
                None => event.detail("unknown username"),
            };
            audit::record(&state, event).await;
            let page = login_page(
                &state,
                jar,
                interaction,
                StatusCode::UNAUTHORIZED,
                typed,
                Some(FieldError::on(
                    "password",
                    Text::new("login-wrong-password"),
                )),
            );
            return Ok(page);
        }
    };
    throttle::password_succeeded(&state, typed, from.ip()).await?;
    // A disabled account is refused by the machine, only after the right password, so it
    // tells a stranger nothing. The password step reads no second factor (the steps after it
    // look them up when the request needs one).
    let account = sign_in::account(&user, idp_signin::Factors::default());
    steps::advance(
        &state,
        jar,
        loaded,
        Event::PasswordVerified { account },
        &from,
    )
    .await
}

/// "Go back to the relying party" from the sign-in page: it hears `access_denied`.
pub async fn cancel(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, .. }: StepForm<serde::de::IgnoredAny>,
) -> Result<Response, PageError> {
    steps::advance(&state, jar, loaded, Event::Cancelled, &from).await
}

/// The user with this username, if any, and whether the password is theirs. An unknown or
/// malformed username costs the same Argon2id verification as a wrong password, so neither
/// the answer nor its timing tells whether the username exists.
async fn check_password(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<(Option<User>, bool), PageError> {
    // A password turned away at once is turned away before the username is looked up, so
    // that the answer's timing says nothing of whether it exists.
    state.hasher.admit(Turn::New)?;
    let user = sign_in::person_named(state, username).await?;
    let bounded = password.chars().count() <= state.password_policy.max_length;
    let stored = user.as_ref().map_or_else(
        || state.dummy_password_hash.clone(),
        |u| u.password_hash.clone(),
    );
    let typed = if bounded {
        password.to_owned()
    } else {
        String::new()
    };
    let matches = state.hasher.verify(Turn::New, typed, stored, None).await? && bounded;
    if let Some(user) = user.as_ref().filter(|_| matches) {
        crate::rehash::password(state, user, password).await;
    }
    Ok((user, matches))
}

fn pin_page_response(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
    user: &User,
    status: StatusCode,
    error: Option<FieldError>,
) -> Response {
    // After a wrong PIN, the tries left are said (in the error, or beside the field).
    let tries_left = (user.pin_failures > 0 && error.is_none())
        .then(|| state.pins.max_attempts().saturating_sub(user.pin_failures));
    csrf::form_page(
        state,
        jar,
        status,
        "pin.html",
        json!({
            "client_name": interaction.client_name,
            "username": user.username,
            "action": steps::page_of(interaction),
            "cancel": sign_in::cancel(interaction),
            "recover": format!("{}/recover", interaction.path()),
            "reset": is_reset(interaction),
            // A step-up of the browser's session: the relying party asks again.
            "step_up": matches!(
                interaction.signin,
                SignIn::AwaitingPin {
                    basis: idp_signin::Basis::Session { .. },
                    ..
                }
            ),
            "tries_left": tries_left,
            "error": error,
        }),
    )
}

/// Whether the PIN is asked to confirm a password reset (see `reset`).
fn is_reset(interaction: &Interaction) -> bool {
    matches!(interaction.signin, SignIn::ResetAwaitingPin { .. })
}

/// Why the PIN is locked, as the lock page says.
#[derive(Clone, Copy)]
pub(super) enum Lock {
    /// The PIN just given was the last wrong one.
    JustNow,
    /// It was locked before this request.
    Already,
}

pub(super) fn locked_page(state: &AppState, interaction: &Interaction, lock: Lock) -> Response {
    let message = match lock {
        Lock::JustNow => "pin-wrong-now-locked",
        Lock::Already => "pin-too-many",
    };
    render(
        StatusCode::FORBIDDEN,
        "locked.html",
        json!({
            "message": Text::new(message),
            "just_now": matches!(lock, Lock::JustNow),
            "max_attempts": state.pins.max_attempts(),
            "recover": format!("{}/recover", interaction.path()),
            // A reset cannot unlock the PIN: that needs the password it replaces.
            "reset": is_reset(interaction),
            "back": interaction.path(),
        }),
    )
}

fn new_pin_path(interaction: &Interaction) -> String {
    format!("{}/new-pin", interaction.path())
}

/// The interaction at a PIN step (a sign-in's, or a password reset's), with its person.
fn at_pin_step(loaded: Loaded) -> Result<Loaded, PageError> {
    steps::at(loaded, |s| {
        matches!(
            s,
            SignIn::AwaitingPin { .. } | SignIn::ResetAwaitingPin { .. }
        )
    })
}

pub async fn pin_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    let loaded = at_pin_step(loaded)?;
    let user = loaded.user()?;
    if user.pin_failures >= state.pins.max_attempts() {
        return Ok(locked_page(&state, &loaded.interaction, Lock::Already));
    }
    Ok(pin_page_response(
        &state,
        jar,
        &loaded.interaction,
        user,
        StatusCode::OK,
        None,
    ))
}

#[derive(Deserialize)]
pub struct PinForm {
    #[serde(default)]
    pin: String,
}

pub async fn pin_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<PinForm>,
) -> Result<Response, PageError> {
    let loaded = at_pin_step(loaded)?;
    let user = loaded.user()?.clone();
    let interaction = &loaded.interaction;
    let tried = throttle::per_ip_try(&state, throttle::Action::PinTry, from.ip()).await?;
    let client_id = interaction.request.client_id.as_str();
    // The password was verified: finishing this sign-in goes ahead of starting new ones.
    let checked = state
        .pins
        .verify(Turn::Continuing, &user, form.pin.trim())
        .await;
    // Only a wrong PIN counts against the address; one never checked (a full hashing queue,
    // a store down) costs it nothing either.
    let outcome = tried
        .settle(&state, checked, |o| matches!(o, PinOutcome::Wrong { .. }))
        .await?;
    if let PinOutcome::Wrong { tries_left } = outcome {
        let event = audit::event(&state, AuditKind::PinWrong, &from)
            .user(&user.id)
            .client(client_id)
            .detail(format!("{tries_left} tries left"));
        audit::record(&state, event).await;
    }
    match outcome {
        PinOutcome::Correct => {
            crate::rehash::pin(&state, &user, form.pin.trim()).await;
            let event = Event::PinVerified {
                trusted_device: trusted_device::is_trusted(&state, &jar, &user).await?,
                code_to: device::destination(&user),
            };
            steps::advance(&state, jar, loaded, event, &from).await
        }
        PinOutcome::Wrong { tries_left: 0 } => {
            let event = audit::event(&state, AuditKind::PinLocked, &from)
                .user(&user.id)
                .client(client_id);
            audit::record(&state, event).await;
            state.notifier.send_later(messages::pin_locked(&user));
            Ok(locked_page(&state, interaction, Lock::JustNow))
        }
        PinOutcome::Wrong { tries_left } => {
            let message = FieldError::on(
                "pin",
                Text::new("pin-wrong").count("tries", i64::from(tries_left)),
            );
            Ok(pin_page_response(
                &state,
                jar,
                interaction,
                &user,
                StatusCode::UNAUTHORIZED,
                Some(message),
            ))
        }
        PinOutcome::Locked => Ok(locked_page(&state, interaction, Lock::Already)),
        PinOutcome::NotDigits => {
            let message = FieldError::on("pin", Text::new("pin-numbers-only"));
            Ok(pin_page_response(
                &state,
                jar,
                interaction,
                &user,
                StatusCode::BAD_REQUEST,
                Some(message),
            ))
        }
        // An administrator's unlock moved the person's credentials on meanwhile.
        PinOutcome::NotSet => Err(PageError::expired(Expired::PinCleared)),
    }
}

pub(super) fn new_pin_form(
    state: &AppState,
    jar: CookieJar,
    interaction: &Interaction,
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
            "action": new_pin_path(interaction),
            "cancel": sign_in::cancel(interaction),
            "pin_min": policy.min_length,
            "pin_max": policy.max_length,
            "submit": Text::new("pin-create-save"),
            "error": error,
        }),
    )
}

/// The interaction at the step that chooses a new PIN: only after the password in this
/// sign-in, and a recovery or an administrator's unlock (the machine's rule).
fn at_new_pin_step(loaded: Loaded) -> Result<Loaded, PageError> {
    steps::at(loaded, |s| matches!(s, SignIn::ChoosingPin { .. }))
}

pub async fn new_pin_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Step(loaded): Step,
) -> Result<Response, PageError> {
    let loaded = at_new_pin_step(loaded)?;
    Ok(new_pin_form(
        &state,
        jar,
        &loaded.interaction,
        StatusCode::OK,
        None,
    ))
}

#[derive(Deserialize)]
pub struct NewPinForm {
    #[serde(default)]
    pin: String,
    #[serde(default)]
    pin_confirm: String,
}

pub async fn new_pin_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    StepForm { loaded, form }: StepForm<NewPinForm>,
) -> Result<Response, PageError> {
    let loaded = at_new_pin_step(loaded)?;
    let user = loaded.user()?.clone();
    let recovered = matches!(
        loaded.interaction.signin,
        SignIn::ChoosingPin {
            recovered_by: Some(_),
            ..
        } | SignIn::ChoosingPin {
            by_saved_code: true,
            ..
        }
    );
    let (pin, confirmation) = (form.pin.trim(), form.pin_confirm.trim());
    if let Err(why) = state
        .pins
        .policy()
        .check_new(pin, confirmation, user.phone.as_deref())
    {
        return Ok(new_pin_form(
            &state,
            jar,
            &loaded.interaction,
            StatusCode::BAD_REQUEST,
            Some(FieldError::on(i18n::pin_field(why), why.into())),
        ));
    }
    if let Some(old) = &user.pin_hash
        && state.pins.matches_hash(pin, old).await?
    {
        let message = FieldError::on("pin", Text::new("pin-not-reused"));
        return Ok(new_pin_form(
            &state,
            jar,
            &loaded.interaction,
            StatusCode::BAD_REQUEST,
            Some(message),
        ));
    }
    let hash = state.pins.hash_new_pin(pin).await?;
    state.stores.users.set_pin(&user.id, Some(&hash)).await?;
    // The PIN may have been known to someone else: every grant made with it ends, with every
    // other session of the person and every other browser they trusted.
    let read = session::credentials_changed(&state, &jar, &user.id, &from).await?;
    let kind = if recovered {
        AuditKind::RecoveryCompleted
    } else {
        AuditKind::PinChanged
    };
    let event = audit::event(&state, kind, &from)
        .user(&user.id)
        .client(&loaded.interaction.request.client_id)
        .detail(if recovered {
            "new PIN after recovery"
        } else {
            "new PIN after unlock"
        });
    audit::record(&state, event).await;
    let notice = if recovered {
        messages::recovery_completed(&user)
    } else {
        messages::pin_changed(&user)
    };
    state.notifier.send_later(notice);
    let changed = session::after_change(&state, read, &user.id)
        .await?
        .ok_or(PageError::expired(Expired::PersonGone))?;
    let event = Event::NewPinChosen {
        epoch: changed.credential_epoch,
        trusted_device: trusted_device::is_trusted(&state, &jar, &changed).await?,
        code_to: device::destination(&changed),
    };
    steps::advance(&state, jar, loaded, event, &from).await
}
