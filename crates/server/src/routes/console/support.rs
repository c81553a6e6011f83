//! Support's part of `/admin`: find a person (by username, e-mail address or phone number,
//! partial, paged), see what stands in their way (contacts as the recovery pages mask them,
//! the PIN's state, factors, sessions, trusted browsers, recent security events), and act:
//! unlock the PIN, end every session, remove a lost factor. Every action asks for a reason,
//! which goes into the audit log, and the person is told.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::model::{Channel, Role, User};
use idp_recovery::mask;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Console, DoneQuery, Intent, Staff, admit, after_change};
use crate::codes::Sent;
use crate::error::PageError;
use crate::i18n::{FieldError, Text, when};
use crate::state::AppState;
use crate::throttle::{self, Verdict};
use crate::web::client_info::ClientInfo;
use crate::web::csrf;
use crate::web::extract::CsrfForm;

/// People listed on one page of a search.
const PAGE: usize = 20;
/// The shortest and the longest search taken: a letter or two would list everyone.
const MIN_SEARCH: usize = 3;
const MAX_SEARCH: usize = 100;
/// Security events shown on a person's page.
const EVENTS: u32 = 20;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: Option<String>,
}

/// GET `/admin`: the console's first page, with the search for people and its results.
pub async fn home(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Query(query): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let (jar, staff) = admitted!(admit(&state, jar, &from, Console::People, Intent::Look).await);
    let text = query.q.trim();
    let mut context = json!({
        "q": text,
        "is_admin": staff.is_admin(),
        "username": staff.user.username,
    });
    let length = text.chars().count();
    let problem = if length > MAX_SEARCH {
        Some("console-search-too-long")
    } else if (1..MIN_SEARCH).contains(&length) {
        Some("console-search-too-short")
    } else {
        None
    };
    if let Some(problem) = problem {
        let error = FieldError::on("q", Text::new(problem));
        context["error"] = json!(error);
        return Ok(render(
            &state,
            jar,
            StatusCode::BAD_REQUEST,
            "admin.html",
            context,
        ));
    }
    if !text.is_empty() {
        if let Verdict::Wait(seconds) = throttle::console_search(&state, &staff.user.id).await? {
            return Err(PageError::TooMany(seconds));
        }
        // A page's last username: no longer than any username.
        let after = query
            .after
            .as_deref()
            .filter(|a| !a.is_empty() && a.len() <= MAX_SEARCH);
        let mut found = state
            .stores
            .users
            .search_users(text, after, PAGE + 1)
            .await?;
        let more = found.len() > PAGE;
        found.truncate(PAGE);
        let next = more.then(|| {
            let last = found.last().map(|u| u.username.as_str()).unwrap_or("");
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", text)
                .append_pair("after", last)
                .finish()
        });
        let people: Vec<Value> = found
            .iter()
            .map(|user| {
                json!({
                    "id": user.id,
                    "username": user.username,
                    "email": mask::email(&user.email),
                    "phone": user.phone.as_deref().map(mask::phone),
                    "pin": pin_state(&state, user).words(),
                    "disabled": user.disabled_at.is_some(),
                })
            })
            .collect();
        context["searched"] = json!(true);
        context["people"] = json!(people);
        context["next"] = json!(next.map(|query| format!("/admin?{query}")));
    }
    Ok(render(&state, jar, StatusCode::OK, "admin.html", context))
}

/// A console page: never stored by a browser or a proxy.
fn render(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    template: &str,
    context: Value,
) -> Response {
    super::no_store(csrf::form_page(state, jar, status, template, context))
}

/// The PIN's state in words: not set (a new one is chosen at the next sign-in), locked, or
/// the tries left.
fn pin_state(state: &AppState, user: &User) -> Text {
    let max = state.pins.max_attempts();
    if user.pin_hash.is_none() {
        Text::new("console-pin-not-set")
    } else if user.pin_failures >= max {
        Text::new("console-pin-locked")
    } else {
        Text::new("console-pin-tries-left").with("tries", (max - user.pin_failures).to_string())
    }
}

/// The person `id`, or 404.
async fn person(state: &AppState, id: &str) -> Result<User, PageError> {
    state
        .stores
        .users
        .find_user(id)
        .await?
        .ok_or_else(|| PageError::NotFound(Text::new("console-no-person")))
}

