//! Two-step sign-in on the account page: the person's second factors and saved codes, adding
//! an authenticator app, making saved codes, renaming and removing a factor. The rules are the
//! factor service's (`crate::factors`); this module shows them and asks for what they need.
//!
//! Adding needs a session at the level [`factors::level_to_add`] names; a session below it is
//! offered a sign-in again at that level (`/account/step-up`), which the sign-in machine runs
//! as any relying party's step-up and which ends back on the account page.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use idp_core::StoreError;
use idp_core::model::{
    Client, ClientMetadata, EphemeralKind, Session, SigningAlg, TokenEndpointAuthMethod, User,
};
use idp_signin::Level;
use serde::Deserialize;
use serde_json::{Value, json};

use super::pin::wrong_current_pin;
use super::{done, refused};
use crate::error::PageError;
use crate::factors::{self, NewApp};
use crate::i18n::{FieldError, Text, when};
use crate::oauth::interaction::{ACCOUNT_CLIENT, Interaction};
use crate::routes::sign_in::second_factor::{add_app_screen, factor_name};
use crate::routes::sign_in::steps;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::csrf;
use crate::web::extract::{SignedIn, SignedInForm};
use crate::web::passkey::PasskeyForm;

const ADD_APP_PATH: &str = "/account/factors/app";

/// How long an app being added waits for its first code.
const PENDING_SECS: i64 = 15 * 60;

/// What the account page shows of the person's factors, and what this session may do.
pub(super) async fn section(
    state: &AppState,
    session: &Session,
    user: &User,
) -> Result<Value, StoreError> {
    let now = state.now();
    let zone = state.settings.time_zone();
    let at = |at: i64| when::moment(at, now, zone);
    let listing = factors::listing(state, &user.id).await?;
    let bound: Vec<_> = listing
        .factors
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "kind": Text::new(crate::messages::kind_key(f.kind)),
                "name": f.name,
                "created_at": at(f.created_at),
                "last_used_at": f.last_used_at.map(at),
            })
        })
        .collect();
    let short_of = factors::short_of(&session.acr, listing.has_any());
    Ok(json!({
        "on": listing.has_any(),
        "list": bound,
        "saved_left": listing.saved_left,
        "saved_made": listing.saved_made.map(at),
        "may_add": short_of.is_none(),
        "passkeys": state.passkeys.is_some(),
        "step_up": short_of.map(step_up_link),
    }))
}

fn step_up_link(level: Level) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("acr", level.acr())
        .finish();
    format!("/account/step-up?{query}")
}

/// The refusal when this session may not add a factor (see [`factors::level_to_add`]), or
/// `None` to go on.
async fn needs_step_up(
    state: &AppState,
    jar: &CookieJar,
    session: &Session,
    user: &User,
) -> Result<Option<Response>, PageError> {
    let listing = factors::listing(state, &user.id).await?;
    if factors::short_of(&session.acr, listing.has_any()).is_none() {
        return Ok(None);
    }
    let error = FieldError::general(Text::new("account-factors-step-up-needed"));
    refused(
        state,
        jar.clone(),
        session,
        user,
        StatusCode::FORBIDDEN,
        error,
    )
    .await
    .map(Some)
}

/// The app this session is adding: the one kept for it, else a new one (kept from now on, so
/// that reloading the page does not change the code to scan). The secret stays server-side,
/// sealed, keyed to the session.
async fn pending_app(state: &AppState, session: &Session) -> Result<(NewApp, bool), StoreError> {
    let ephemeral = &state.stores.ephemeral;
    let kept = ephemeral
        .get(EphemeralKind::PendingFactor, &session.sid, state.now())
        .await?
        .and_then(|payload| serde_json::from_value::<Vec<u8>>(payload["app"].clone()).ok())
        .and_then(|sealed| NewApp::unseal(state, &session.sid, &sealed));
    if let Some(app) = kept {
        return Ok((app, true));
    }
    let app = NewApp::generate();
    let payload = json!({ "app": app.sealed(state, &session.sid) });
    let expires_at = state.now() + PENDING_SECS;
    ephemeral
        .put(
            EphemeralKind::PendingFactor,
            &session.sid,
            &payload,
            expires_at,
        )
        .await?;
    Ok((app, false))
}

