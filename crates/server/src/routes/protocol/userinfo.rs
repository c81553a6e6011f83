//! The UserInfo endpoint (OpenID Connect Core §5.3): the claims the access token's scopes allow.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;
use serde_json::{Map, Value, json};

use crate::error::BearerError;
use crate::state::AppState;
use idp_store_sql::Traffic;

pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match Traffic::Token.scope(handle(&state, &headers)).await {
        Ok(claims) => Json(claims).into_response(),
        Err(error) => error.into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

async fn handle(state: &AppState, headers: &HeaderMap) -> Result<Map<String, Value>, BearerError> {
    let invalid = |why: &'static str| BearerError::OAuth(OAuthError::invalid_token(why));
    let token = bearer(headers).ok_or_else(|| invalid("a bearer access token is required"))?;
    let claims = state
        .active_access_token(token)
        .await?
        .ok_or_else(|| invalid("the access token is invalid, expired or revoked"))?;
    if claims.grant_id.is_none() {
        return Err(invalid("this access token was not issued for a user"));
    }
    let user = state
        .stores
        .users
        .find_user(&claims.sub)
        .await?
        .ok_or_else(|| invalid("the user no longer exists"))?;
    let scopes: Vec<&str> = claims.scope.split(' ').collect();
    let mut body = Map::new();
    body.insert("sub".into(), json!(user.id));
    if scopes.contains(&"profile") {
        body.insert("preferred_username".into(), json!(user.username));
    }
    if scopes.contains(&"email") {
        body.insert("email".into(), json!(user.email));
        body.insert("email_verified".into(), json!(user.email_verified));
    }
    if scopes.contains(&"phone")
        && let Some(phone) = &user.phone
    {
        body.insert("phone_number".into(), json!(phone));
        body.insert("phone_number_verified".into(), json!(user.phone_verified));
    }
    Ok(body)
}
