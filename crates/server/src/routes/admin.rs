//! The admin API under `/admin/`: JSON, authorised by a bearer access token with scope `admin`
//! that a client created with `idp client create --admin` obtained through client credentials.
//! Every change is recorded in the audit log with the acting client. `/admin/openapi.json`
//! describes it.

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use idp_core::model::{AuditKind, Client, User};
use idp_core::{ErrorCode, OAuthError, StoreError, validate};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{BearerError, Fault};
use crate::oauth::mtls::Certificate;
use crate::routes::protocol::userinfo::bearer;
use crate::state::AppState;

/// The admin API's routes. A token bound to a DPoP key (RFC 9449 §7) or a TLS client
/// certificate (RFC 8705 §3) is checked for it before any of them runs.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/openapi.json", get(openapi))
        .route("/admin/keys", get(list_keys))
        .route("/admin/keys/rotate", post(rotate_keys))
        .route("/admin/keys/{kid}/retire", post(retire_key))
        .route("/admin/keys/{kid}/revoke", post(revoke_key))
        .route("/admin/users/{username}", get(get_user))
        .route("/admin/users/{username}/unlock", post(unlock_user))
        .route("/admin/users/{username}/disable", post(disable_user))
        .route("/admin/users/{username}/enable", post(enable_user))
        .route("/admin/clients", get(list_clients))
        .route("/admin/clients/{id}/disable", post(disable_client))
        .route("/admin/audit", get(audit_log))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            sender_constrained,
        ))
}

async fn sender_constrained(
    State(state): State<AppState>,
    certificate: Certificate,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = (request.method().clone(), request.uri().path().to_owned());
    match check_binding(&state, &certificate, request.headers(), endpoint).await {
        Ok(()) => next.run(request).await,
        Err(error) => AdminError::Bearer(error).into_response(),
    }
}

/// Whether the request presents its token as the token's binding asks: a bound token only
/// with a proof from its key, or with its certificate. An unbound or dead token passes here;
/// [`admin`] decides what it may do.
async fn check_binding(
    state: &AppState,
    certificate: &Certificate,
    headers: &HeaderMap,
    (method, path): (axum::http::Method, String),
) -> Result<(), BearerError> {
    let Some((token, dpop_scheme)) = bearer(headers) else {
        return Ok(());
    };
    let Some(claims) = state.active_access_token(token).await? else {
        return Ok(());
    };
    let cnf = claims.cnf.as_ref();
    let endpoint = (method.as_str(), path.as_str());
    let jkt = cnf.and_then(|c| c.jkt.as_deref());
    crate::oauth::dpop::at_resource(state, headers, endpoint, token, dpop_scheme, jkt).await?;
    let x5t = cnf.and_then(|c| c.x5t_s256.as_deref());
    idp_oauth::mtls::check_bound(x5t, certificate.get()).map_err(BearerError::OAuth)
}

pub enum AdminError {
    /// Refused, or failed, as any bearer-token endpoint.
    Bearer(BearerError),
    /// What the path names does not exist: 404, with an error body like the others.
    NotFound(String),
}

impl From<StoreError> for AdminError {
    fn from(error: StoreError) -> Self {
        Self::Bearer(BearerError::from(error))
    }
}

impl From<crate::keys::KeyLoadError> for AdminError {
    fn from(error: crate::keys::KeyLoadError) -> Self {
        match error {
            // Why it was refused, for the operator: no internal detail in it.
            crate::keys::KeyLoadError::Refused(why) => {
                Self::Bearer(BearerError::OAuth(OAuthError::invalid_request(why)))
            }
            crate::keys::KeyLoadError::Store(e) => Self::from(e),
            crate::keys::KeyLoadError::Token(e) => {
                Self::Bearer(BearerError::Fault(Fault::internal(e)))
            }
        }
    }
}

