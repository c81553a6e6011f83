//! Request objects (RFC 9101, OpenID Connect Core §6): the authorization request's
//! parameters in a JWT the client signed, given by value (`request`) or at a URL
//! (`request_uri`). The object is verified with the client's keys, and its parameters take the
//! place of those of the same name in the query (Core §6.3.3); the result is then checked as
//! any authorization request is ([`crate::authorization_request::check`]).

use async_trait::async_trait;
use idp_core::clock::UnixTime;
use idp_core::model::Client;
use idp_core::store::ClientStore;
use idp_core::{ErrorCode, OAuthError};
use idp_token_issuer::client_keys::{self, ALGORITHMS, SignatureError};
use serde_json::{Map, Value};

use crate::authorization_request::{
    MAX_STATE_LENGTH, Params, ProtocolOptions, Rejection, RequestProblem, answer_mode,
    check_client, check_redirect_uri,
};
use crate::client_keys::{ClientKeys, VerifyError};

/// Claims of the JWT itself, not parameters of the request.
const JWT_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];
/// How far ahead of this provider's clock a client's clock may be (`nbf`).
const CLOCK_LEEWAY_SECS: i64 = 30;

/// What a request object is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// This provider's issuer identifier: the audience a request object may name.
    pub issuer: &'a str,
    pub now: UnixTime,
    /// Whether unsigned (`alg: none`) request objects are taken (`protocol.unsigned_request_objects`).
    pub allow_unsigned: bool,
}

/// Fetches the request object a client put at a URL.
#[async_trait]
pub trait RequestUris: Send + Sync {
    /// The request object at `uri`, which `client` gave as its `request_uri`; an error with
    /// the code `invalid_request_uri` when it cannot be had.
    async fn fetch(&self, client: &Client, uri: &str) -> Result<String, OAuthError>;
}

fn invalid_object(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, description.into())
}

/// The algorithms request objects may be signed with, as discovery lists them.
pub fn algorithms(allow_unsigned: bool) -> Vec<&'static str> {
    let mut algs = ALGORITHMS.to_vec();
    if allow_unsigned {
        algs.push("none");
    }
    algs
}

/// The request's parameters with those of its request object in place, or as given when it
/// has none. A `request_uri` that refers to a pushed request must have been resolved before.
/// A bad object is answered at the client's redirect URI once the client and that URI are
/// known to be good, and with a page otherwise.
pub async fn resolve(
    pairs: Vec<(String, String)>,
    clients: &dyn ClientStore,
    keys: &dyn ClientKeys,
    uris: &dyn RequestUris,
    expected: Expected<'_>,
) -> Result<Vec<(String, String)>, Rejection> {
    if !pairs
        .iter()
        .any(|(k, _)| k == "request" || k == "request_uri")
    {
        return Ok(pairs);
    }
    let params = Params { pairs };
    let client = check_client(&params, clients).await?;
    let given_redirect = if params.count("redirect_uri") > 0 {
        Some(check_redirect_uri(&params, &client)?)
    } else {
        None
    };
    let mut object = None;
    let outcome = match obtain(&params, &client, uris).await {
        Ok(jwt) => {
            let verified = verify(&jwt, &client, keys, expected).await;
            object = Some(jwt);
            verified.and_then(|claims| merge(&params.pairs, claims, &OUTSIDE_TOO))
        }
        Err(error) => Err(error),
    };
    let error = match outcome {
        Ok(pairs) => return Ok(pairs),
        Err(error) => error,
    };
    // The object's own redirect URI and state, unverified, serve only to answer at a URI the
    // client registered: anyone could send the same error there themselves.
    let unverified = object
        .as_deref()
        .and_then(client_keys::unverified_claims)
        .unwrap_or_default();
    let from_object = |name: &str| unverified.get(name).and_then(Value::as_str);
    let redirect_uri = given_redirect.or_else(|| {
        from_object("redirect_uri")
            .filter(|uri| client.redirect_uris.iter().any(|r| r == uri))
            .map(str::to_owned)
    });
    let Some(redirect_uri) = redirect_uri else {
        return Err(Rejection::Page(RequestProblem::BadRequestObject));
    };
    let state = params
        .get("state")
        .or_else(|| from_object("state"))
        .filter(|s| s.len() <= MAX_STATE_LENGTH)
        .map(str::to_owned);
    // The response mode the query asks for: the object that would say otherwise is not to be
    // trusted. A token-returning response type is answered in the fragment whatever the
    // setting (Multiple Response Types §5); the request's checks refuse it later if it is off.
    let implicit_and_hybrid = ProtocolOptions {
        implicit_and_hybrid: true,
        ..ProtocolOptions::default()
    };
    Err(Rejection::Redirect {
        redirect_uri,
        state,
        mode: answer_mode(&params, implicit_and_hybrid),
        error,
    })
}

