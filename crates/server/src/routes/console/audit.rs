//! The administrators' view of the audit log (`/admin/audit-log`): the newest events, filtered
//! by person, client, kind and days (UTC), and the check of the log's hash chain that
//! `idp audit verify` makes.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::clock::UnixTime;
use idp_core::model::{AuditFilter, AuditKind};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Console, Intent, admit, no_store};
use crate::error::PageError;
use crate::i18n::{FieldError, Text, when};
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::csrf;
use crate::web::extract::CsrfForm;

/// Events shown at most.
const SHOWN: u32 = 100;

/// The filter as the form sends it: each field empty for "any".
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct Filter {
    #[serde(default)]
    person: String,
    #[serde(default)]
    client: String,
    #[serde(default)]
    kind: String,
    /// `YYYY-MM-DD`, from its start (UTC).
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`, to its end (UTC).
    #[serde(default)]
    until: String,
}

/// GET `/admin/audit-log`.
pub async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Query(filter): Query<Filter>,
) -> Result<Response, PageError> {
    let (jar, _) = admitted!(admit(&state, jar, &from, Console::Operations, Intent::Look).await);
    render(&state, jar, &filter, None).await
}

/// POST `/admin/audit-log/verify`: the page again, with what the check of the chain found.
pub async fn verify(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    CsrfForm(filter): CsrfForm<Filter>,
) -> Result<Response, PageError> {
    let (jar, _) = admitted!(admit(&state, jar, &from, Console::Operations, Intent::Look).await);
    let checked = match crate::audit::verify(&state, None).await {
        Ok(report) => Ok(Text::new("console-audit-intact")
            .with("rows", report.verified.to_string())
            .with(
                "last",
                report.last_id.map(|id| id.to_string()).unwrap_or_default(),
            )
            .with("link", report.last_chain.unwrap_or_default())),
        Err(broken) => Err(broken),
    };
    render(&state, jar, &filter, Some(checked)).await
}

/// The start of a day written `YYYY-MM-DD` (UTC).
fn day(text: &str) -> Option<UnixTime> {
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// The store's filter for what the form asks, or the field it cannot take.
async fn parsed(state: &AppState, filter: &Filter) -> Result<AuditFilter, FieldError> {
    let refused = |field, text| FieldError::on(field, Text::new(text));
    let text = |value: &str| {
        Some(value.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let user_id = match text(&filter.person) {
        Some(username) => {
            let name = idp_core::validate::username(&username)
                .map_err(|_| refused("person", "console-audit-no-person"))?;
            let found = state.stores.users.find_user_by_username(&name).await;
            Some(
                found
                    .ok()
                    .flatten()
                    .ok_or_else(|| refused("person", "console-audit-no-person"))?
                    .id,
            )
        }
        None => None,
    };
    let kind = match text(&filter.kind) {
        Some(kind) => {
            Some(AuditKind::parse(&kind).ok_or_else(|| refused("kind", "console-audit-bad-kind"))?)
        }
        None => None,
    };
    let date = |value: &str, field| match text(value) {
        Some(value) => day(&value)
            .map(Some)
            .ok_or_else(|| refused(field, "console-audit-bad-date")),
        None => Ok(None),
    };
    Ok(AuditFilter {
        user_id,
        client_id: text(&filter.client),
        kind,
        from: date(&filter.from, "from")?,
        until: date(&filter.until, "until")?.map(|start| start + 86_399),
    })
}

async fn render(
    state: &AppState,
    jar: CookieJar,
    filter: &Filter,
    checked: Option<Result<Text, String>>,
) -> Result<Response, PageError> {
    let now = state.now();
    let zone = state.settings.time_zone();
    let (status, events, error) = match parsed(state, filter).await {
        Ok(wanted) => {
            let events: Vec<Value> = state
                .stores
                .audit
                .query(&wanted, SHOWN)
                .await?
                .into_iter()
                .map(|e| {
                    json!({
                        "at": when::moment(e.at, now, zone),
                        "kind": e.kind.as_str(),
                        "user_id": e.user_id,
                        "client_id": e.client_id,
                        "actor": e.actor,
                        "ip": e.ip,
                        "detail": e.detail,
                    })
                })
                .collect();
            (StatusCode::OK, events, None)
        }
        Err(error) => (StatusCode::BAD_REQUEST, Vec::new(), Some(error)),
    };
    let kinds: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
    let (intact, broken) = match checked {
        Some(Ok(intact)) => (Some(intact.words()), None),
        Some(Err(broken)) => (None, Some(broken)),
        None => (None, None),
    };
    Ok(no_store(csrf::form_page(
        state,
        jar,
        status,
        "admin_audit.html",
        json!({
            "filter": filter,
            "kinds": kinds,
            "events": events,
            "error": error,
            "intact": intact,
            "broken": broken,
        }),
    )))
}
