//! The administrators' part of `/admin` for signing keys: their lifecycle as `idp keys list`
//! shows it, a rotation, a retirement, and a revocation, which asks for the key's id typed
//! again (what a revoked key signed stops verifying at once). Each asks for a reason, kept in
//! the audit log.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Console, DoneQuery, Intent, admit, after_change, no_store};
use crate::error::PageError;
use crate::i18n::{FieldError, Text, when};
use crate::keys::KeyLoadError;
use crate::staff::KeyChange;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::csrf;
use crate::web::extract::CsrfForm;

/// The page's path.
const PAGE: &str = "/admin/signing-keys";

/// GET `/admin/signing-keys`.
pub async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let (jar, _) = admitted!(admit(&state, jar, &from, Console::Operations, Intent::Look).await);
    let notice = query.done.as_deref().and_then(|done| {
        Some(Text::new(match done {
            "rotate" => "console-keys-rotated",
            "retire" => "console-keys-retired",
            "revoke" => "console-keys-revoked",
            _ => return None,
        }))
    });
    render(&state, jar, StatusCode::OK, notice, None).await
}

async fn render(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    notice: Option<Text>,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let now = state.now();
    let zone = state.settings.time_zone();
    let at = |at: i64| when::moment(at, now, zone);
    let keys: Vec<Value> = state
        .stores
        .keys
        .list_signing_keys()
        .await?
        .iter()
        .map(|key| {
            json!({
                "kid": key.kid,
                "alg": key.alg.as_str(),
                "state": key.state.as_str(),
                "created_at": at(key.created_at),
                "activate_at": key.activate_at.map(at),
                "remove_after": key.remove_after.map(at),
                "active": key.state.as_str() == "active",
            })
        })
        .collect();
    Ok(no_store(csrf::form_page(
        state,
        jar,
        status,
        "admin_keys.html",
        json!({
            "keys": keys,
            "notice": notice.map(|n| n.words()),
            "error": error,
        }),
    )))
}

/// A change's form: which key (not for a rotation), the key typed again (a revocation), why.
#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    kid: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    reason: String,
}

/// POST `/admin/signing-keys/rotate`, `.../retire` and `.../revoke`.
pub async fn change(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Path(what): Path<String>,
    CsrfForm(form): CsrfForm<KeyForm>,
) -> Result<Response, PageError> {
    if !["rotate", "retire", "revoke"].contains(&what.as_str()) {
        return Err(PageError::NotFound(Text::new("error-not-found")));
    }
    let (jar, staff) =
        admitted!(admit(&state, jar, &from, Console::Operations, Intent::Change).await);
    let refused = |field, text| FieldError::on(field, Text::new(text));
    let reason = form.reason.trim();
    let kid = form.kid.trim();
    let problem = match super::reason_problem(reason) {
        Some(text) => Some(refused("reason", text)),
        None if what == "revoke" && form.confirm.trim() != kid => {
            Some(refused("confirm", "console-keys-confirm"))
        }
        None => None,
    };
    if let Some(error) = problem {
        return render(&state, jar, StatusCode::BAD_REQUEST, None, Some(error)).await;
    }
    let change = match what.as_str() {
        "rotate" => KeyChange::Rotate,
        "retire" => KeyChange::Retire(kid),
        _ => KeyChange::Revoke(kid),
    };
    let by = staff.actor();
    let acting = crate::staff::Acting {
        by: &by,
        reason: Some(reason),
        from: &from,
    };
    match crate::staff::change_keys(&state, change, &acting).await {
        Ok(()) => Ok(after_change(&format!("{PAGE}?done={what}"))),
        Err(KeyLoadError::Refused(why)) => {
            tracing::info!(why, "a signing-key change was refused");
            let error = FieldError::general(Text::new("console-keys-refused").with("why", why));
            render(&state, jar, StatusCode::CONFLICT, None, Some(error)).await
        }
        Err(KeyLoadError::Store(error)) => Err(error.into()),
        Err(error @ KeyLoadError::Token(_)) => Err(PageError::Internal(Box::new(error))),
    }
}
