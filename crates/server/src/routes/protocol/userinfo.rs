//! The UserInfo endpoint (OpenID Connect Core §5.3): the claims the access token's scopes
//! allow and those its request asked for by name (`idp_oauth::claims`), as JSON, or as a
//! JWT signed with the client's `userinfo_signed_response_alg` (§5.3.2).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use idp_core::OAuthError;
use serde_json::{Map, Value, json};

use crate::error::BearerError;
use crate::oauth::mtls::Certificate;
use crate::state::AppState;
use idp_store_sql::Traffic;

/// The media type of a signed answer.
pub const JWT: &str = "application/jwt";

pub enum Answer {
    Json(Map<String, Value>),
    Signed(String),
}

pub async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    certificate: Certificate,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match Traffic::Token
        .scope(handle(
            &state,
            method.as_str(),
            (&headers, &certificate),
            &body,
        ))
        .await
    {
        Ok(Answer::Json(claims)) => Json(claims).into_response(),
        Ok(Answer::Signed(jwt)) => ([(header::CONTENT_TYPE, JWT)], jwt).into_response(),
        Err(error) => error.into_response(),
    }
}

/// The token of the `Authorization` header, and whether its scheme is `DPoP` (RFC 9449 §7.1)
/// rather than `Bearer`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<(&str, bool)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((token.trim(), false))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((token.trim(), true))
    } else {
        None
    }
}

/// The access token of a form-encoded POST body (RFC 6750 §2.2).
fn in_body(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs
        .into_iter()
        .find(|(name, _)| name == "access_token")
        .map(|(_, token)| token)
}

/// The access token, from the `Authorization` header or a form body, never both (RFC 6750
/// §2: a client uses one method), and whether it came with the `DPoP` scheme.
fn access_token(headers: &HeaderMap, body: &[u8]) -> Result<(String, bool), BearerError> {
    let invalid = |why: &'static str| BearerError::OAuth(OAuthError::invalid_request(why));
    match (bearer(headers), in_body(headers, body)) {
        (Some(_), Some(_)) => Err(invalid("send the access token one way only")),
        (Some((token, dpop)), None) => Ok((token.to_owned(), dpop)),
        (None, Some(token)) => Ok((token, false)),
        (None, None) => Err(BearerError::OAuth(OAuthError::invalid_token(
            "a bearer access token is required",
        ))),
    }
}

async fn handle(
    state: &AppState,
    method: &str,
    (headers, certificate): (&HeaderMap, &Certificate),
    body: &[u8],
) -> Result<Answer, BearerError> {
    let invalid = |why: &'static str| BearerError::OAuth(OAuthError::invalid_token(why));
    let (token, dpop_scheme) = access_token(headers, body)?;
    let token = token.as_str();
    // A token presented with the DPoP scheme is answered with a DPoP challenge (RFC 9449 §7.1).
    let dead = "the access token is invalid, expired or revoked";
    let active = state.active_token(token).await?.ok_or_else(|| {
        if dpop_scheme {
            BearerError::Dpop(OAuthError::invalid_token(dead), None)
        } else {
            invalid(dead)
        }
    })?;
    let cnf = active.claims.cnf.as_ref();
    let bound = cnf.and_then(|c| c.jkt.as_deref());
    let endpoint = (method, "/userinfo");
    crate::oauth::dpop::at_resource(state, headers, endpoint, token, dpop_scheme, bound).await?;
    let bound = cnf.and_then(|c| c.x5t_s256.as_deref());
    idp_oauth::mtls::check_bound(bound, certificate.get()).map_err(BearerError::OAuth)?;
    let user_id = active
        .user_id
        .ok_or_else(|| invalid("this access token was not issued for a user"))?;
    let claims = active.claims;
    let user = state
        .stores
        .users
        .find_user_for_claims(&user_id)
        .await?
        .ok_or_else(|| invalid("the user no longer exists"))?;
    let client = state
        .stores
        .clients
        .find_client(&claims.client_id)
        .await?
        .ok_or_else(|| invalid("the client no longer exists"))?;
    let scopes: Vec<String> = claims.scope.split(' ').map(str::to_owned).collect();
    let named = claims.userinfo_claims.iter().flatten().map(String::as_str);
    let mut body = idp_oauth::claims::released(&user, &scopes, true, named);
    body.insert("sub".into(), json!(state.subject_for(&client, &user.id)));
    let Some(alg) = client.metadata.userinfo_signed_response_alg else {
        return Ok(Answer::Json(body));
    };
    body.insert("iss".into(), json!(state.issuer()));
    body.insert("aud".into(), json!(client.id));
    // No `exp` and no authentication claims: a signed UserInfo answer is never taken for an
    // ID token (Core §3.1.3.7 requires `exp`), though it has the same `iss` and `aud`.
    body.insert("iat".into(), json!(state.now()));
    let signed = state
        .keys()
        .sign(alg, "JWT", &body)
        .map_err(|error| BearerError::Fault(crate::error::Fault::internal(error)))?;
    Ok(Answer::Signed(signed))
}