/// GET `/account/factors/app`: the code to scan, the key to type and the `otpauth://` URI,
/// with the fields `otp` (the first code) and `name`.
pub async fn add_app_page(
    State(state): State<AppState>,
    jar: CookieJar,
    SignedIn { session, user }: SignedIn,
) -> Result<Response, PageError> {
    if let Some(refusal) = needs_step_up(&state, &jar, &session, &user).await? {
        return Ok(refusal);
    }
    let (app, _) = pending_app(&state, &session).await?;
    Ok(add_app_screen(
        &state,
        jar,
        StatusCode::OK,
        &app,
        &user,
        ADD_APP_PATH.to_owned(),
        "",
        None,
        None,
    ))
}

#[derive(Deserialize)]
pub struct AddAppForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    otp: String,
}

/// POST `/account/factors/app`: binds the app once its first code is right.
pub async fn add_app_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<AddAppForm>,
) -> Result<Response, PageError> {
    if let Some(refusal) = needs_step_up(&state, &jar, &session, &user).await? {
        return Ok(refusal);
    }
    let (app, kept) = pending_app(&state, &session).await?;
    let screen = |jar, status, error| {
        add_app_screen(
            &state,
            jar,
            status,
            &app,
            &user,
            ADD_APP_PATH.to_owned(),
            &form.name,
            Some(error),
            None,
        )
    };
    if !kept {
        // The key scanned is gone (too long ago): a new one to scan, nothing tried.
        let error = FieldError::general(Text::new("account-add-app-expired"));
        return Ok(screen(jar, StatusCode::GONE, error));
    }
    let name = factor_name(&form.name, "factor-kind-app");
    if !app.bind(&state, &user, &name, &form.otp, &from).await? {
        let error = FieldError::on("otp", Text::new("factor-app-code-wrong"));
        return Ok(screen(jar, StatusCode::UNAUTHORIZED, error));
    }
    state
        .stores
        .ephemeral
        .delete(EphemeralKind::PendingFactor, &session.sid)
        .await?;
    done(&state, jar, &session, &user, "account-app-added").await
}

const ADD_PASSKEY_PATH: &str = "/account/factors/passkey";

/// The page that adds a passkey: the ceremony (the one script) with a name for it.
async fn passkey_screen(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    status: StatusCode,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let begun = factors::begin_passkey_registration(state, user, &session.sid).await?;
    let ceremony = begun.map(|b| crate::web::passkey::ceremony(b, true, ADD_PASSKEY_PATH.into()));
    let runs_script = ceremony.is_some();
    let response = csrf::form_page(
        state,
        jar,
        status,
        "add_passkey.html",
        json!({ "passkey": ceremony, "error": error }),
    );
    Ok(if runs_script {
        crate::web::passkey::allow(response)
    } else {
        response
    })
}

/// GET `/account/factors/passkey`.
pub async fn add_passkey_page(
    State(state): State<AppState>,
    jar: CookieJar,
    SignedIn { session, user }: SignedIn,
) -> Result<Response, PageError> {
    if let Some(refusal) = needs_step_up(&state, &jar, &session, &user).await? {
        return Ok(refusal);
    }
    passkey_screen(&state, jar, &session, &user, StatusCode::OK, None).await
}

/// POST `/account/factors/passkey`: the authenticator's answer (field `credential`), bound to
/// the ceremony this session began.
pub async fn add_passkey_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<PasskeyForm>,
) -> Result<Response, PageError> {
    if let Some(refusal) = needs_step_up(&state, &jar, &session, &user).await? {
        return Ok(refusal);
    }
    let name = factor_name(&form.name, "factor-kind-passkey");
    let answer = form.answer();
    let added =
        factors::finish_passkey_registration(&state, &user, &session.sid, answer, &name, &from)
            .await?;
    if added.is_none() {
        let error = FieldError::general(Text::new("passkey-refused"));
        let status = StatusCode::UNAUTHORIZED;
        return passkey_screen(&state, jar, &session, &user, status, Some(error)).await;
    }
    done(&state, jar, &session, &user, "account-passkey-added").await
}

/// A form that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct EmptyForm {}