/// The parameters of a pushed request (RFC 9126 §3) from the authenticated `client`, with
/// those of its request object (`request`) in place when it has one. Errors are answered to
/// the client directly, so none needs a redirect URI.
pub async fn resolve_pushed(
    pairs: Vec<(String, String)>,
    client: &Client,
    keys: &dyn ClientKeys,
    expected: Expected<'_>,
) -> Result<Vec<(String, String)>, OAuthError> {
    let objects: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "request")
        .map(|(_, v)| v.as_str())
        .collect();
    match objects.as_slice() {
        [] => Ok(pairs),
        [object] => {
            // RFC 9126 §3: a pushed request object may come with no more than client_id.
            let claims = verify(object, client, keys, expected).await?;
            merge(&pairs, claims, &["client_id"])
        }
        _ => Err(OAuthError::invalid_request("request is repeated")),
    }
}

/// The request object: given by value, or fetched from the client's `request_uri`.
async fn obtain(
    params: &Params,
    client: &Client,
    uris: &dyn RequestUris,
) -> Result<String, OAuthError> {
    if params.count("request") + params.count("request_uri") > 1 {
        return Err(OAuthError::invalid_request(
            "give one request object: request or request_uri, once",
        ));
    }
    if let Some(object) = params.get("request") {
        return Ok(object.to_owned());
    }
    let uri = params
        .get("request_uri")
        .ok_or_else(|| OAuthError::invalid_request("request or request_uri is empty"))?;
    if uri.len() > 512 {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequestUri,
            "request_uri is longer than 512 characters",
        ));
    }
    uris.fetch(client, uri).await
}

/// The claims of a request object from `client`: signed with one of its keys (by the
/// algorithm it registered, if any), or unsigned where that is allowed; from the client, for
/// this provider, and current.
pub async fn verify(
    object: &str,
    client: &Client,
    keys: &dyn ClientKeys,
    expected: Expected<'_>,
) -> Result<Map<String, Value>, OAuthError> {
    let object = object.trim();
    match object.split('.').count() {
        3 => {}
        5 => {
            return Err(invalid_object(
                "encrypted request objects (JWE) are not supported: send the request object signed, not encrypted",
            ));
        }
        _ => return Err(invalid_object("the request object is not a JWT")),
    }
    let alg = client_keys::header_alg(object)
        .ok_or_else(|| invalid_object("the request object's header cannot be read"))?;
    // A JWT made for something else (an access token, a logout token, a DPoP proof) never
    // passes for a request object (RFC 9101 §10.8).
    if let Some(typ) = client_keys::header_field(object, "typ")
        && !typ.eq_ignore_ascii_case("oauth-authz-req+jwt")
        && !typ.eq_ignore_ascii_case("jwt")
    {
        return Err(invalid_object(format!(
            "a request object's typ is oauth-authz-req+jwt or JWT, not {}",
            typ.chars().take(32).collect::<String>()
        )));
    }
    let registered = client.metadata.request_object_signing_alg.as_deref();
    if registered.is_some_and(|registered| registered != alg) {
        return Err(invalid_object(format!(
            "the request object is signed with {}, but the client registered request_object_signing_alg {}",
            alg.chars().take(16).collect::<String>(),
            registered.unwrap_or_default()
        )));
    }
    let claims = if alg == "none" {
        if !expected.allow_unsigned {
            return Err(invalid_object(
                "unsigned request objects (alg none) are not accepted: sign it with one of the client's keys",
            ));
        }
        if !object.ends_with('.') {
            return Err(invalid_object(
                "an unsigned request object has an empty signature",
            ));
        }
        client_keys::unverified_claims(object)
            .ok_or_else(|| invalid_object("the request object's claims cannot be read"))?
    } else {
        if client.metadata.jwks.is_none() && client.metadata.jwks_uri.is_none() {
            return Err(invalid_object(
                "the client registered no keys (jwks or jwks_uri) to verify its request objects with",
            ));
        }
        match crate::client_keys::verify(keys, client, object, &ALGORITHMS).await {
            Ok(signed) => signed.claims,
            Err(VerifyError::Unavailable(why)) => {
                return Err(invalid_object(format!(
                    "the client's keys could not be fetched from its jwks_uri: {why}"
                )));
            }
            Err(VerifyError::Signature(SignatureError::Algorithm)) => {
                return Err(invalid_object(format!(
                    "request objects must be signed with one of {}",
                    ALGORITHMS.join(", ")
                )));
            }
            Err(VerifyError::Signature(error)) => {
                return Err(invalid_object(format!("the request object: {error}")));
            }
        }
    };
    check_claims(&claims, client, expected)?;
    Ok(claims)
}

