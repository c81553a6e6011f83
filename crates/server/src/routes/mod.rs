//! The HTTP surface, by whom it serves: the protocol (`protocol`), the pages people meet
//! (`sign_in`, `account`), administrators (`admin`) and operators (`metrics`, `readiness`).

mod account;
mod admin;
mod console;
pub mod metrics;
pub mod protocol;
pub(crate) mod readiness;
pub mod sign_in;

use protocol::{authorize, discovery, introspect, par, registration, revoke, token, userinfo};
use sign_in::{consent, device, login, logout, recovery, reset, second_factor, signup};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::state::AppState;
use crate::web::templates::page;

/// Largest request body accepted: forms and token requests are small.
const BODY_LIMIT: usize = 16 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(front_door))
        .route(discovery::CONFIGURATION_PATH, get(discovery::configuration))
        .route(discovery::JWKS_PATH, get(discovery::jwks))
        .route(
            "/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(
            "/login/{id}",
            get(login::password_page).post(login::password_submit),
        )
        .route("/login/{id}/cancel", post(login::cancel))
        .route(
            "/login/{id}/pin",
            get(login::pin_page).post(login::pin_submit),
        )
        .route(
            "/login/{id}/new-pin",
            get(login::new_pin_page).post(login::new_pin_submit),
        )
        .route(
            "/login/{id}/consent",
            get(consent::consent_page).post(consent::consent_submit),
        )
        .route(
            "/login/{id}/device",
            get(device::device_page).post(device::device_submit),
        )
        .route("/login/{id}/device/resend", post(device::device_resend))
        .route("/login/{id}/device/app", post(device::device_app))
        .route("/login/{id}/device/passkey", post(device::device_passkey))
        .route(
            "/login/{id}/second-factor",
            get(second_factor::second_factor_page).post(second_factor::second_factor_submit),
        )
        .route(
            "/login/{id}/second-factor/decline",
            post(second_factor::decline),
        )
        .route(
            "/login/{id}/second-factor/passkey",
            post(second_factor::passkey_submit),
        )
        .route(
            "/login/{id}/second-factor/add-passkey",
            post(second_factor::add_passkey_submit),
        )
        .route(
            "/login/{id}/second-factor/text",
            post(second_factor::text_code),
        )
        .route(
            "/login/{id}/second-factor/texted",
            post(second_factor::texted_code),
        )
        .route(
            "/login/{id}/second-factor/add-app",
            get(second_factor::add_app_page).post(second_factor::add_app_submit),
        )
        .route(
            "/login/{id}/recover",
            get(recovery::choose_page).post(recovery::choose_submit),
        )
        .route(
            "/login/{id}/recover/code",
            get(recovery::code_page).post(recovery::code_submit),
        )
        .route(
            "/login/{id}/forgot-password",
            get(reset::username_page).post(reset::username_submit),
        )
        .route(
            "/login/{id}/forgot-password/channel",
            get(reset::channel_page).post(reset::channel_submit),
        )
        .route(
            "/login/{id}/forgot-password/code",
            get(reset::code_page).post(reset::code_submit),
        )
        .route(
            "/login/{id}/forgot-password/pin",
            get(login::pin_page).post(login::pin_submit),
        )
        .route(
            "/login/{id}/forgot-password/new",
            get(reset::new_password_page).post(reset::new_password_submit),
        )
        .route(
            "/signup",
            get(signup::signup_page).post(signup::signup_submit),
        )
        .route(
            "/signup/pin",
            get(signup::pin_page).post(signup::pin_submit),
        )
        .route(signup::SIGNED_UP_PATH, get(signup::signed_up_page))
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .route("/logout/confirm", post(logout::logout_confirm))
        .route("/account", get(account::account_page))
        .route(
            "/account/password",
            post(account::password::change_password),
        )
        .route("/account/pin", post(account::pin::change_pin))
        .route(
            "/account/contact",
            post(account::contact::start_contact_change),
        )
        .route(
            "/account/contact/code",
            get(account::contact::contact_code_page).post(account::contact::confirm_contact),
        )
        .route(
            "/account/sessions/end",
            post(account::sessions::end_session),
        )
        .route(
            "/account/devices/forget",
            post(account::sessions::forget_device),
        )
        .route("/account/profile", post(account::profile::set_profile))
        .route(
            "/account/questions",
            post(account::questions::set_questions),
        )
        .route(
            "/account/consents/withdraw",
            post(account::consents::withdraw_consent),
        )
        .route(
            "/account/factors/app",
            get(account::factors::add_app_page).post(account::factors::add_app_submit),
        )
        .route(
            "/account/factors/passkey",
            get(account::factors::add_passkey_page).post(account::factors::add_passkey_submit),
        )
        .route(
            "/account/factors/saved-codes",
            post(account::factors::make_saved_codes),
        )
        .route(
            "/account/factors/rename",
            post(account::factors::rename_factor),
        )
        .route(
            "/account/factors/remove",
            post(account::factors::remove_factor),
        )
        .route("/account/step-up", get(account::factors::step_up))
        .route("/admin", get(console::support::home))
        .route("/admin/step-up", get(console::admin_step_up))
        .route("/admin/people/{id}", get(console::support::person_page))
        .route(
            "/admin/people/{id}/profile",
            post(console::support::change_profile),
        )
        .route("/admin/people/{id}/{action}", post(console::support::act))
        .route("/admin/signing-keys", get(console::keys::page))
        .route("/admin/signing-keys/{action}", post(console::keys::change))
        .route(
            "/admin/registration-tokens",
            get(console::registration::page).post(console::registration::create),
        )
        .route("/admin/audit-log", get(console::audit::page))
        .route("/admin/audit-log/verify", post(console::audit::verify))
        .route(
            "/admin/applications",
            get(console::clients::admin_list).post(console::clients::admin_create),
        )
        .route(
            "/admin/applications/{id}",
            get(console::clients::admin_page),
        )
        .route(
            "/admin/applications/{id}/{action}",
            post(console::clients::admin_change),
        )
        .route("/developer", get(console::clients::developer_list))
        .route("/developer/step-up", get(console::developer_step_up))
        .route(
            "/developer/clients",
            post(console::clients::developer_create),
        )
        .route(
            "/developer/clients/{id}",
            get(console::clients::developer_page),
        )
        .route(
            "/developer/clients/{id}/{action}",
            post(console::clients::developer_change),
        )
        .merge(admin::routes(state.clone()))
        // Token traffic: the statements of these wait for connections of their own (see
        // `Traffic`); the token endpoint chooses by grant.
        .route("/token", post(token::token))
        .route("/revoke", post(revoke::revoke))
        .route("/introspect", post(introspect::introspect))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/par", post(par::push))
        .route("/register", post(registration::register))
        .route(
            "/register/{id}",
            get(registration::read)
                .put(registration::update)
                .delete(registration::delete),
        )
        .route("/help", get(help))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readiness::readyz))
        .route("/metrics", get(metrics::exposition))
        .route("/static/style.css", get(stylesheet))
        .route("/static/logo", get(logo))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // One layer for what every response gets: a request id, its timing, security headers.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::web::request_id::around,
        ))
        .with_state(state)
}