/// POST `/account/factors/saved-codes`: a new set of 10 saved codes, shown this once; the
/// earlier ones stop working.
pub async fn make_saved_codes(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm { session, user, .. }: SignedInForm<EmptyForm>,
) -> Result<Response, PageError> {
    if let Some(refusal) = needs_step_up(&state, &jar, &session, &user).await? {
        return Ok(refusal);
    }
    let codes = factors::new_saved_codes(&state, &user, &from).await?;
    Ok(csrf::form_page(
        &state,
        jar,
        StatusCode::OK,
        "saved_codes.html",
        json!({ "codes": codes }),
    ))
}

#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

/// POST `/account/factors/rename`: a new name for one of the person's factors.
pub async fn rename_factor(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<RenameForm>,
) -> Result<Response, PageError> {
    let listing = factors::listing(&state, &user.id).await?;
    let Some(factor) = listing.factors.iter().find(|f| f.id == form.id) else {
        return unknown_factor(&state, jar, &session, &user).await;
    };
    let name = factor_name(&form.name, crate::messages::kind_key(factor.kind));
    if !factors::rename(&state, &user, &form.id, &name, &from).await? {
        return unknown_factor(&state, jar, &session, &user).await;
    }
    done(&state, jar, &session, &user, "account-factor-renamed").await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    pin: String,
}

/// POST `/account/factors/remove`: removes one of the person's factors, on a session that may
/// add one; the PIN confirms. The person is told by e-mail, and the removal is audited (by the
/// factor service).
pub async fn remove_factor(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    SignedInForm {
        session,
        user,
        form,
    }: SignedInForm<RemoveForm>,
) -> Result<Response, PageError> {
    // Removing takes what adding another would: otherwise a stolen password and PIN could
    // remove the person's factor and then bind their own.
    if let Some(refusal) = needs_step_up(&state, &jar, &session, &user).await? {
        return Ok(refusal);
    }
    let listing = factors::listing(&state, &user.id).await?;
    if !listing.factors.iter().any(|f| f.id == form.id) {
        return unknown_factor(&state, jar, &session, &user).await;
    }
    if let Some(refusal) = wrong_current_pin(
        &state,
        &jar,
        &session,
        &user,
        &from,
        &form.pin,
        "factor_pin",
    )
    .await?
    {
        return Ok(refusal);
    }
    if !factors::remove(&state, &user, &form.id, &from).await? {
        return unknown_factor(&state, jar, &session, &user).await;
    }
    done(&state, jar, &session, &user, "account-factor-removed").await
}

async fn unknown_factor(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
) -> Result<Response, PageError> {
    let error = FieldError::general(Text::new("account-factor-unknown"));
    refused(state, jar, session, user, StatusCode::NOT_FOUND, error).await
}

#[derive(Deserialize)]
pub struct StepUpQuery {
    #[serde(default)]
    acr: String,
}

/// The provider's own account pages as the client of their sign-in: first party, so never
/// asked for consent.
pub(crate) fn account_client() -> Client {
    Client {
        id: ACCOUNT_CLIENT.to_owned(),
        name: "your account".to_owned(),
        secret_hash: None,
        redirect_uris: vec!["/account".to_owned()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        id_token_signed_response_alg: SigningAlg::ES256,
        admin: false,
        created_at: 0,
        metadata: ClientMetadata {
            first_party: true,
            ..ClientMetadata::default()
        },
    }
}

/// GET `/account/step-up?acr=LEVEL`: the account page's sign-in again, asking for `LEVEL`, as
/// a relying party's `acr_values` would; it ends back on the account page. What it asks for is
/// the sign-in machine's to decide.
pub async fn step_up(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Query(query): Query<StepUpQuery>,
) -> Result<Response, PageError> {
    let Some(level) = Level::from_acr(&query.acr) else {
        return Ok(Redirect::to("/account").into_response());
    };
    let (jar, browser) = csrf::browser_binding(&state, jar);
    let mut interaction = Interaction::for_account(state.now(), browser);
    interaction.request.acr = Some(level.acr().to_owned());
    let session = crate::session::current(&state, &jar).await?;
    steps::begin(&state, jar, session, interaction, &account_client(), &from).await
}
