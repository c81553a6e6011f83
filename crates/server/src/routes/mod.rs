//! The HTTP surface: one module per endpoint or page group.

mod account;
mod admin;
mod authorize;
pub mod client_request;
mod codes;
mod consent;
pub mod device;
pub mod discovery;
mod introspect;
mod login;
pub(crate) mod logout;
mod par;
pub mod recovery;
mod registration;
mod revoke;
pub(crate) mod session;
pub(crate) mod signin;
mod signup;
mod token;
mod userinfo;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::state::AppState;
use crate::web::templates::page;

/// Largest request body accepted: forms and token requests are small.
const BODY_LIMIT: usize = 16 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
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
        .route(
            "/login/{id}/recover",
            get(recovery::choose_page).post(recovery::choose_submit),
        )
        .route(
            "/login/{id}/recover/code",
            get(recovery::code_page).post(recovery::code_submit),
        )
        .route(
            "/signup",
            get(signup::signup_page).post(signup::signup_submit),
        )
        .route(
            "/signup/pin",
            get(signup::pin_page).post(signup::pin_submit),
        )
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .route("/logout/confirm", post(logout::logout_confirm))
        .route("/account", get(account::account_page))
        .route("/account/password", post(account::change_password))
        .route("/account/pin", post(account::change_pin))
        .route("/account/contact", post(account::start_contact_change))
        .route(
            "/account/contact/code",
            get(account::contact_code_page).post(account::confirm_contact),
        )
        .route("/account/sessions/end", post(account::end_session))
        .route("/account/devices/forget", post(account::forget_device))
        .route("/account/questions", post(account::set_questions))
        .route(
            "/account/consents/withdraw",
            post(account::withdraw_consent),
        )
        .route("/admin/openapi.json", get(admin::openapi))
        .route("/admin/keys", get(admin::list_keys))
        .route("/admin/keys/rotate", post(admin::rotate_keys))
        .route("/admin/keys/{kid}/retire", post(admin::retire_key))
        .route("/admin/keys/{kid}/revoke", post(admin::revoke_key))
        .route("/admin/users/{username}", get(admin::get_user))
        .route("/admin/users/{username}/unlock", post(admin::unlock_user))
        .route("/admin/users/{username}/disable", post(admin::disable_user))
        .route("/admin/users/{username}/enable", post(admin::enable_user))
        .route("/admin/clients", get(admin::list_clients))
        .route("/admin/clients/{id}/disable", post(admin::disable_client))
        .route("/admin/audit", get(admin::audit_log))
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
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::exposition))
        .route("/static/style.css", get(stylesheet))
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

/// How long readiness waits for each backend: a load balancer's probe gets its answer in time
/// even from a node whose database hangs.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// What one probe found of each backend: its name, `ok` or what is wrong, and why.
type Found = Vec<(&'static str, &'static str, Option<String>)>;

/// The last readiness probe and the second it ran in, and a turn that one probe at a time
/// holds. A probe asked in the same second, or while another runs, answers what the last one
/// found, so that however often `/readyz` is asked (it needs no credentials), the backends
/// take one write each per second at most, and no answer waits for more than one probe.
#[derive(Default)]
pub struct Readiness {
    last: std::sync::Mutex<Option<(idp_core::clock::UnixTime, std::sync::Arc<Found>)>>,
    turn: tokio::sync::Mutex<()>,
}

impl Readiness {
    fn last(&self) -> Option<(idp_core::clock::UnixTime, std::sync::Arc<Found>)> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What the backends can do now, probed or as last found (see above).
    async fn found(&self, state: &AppState) -> std::sync::Arc<Found> {
        let now = state.now();
        let last = self.last();
        if let Some((at, found)) = &last
            && *at == now
        {
            return found.clone();
        }
        let turn = match (self.turn.try_lock(), last) {
            (Ok(turn), _) => turn,
            (Err(_), Some((_, found))) => return found,
            // The first probe of the process is under way: wait for what it finds.
            (Err(_), None) => {
                drop(self.turn.lock().await);
                if let Some((_, found)) = self.last() {
                    return found;
                }
                self.turn.lock().await
            }
        };
        let found = std::sync::Arc::new(probe(state).await);
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((now, found.clone()));
        drop(turn);
        found
    }
}

/// Asks every backend at once, each for at most `PROBE_TIMEOUT`.
async fn probe(state: &AppState) -> Found {
    use idp_core::store::Health;
    let probes = state
        .stores
        .health
        .iter()
        .map(|(name, backend)| async move {
            match tokio::time::timeout(PROBE_TIMEOUT, backend.probe()).await {
                Ok(Health::Ok) => (*name, "ok", None),
                Ok(Health::Unreachable(why)) => (*name, "unreachable", Some(why)),
                Ok(Health::CannotWrite(why)) => (*name, "cannot_write", Some(why)),
                Err(_) => (*name, "timed_out", None),
            }
        });
    futures_util::future::join_all(probes).await
}

/// Readiness: every backend can do what serving needs of it now (the database and Redis each
/// take a write), each reported by name. 503 while any cannot; a change is logged once, when
/// it happens, and kept in the metrics.
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let found = state.readiness.found(&state).await;
    let statuses: Vec<(&'static str, &'static str)> = found
        .iter()
        .map(|(name, status, _)| (*name, *status))
        .collect();
    if state.metrics.dependencies(&statuses) {
        for (name, status, why) in found.iter() {
            if *status == "ok" {
                tracing::info!(dependency = name, "ready");
            } else {
                let why = why.as_deref().unwrap_or("no answer in time");
                tracing::warn!(dependency = name, status, error = why, "not ready");
            }
        }
    }
    let ready = statuses.iter().all(|(_, status)| *status == "ok");
    let mut body = serde_json::json!({ "status": if ready { "ready" } else { "unavailable" } });
    for (name, status) in statuses {
        body[name] = serde_json::json!(status);
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn help() -> Response {
    page("help.html", serde_json::json!({}))
}

/// Any other address: a page that says so, in the person's language.
async fn not_found() -> Response {
    crate::web::templates::render(
        StatusCode::NOT_FOUND,
        "error.html",
        serde_json::json!({
            "heading": crate::i18n::Text::new("error-not-found-title"),
            "message": crate::i18n::Text::new("error-not-found"),
        }),
    )
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/style.css"),
    )
        .into_response()
}