fn not_found(what: &str) -> AdminError {
    AdminError::NotFound(format!("no {what}"))
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let error = match self {
            Self::Bearer(error) => error,
            Self::NotFound(why) => {
                let body = json!({ "error": "not_found", "error_description": why });
                return (StatusCode::NOT_FOUND, Json(body)).into_response();
            }
        };
        let mut response = error.into_response();
        if response.status() == StatusCode::BAD_REQUEST {
            response.headers_mut().remove(header::WWW_AUTHENTICATE);
        }
        response
    }
}

type Answer = Result<Json<Value>, AdminError>;

/// The admin client the request's bearer token stands for.
async fn admin(state: &AppState, headers: &HeaderMap) -> Result<Client, AdminError> {
    let refuse = |code, why: &'static str| {
        AdminError::Bearer(BearerError::OAuth(OAuthError::new(code, why)))
    };
    let (token, _) = bearer(headers)
        .ok_or_else(|| refuse(ErrorCode::InvalidToken, "a bearer access token is required"))?;
    let claims = state.active_access_token(token).await?.ok_or_else(|| {
        refuse(
            ErrorCode::InvalidToken,
            "the access token is invalid, expired or revoked",
        )
    })?;
    if claims.grant_id.is_some() || !claims.scope.split(' ').any(|s| s == "admin") {
        return Err(refuse(
            ErrorCode::InsufficientScope,
            "the admin API needs a client token with scope admin",
        ));
    }
    state
        .stores
        .clients
        .find_client_now(&claims.client_id)
        .await?
        .filter(|client| client.admin)
        .ok_or_else(|| {
            refuse(
                ErrorCode::InsufficientScope,
                "this client may not use the admin API",
            )
        })
}

async fn keys_answer(state: &AppState) -> Answer {
    Ok(Json(crate::keys::describe(
        &state.stores.keys.list_signing_keys().await?,
    )))
}

pub async fn list_keys(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    admin(&state, &headers).await?;
    keys_answer(&state).await
}

/// Makes `change` to the signing keys for the admin client `actor`; the keys after it.
async fn change_keys(
    state: &AppState,
    actor: &Client,
    change: crate::staff::KeyChange<'_>,
) -> Answer {
    let from = crate::web::client_info::ClientInfo::default();
    let acting = crate::staff::Acting {
        by: &crate::staff::Actor::Client(actor.id.clone()),
        reason: None,
        from: &from,
    };
    crate::staff::change_keys(state, change, &acting).await?;
    keys_answer(state).await
}

pub async fn rotate_keys(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    let actor = admin(&state, &headers).await?;
    change_keys(&state, &actor, crate::staff::KeyChange::Rotate).await
}

pub async fn retire_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(kid): Path<String>,
) -> Answer {
    let actor = admin(&state, &headers).await?;
    change_keys(&state, &actor, crate::staff::KeyChange::Retire(&kid)).await
}

pub async fn revoke_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(kid): Path<String>,
) -> Answer {
    let actor = admin(&state, &headers).await?;
    change_keys(&state, &actor, crate::staff::KeyChange::Revoke(&kid)).await
}

fn describe_user(state: &AppState, user: &User) -> Value {
    json!({
        "sub": user.id,
        "username": user.username,
        "email": user.email,
        "email_verified": user.email_verified,
        "phone_number": user.phone,
        "phone_number_verified": user.phone_verified,
        "pin_set": user.pin_hash.is_some(),
        "pin_locked": user.pin_failures >= state.pins.max_attempts(),
        "security_questions": !user.security_questions.is_empty(),
        "disabled": user.disabled_at.is_some(),
        "created_at": user.created_at,
        "created": crate::timestamps::rfc3339(user.created_at),
    })
}

async fn find_user(state: &AppState, username: &str) -> Result<User, AdminError> {
    let name = validate::username(username).map_err(|_| not_found("such user"))?;
    state
        .stores
        .users
        .find_user_by_username(&name)
        .await?
        .ok_or_else(|| not_found("such user"))
}

pub async fn get_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Answer {
    admin(&state, &headers).await?;
    let user = find_user(&state, &username).await?;
    Ok(Json(describe_user(&state, &user)))
}