/// GET `/admin/people/{id}`: what support needs to see of one person.
pub async fn person_page(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let (jar, staff) = admitted!(admit(&state, jar, &from, Console::People, Intent::Look).await);
    let user = person(&state, &id).await?;
    let notice = query.done.as_deref().and_then(done_notice);
    page(&state, jar, &staff, &user, StatusCode::OK, notice, None).await
}

/// The notice after an action, by the `done` the action redirected with.
fn done_notice(done: &str) -> Option<Text> {
    Some(Text::new(match done {
        "unlocked" => "console-done-unlocked",
        "sessions" => "console-done-sessions",
        "factor" => "console-done-factor",
        "confirmation" => "console-done-confirmation",
        "profile" => "console-done-profile",
        "disabled" => "console-done-disabled",
        "enabled" => "console-done-enabled",
        _ => return None,
    }))
}

async fn page(
    state: &AppState,
    jar: CookieJar,
    staff: &Staff,
    user: &User,
    status: StatusCode,
    notice: Option<Text>,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let now = state.now();
    let zone = state.settings.time_zone();
    let at = |at: i64| when::moment(at, now, zone);
    let listing = crate::factors::listing(state, &user.id).await?;
    let factors: Vec<Value> = listing
        .factors
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "kind": Text::new(crate::messages::kind_key(f.kind)).words(),
                "name": f.name,
                "added": at(f.created_at),
                "last_used": f.last_used_at.map(at),
            })
        })
        .collect();
    let sessions = crate::routes::account::sessions_shown(state, &user.id, None).await?;
    let devices = crate::routes::account::devices_shown(state, &user.id).await?;
    let events: Vec<Value> = state
        .stores
        .audit
        .recent_for_user(&user.id, &[], EVENTS)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "at": at(e.at),
                "kind": e.kind.as_str(),
                "actor": e.actor,
                "ip": e.ip,
                "detail": e.detail,
            })
        })
        .collect();
    let roles: Vec<&str> = user.roles.iter().map(Role::as_str).collect();
    Ok(render(
        state,
        jar,
        status,
        "admin_person.html",
        json!({
            "id": user.id,
            "username": user.username,
            "roles": roles,
            "disabled": user.disabled_at.is_some(),
            "created_at": at(user.created_at),
            "email": mask::email(&user.email),
            "email_verified": user.email_verified,
            "phone": user.phone.as_deref().map(mask::phone),
            "phone_verified": user.phone_verified,
            "pin": pin_state(state, user).words(),
            "pin_set": user.pin_hash.is_some(),
            "factors": factors,
            "saved_left": listing.saved_left,
            "sessions": sessions,
            "devices": devices,
            "events": events,
            "notice": notice.map(|n| n.words()),
            "error": error,
            "is_admin": staff.is_admin(),
            "profile": crate::routes::account::profile::fields(&user.profile),
        }),
    ))
}

/// The form that changes a person's names and address: the account page's fields, and why.
#[derive(Deserialize)]
pub struct ProfileChange {
    #[serde(flatten)]
    profile: crate::routes::account::profile::ProfileForm,
    #[serde(default)]
    reason: String,
}

/// POST `/admin/people/{id}/profile`: the person's names and postal address, as
/// `idp user profile` sets them; the person is told.
pub async fn change_profile(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ProfileChange>,
) -> Result<Response, PageError> {
    let (jar, staff) = admitted!(admit(&state, jar, &from, Console::People, Intent::Change).await);
    let user = person(&state, &id).await?;
    if let Some(refusal) = out_of_reach(&staff, &user) {
        return Err(PageError::NoAccess(Text::new(refusal)));
    }
    let reason = form.reason.trim();
    let checked = match super::reason_problem(reason) {
        Some(refusal) => Err(FieldError::on("reason", Text::new(refusal))),
        None => form
            .profile
            .profile(state.now())
            .cleaned()
            .map_err(crate::routes::account::profile::refusal),
    };
    let profile = match checked {
        Ok(profile) => profile,
        Err(error) => {
            let status = StatusCode::BAD_REQUEST;
            return page(&state, jar, &staff, &user, status, None, Some(error)).await;
        }
    };
    let by = staff.actor();
    let acting = crate::staff::Acting {
        by: &by,
        reason: Some(reason),
        from: &from,
    };
    crate::staff::set_profile(&state, &user, &profile, &acting).await?;
    Ok(after_change(&format!(
        "/admin/people/{}?done=profile",
        user.id
    )))
}

/// A support action's form: why, and for removing a factor, which.
#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    factor: String,
    #[serde(default)]
    channel: String,
}