/// `iss`, `aud`, `exp` and `nbf` where present (Core §6.1, RFC 9101 §6.3).
fn check_claims(
    claims: &Map<String, Value>,
    client: &Client,
    expected: Expected<'_>,
) -> Result<(), OAuthError> {
    if let Some(iss) = claims.get("iss")
        && iss.as_str() != Some(client.id.as_str())
    {
        return Err(invalid_object(
            "the request object's iss must be the client_id",
        ));
    }
    if let Some(aud) = claims.get("aud") {
        let names_us = match aud {
            Value::String(aud) => aud == expected.issuer,
            Value::Array(list) => list.iter().any(|a| a.as_str() == Some(expected.issuer)),
            _ => false,
        };
        if !names_us {
            return Err(invalid_object(
                "the request object's aud must be this provider's issuer",
            ));
        }
    }
    let time = |name: &str| -> Result<Option<i64>, OAuthError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => value.as_f64().map(|t| Some(t as i64)).ok_or_else(|| {
                invalid_object(format!("the request object's {name} is not a time"))
            }),
        }
    };
    if time("exp")?.is_some_and(|exp| exp <= expected.now) {
        return Err(invalid_object("the request object has expired"));
    }
    if time("nbf")?.is_some_and(|nbf| nbf > expected.now + CLOCK_LEEWAY_SECS) {
        return Err(invalid_object("the request object is not valid yet (nbf)"));
    }
    Ok(())
}

/// What must be in the query as well as in a request object (Core §6.1).
const OUTSIDE_TOO: [&str; 2] = ["client_id", "response_type"];

/// The query's parameters with the object's in their place (Core §6.3.3). Those named in
/// `outside_too` must also be in the query; any the object repeats must be equal.
pub fn merge(
    query: &[(String, String)],
    claims: Map<String, Value>,
    outside_too: &[&str],
) -> Result<Vec<(String, String)>, OAuthError> {
    let in_query = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    for name in OUTSIDE_TOO {
        let outside = in_query(name);
        if outside.is_none() && outside_too.contains(&name) {
            return Err(OAuthError::invalid_request(format!(
                "{name} is required outside the request object too (OpenID Connect Core §6.1)"
            )));
        }
        if let (Some(outside), Some(inside)) = (outside, claims.get(name))
            && inside.as_str() != Some(outside)
        {
            return Err(invalid_object(format!(
                "the request object's {name} differs from the request's"
            )));
        }
    }
    let inside: Vec<(String, String)> = claims
        .into_iter()
        .filter(|(name, _)| {
            !JWT_CLAIMS.contains(&name.as_str()) && name != "request" && name != "request_uri"
        })
        .filter_map(|(name, value)| {
            let text = match value {
                Value::Null => return None,
                Value::String(text) => text,
                Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                    value.to_string()
                }
            };
            Some((name, text))
        })
        .collect();
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(name, _)| name != "request" && name != "request_uri")
        .filter(|(name, _)| !inside.iter().any(|(inner, _)| inner == name))
        .cloned()
        .collect();
    pairs.extend(inside);
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_objects_parameters_win_over_the_querys() {
        let query = pairs(&[
            ("client_id", "c1"),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "outside"),
            ("request", "x.y.z"),
        ]);
        let inside = claims(json!({
            "iss": "c1", "aud": "https://idp.example", "exp": 5,
            "client_id": "c1", "response_type": "code", "state": "inside",
            "max_age": 60, "claims": { "id_token": { "acr": null } }, "nonce": null,
        }));
        let mut merged = merge(&query, inside, &OUTSIDE_TOO).unwrap();
        merged.sort();
        assert_eq!(
            merged,
            pairs(&[
                ("claims", r#"{"id_token":{"acr":null}}"#),
                ("client_id", "c1"),
                ("max_age", "60"),
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", "inside"),
            ])
        );
    }

    #[test]
    fn client_id_and_response_type_stay_in_the_query_and_agree() {
        let query = pairs(&[("client_id", "c1"), ("response_type", "code")]);
        let other = merge(&query, claims(json!({ "client_id": "c2" })), &OUTSIDE_TOO).unwrap_err();
        assert_eq!(other.code, ErrorCode::InvalidRequestObject);
        let other = merge(
            &query,
            claims(json!({ "response_type": "token" })),
            &OUTSIDE_TOO,
        )
        .unwrap_err();
        assert_eq!(other.code, ErrorCode::InvalidRequestObject);
        let bare = pairs(&[("client_id", "c1")]);
        let missing = merge(
            &bare,
            claims(json!({ "response_type": "code" })),
            &OUTSIDE_TOO,
        )
        .unwrap_err();
        assert_eq!(missing.code, ErrorCode::InvalidRequest);
    }
}
