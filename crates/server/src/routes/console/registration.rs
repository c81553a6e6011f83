//! The administrators' part of `/admin` for registration tokens: an initial access token for
//! dynamic client registration (RFC 7591 §3), as `idp registration-token create` makes one,
//! good for a number of registrations until it expires, shown once. Making one asks for a
//! reason, kept in the audit log with the token's uses and expiry (never the token).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Console, Intent, admit, no_store};
use crate::cli::MAX_REGISTRATION_USES as MAX_USES;
use crate::error::PageError;
use crate::i18n::{FieldError, Text, when};
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::csrf;
use crate::web::extract::CsrfForm;

/// How long a token may stay valid: the form's choices, as the command line reads them (the
/// first is the default).
const LIFETIMES: [&str; 4] = ["24h", "1h", "7d", "30d"];

/// GET `/admin/registration-tokens`.
pub async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
) -> Result<Response, PageError> {
    let (jar, _) = admitted!(admit(&state, jar, &from, Console::Operations, Intent::Look).await);
    render(&state, jar, StatusCode::OK, None, None)
}

fn render(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    made: Option<Value>,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    Ok(no_store(csrf::form_page(
        state,
        jar,
        status,
        "admin_registration.html",
        json!({ "lifetimes": LIFETIMES, "made": made, "error": error, "max_uses": MAX_USES }),
    )))
}

/// The form: how many registrations, for how long, and why.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    uses: String,
    #[serde(default)]
    expires_in: String,
    #[serde(default)]
    reason: String,
}

/// POST `/admin/registration-tokens`: makes a token and shows it, once.
pub async fn create(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    let (jar, staff) =
        admitted!(admit(&state, jar, &from, Console::Operations, Intent::Change).await);
    let refused = |field, text| Some(FieldError::on(field, Text::new(text)));
    let reason = form.reason.trim();
    let uses = form.uses.trim().parse::<u32>().ok();
    let uses = uses.filter(|n| (1..=MAX_USES).contains(n));
    let lifetime = LIFETIMES.iter().find(|name| **name == form.expires_in);
    let lifetime = lifetime.and_then(|name| crate::cli::parse_duration(name).ok());
    let problem = match (uses, lifetime, super::reason_problem(reason)) {
        (None, _, _) => refused("uses", "console-registration-uses-invalid"),
        (_, None, _) => refused("expires_in", "console-registration-expires-invalid"),
        (_, _, Some(text)) => refused("reason", text),
        _ => None,
    };
    let (Some(uses), Some(seconds), None) = (uses, lifetime, problem.as_ref()) else {
        return render(&state, jar, StatusCode::BAD_REQUEST, None, problem);
    };
    let expires_at = state.now() + seconds;
    let by = staff.actor();
    let acting = crate::staff::Acting {
        by: &by,
        reason: Some(reason),
        from: &from,
    };
    let token = crate::staff::create_registration_token(&state, uses, expires_at, &acting).await?;
    let until = when::moment(expires_at, state.now(), state.settings.time_zone());
    let made = json!({ "token": token, "uses": uses, "until": until });
    render(&state, jar, StatusCode::OK, Some(made), None)
}