pub async fn unlock_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Answer {
    let actor = admin(&state, &headers).await?;
    let user = find_user(&state, &username).await?;
    let from = crate::web::client_info::ClientInfo::default();
    let acting = crate::staff::Acting {
        by: &crate::staff::Actor::Client(actor.id.clone()),
        reason: None,
        from: &from,
    };
    crate::staff::unlock_pin(&state, &user, &acting).await?;
    let user = find_user(&state, &username).await?;
    Ok(Json(describe_user(&state, &user)))
}

/// Disables an account: its sessions end (relying parties are told), its grants are revoked,
/// and it cannot sign in until enabled again.
pub async fn disable_user(
    state: State<AppState>,
    headers: HeaderMap,
    username: Path<String>,
) -> Answer {
    set_disabled(state, headers, username, true).await
}

pub async fn enable_user(
    state: State<AppState>,
    headers: HeaderMap,
    username: Path<String>,
) -> Answer {
    set_disabled(state, headers, username, false).await
}

async fn set_disabled(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
    disable: bool,
) -> Answer {
    let actor = admin(&state, &headers).await?;
    let user = find_user(&state, &username).await?;
    let from = crate::web::client_info::ClientInfo::default();
    let acting = crate::staff::Acting {
        by: &crate::staff::Actor::Client(actor.id.clone()),
        reason: None,
        from: &from,
    };
    crate::staff::set_disabled(&state, &user, disable, &acting).await?;
    let user = find_user(&state, &username).await?;
    Ok(Json(describe_user(&state, &user)))
}

fn describe_client(client: &Client) -> Value {
    json!({
        "client_id": client.id,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": client.token_endpoint_auth_method.as_str(),
        "first_party": client.metadata.first_party,
        "resource_server": client.metadata.resource_server,
        "admin": client.admin,
        "disabled": client.metadata.disabled,
        "created_at": client.created_at,
        "created": crate::timestamps::rfc3339(client.created_at),
    })
}

pub async fn list_clients(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    admin(&state, &headers).await?;
    let clients = state.stores.clients.list_clients().await?;
    Ok(Json(clients.iter().map(describe_client).collect()))
}

/// Disables a client: it can no longer authenticate or sign anyone in, and what it holds is
/// revoked as its grants are checked.
pub async fn disable_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let actor = admin(&state, &headers).await?;
    if id == actor.id {
        return Err(AdminError::Bearer(BearerError::OAuth(
            OAuthError::invalid_request("a client cannot disable itself"),
        )));
    }
    let from = crate::web::client_info::ClientInfo::default();
    let acting = crate::staff::Acting {
        by: &crate::staff::Actor::Client(actor.id.clone()),
        reason: None,
        from: &from,
    };
    let client = match crate::staff::disable_client(&state, &id, &acting).await {
        Ok(client) => client,
        Err(crate::staff::ClientRefusal::Store(error)) => return Err(error.into()),
        Err(_) => return Err(not_found("such client")),
    };
    Ok(Json(describe_client(&client)))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

pub async fn audit_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<AuditQuery>,
) -> Answer {
    admin(&state, &headers).await?;
    let kind = match query.kind.as_deref() {
        Some(kind) => Some(AuditKind::parse(kind).ok_or_else(|| {
            AdminError::Bearer(BearerError::OAuth(OAuthError::invalid_request(
                "no such event kind",
            )))
        })?),
        None => None,
    };
    let user_id = match query.user.as_deref() {
        Some(username) => Some(find_user(&state, username).await?.id),
        None => None,
    };
    let filter = idp_core::model::AuditFilter {
        user_id,
        kind,
        ..Default::default()
    };
    let events = state
        .stores
        .audit
        .query(&filter, query.limit.unwrap_or(100).min(1000))
        .await?;
    let mut events =
        serde_json::to_value(events).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let Some(events) = events.as_array_mut() {
        for event in events {
            crate::timestamps::add_readable(event, &[("at", "time")]);
        }
    }
    Ok(Json(events))
}

pub async fn openapi() -> Json<Value> {
    Json(serde_json::from_str(include_str!("admin_openapi.json")).unwrap_or_default())
}