/// Why `staff` may not act on `user`, or `None`: nobody acts on their own account here (their
/// own PIN and factors have the account page and recovery, which ask for what those ask for),
/// and only an administrator acts on a person who holds a role.
fn out_of_reach(staff: &Staff, user: &User) -> Option<&'static str> {
    if staff.user.id == user.id {
        Some("console-not-yourself")
    } else if !user.roles.is_empty() && !staff.is_admin() {
        Some("console-staff-for-admins")
    } else {
        None
    }
}

/// The actions support takes on a person, by the last part of their path.
#[derive(Debug, Clone, Copy)]
enum Action {
    Unlock,
    EndSessions,
    RemoveFactor,
    /// A new code for a contact not confirmed yet (`channel` in the form).
    ResendConfirmation,
    /// Administrators only, as in the admin API.
    Disable,
    Enable,
}

impl Action {
    fn parse(path: &str) -> Option<Self> {
        Some(match path {
            "unlock" => Self::Unlock,
            "end-sessions" => Self::EndSessions,
            "remove-factor" => Self::RemoveFactor,
            "resend-confirmation" => Self::ResendConfirmation,
            "disable" => Self::Disable,
            "enable" => Self::Enable,
            _ => return None,
        })
    }
}

/// POST `/admin/people/{id}/unlock`, `.../end-sessions` and `.../remove-factor`.
pub async fn act(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Result<Response, PageError> {
    let action =
        Action::parse(&action).ok_or_else(|| PageError::NotFound(Text::new("error-not-found")))?;
    let (jar, staff) = admitted!(admit(&state, jar, &from, Console::People, Intent::Change).await);
    let user = person(&state, &id).await?;
    if let Some(refusal) = out_of_reach(&staff, &user) {
        return Err(PageError::NoAccess(Text::new(refusal)));
    }
    if matches!(action, Action::Disable | Action::Enable) && !staff.is_admin() {
        return Err(PageError::NoAccess(Text::new("console-admins-only")));
    }
    let reason = form.reason.trim();
    if let Some(refusal) = super::reason_problem(reason) {
        let error = FieldError::on("reason", Text::new(refusal));
        return page(
            &state,
            jar,
            &staff,
            &user,
            StatusCode::BAD_REQUEST,
            None,
            Some(error),
        )
        .await;
    }
    let by = staff.actor();
    let acting = crate::staff::Acting {
        by: &by,
        reason: Some(reason),
        from: &from,
    };
    let done = match action {
        Action::Unlock => {
            crate::staff::unlock_pin(&state, &user, &acting).await?;
            "unlocked"
        }
        Action::EndSessions => {
            crate::staff::end_sessions(&state, &user, &acting).await?;
            "sessions"
        }
        Action::Disable | Action::Enable => {
            let disable = matches!(action, Action::Disable);
            crate::staff::set_disabled(&state, &user, disable, &acting).await?;
            if disable { "disabled" } else { "enabled" }
        }
        Action::ResendConfirmation => {
            let refusal = match Channel::parse(&form.channel) {
                None => Some((StatusCode::BAD_REQUEST, "account-choose-channel")),
                Some(channel) => {
                    match crate::staff::resend_confirmation(&state, &user, channel, &acting).await?
                    {
                        Some(Sent::Delivered) => None,
                        Some(Sent::TooMany) => {
                            Some((StatusCode::TOO_MANY_REQUESTS, "recover-too-many-codes"))
                        }
                        Some(Sent::NotDelivered) => {
                            Some((StatusCode::SERVICE_UNAVAILABLE, "code-not-sent"))
                        }
                        None => Some((StatusCode::CONFLICT, "console-nothing-to-confirm")),
                    }
                }
            };
            if let Some((status, text)) = refusal {
                let error = FieldError::general(Text::new(text));
                return page(&state, jar, &staff, &user, status, None, Some(error)).await;
            }
            "confirmation"
        }
        Action::RemoveFactor => {
            let removed =
                crate::factors::remove_and_tell(&state, &user, &form.factor, &acting).await?;
            if removed.is_none() {
                let error = FieldError::on("factor", Text::new("console-no-factor"));
                return page(
                    &state,
                    jar,
                    &staff,
                    &user,
                    StatusCode::NOT_FOUND,
                    None,
                    Some(error),
                )
                .await;
            }
            "factor"
        }
    };
    Ok(after_change(&format!(
        "/admin/people/{}?done={done}",
        user.id
    )))
}