/// Liveness: the process answers.
async fn healthz() -> Response {
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "status": "ok" })),
    )
        .into_response()
}

/// The front door: what the service is, and where to sign in, sign up, get help and, for
/// developers, find the discovery document.
async fn front_door() -> Response {
    page("front.html", serde_json::json!({}))
}

async fn help() -> Response {
    page("help.html", serde_json::json!({ "is_help": true }))
}

/// Any other address: a page that says so, in the person's language.
async fn not_found() -> Response {
    crate::web::templates::render(
        StatusCode::NOT_FOUND,
        "error.html",
        serde_json::json!({
            "kind": "not-found",
            "heading": crate::i18n::Text::new("error-not-found-title"),
            "message": crate::i18n::Text::new("error-not-found"),
        }),
    )
}

async fn stylesheet(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::brand::stylesheet(&state.settings.brand.accent_colour),
    )
        .into_response()
}

/// The operator's logo (`brand.logo_file`, checked at start-up), read when asked for.
async fn logo(State(state): State<AppState>) -> Response {
    let Some(path) = &state.settings.brand.logo_file else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let media_type = crate::brand::logo_type(path).unwrap_or("application/octet-stream");
    match tokio::fs::read(path).await {
        Ok(bytes) if bytes.len() as u64 <= crate::brand::LOGO_MAX_BYTES => (
            [
                (header::CONTENT_TYPE, media_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            bytes,
        )
            .into_response(),
        Ok(_) | Err(_) => {
            tracing::warn!(path = %path.display(), "the logo file cannot be served");
            StatusCode::NOT_FOUND.into_response()
        }
    }
}
