//! Dynamic client registration (RFC 7591) and its management (RFC 7592). Registering needs an
//! initial access token from `idp registration-token create` unless the operator turned that
//! off; managing a client needs the registration access token handed out with it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::model::{Client, TokenEndpointAuthMethod};
use idp_core::random::{constant_time_eq, random_token, sha256_b64};
use idp_core::{OAuthError, StoreError};
use idp_oauth::client_metadata::{self, MetadataError, RegistrationRequest};
use serde_json::{Value, json};

use crate::error::BearerError;
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;

pub enum RegistrationError {
    Metadata(MetadataError),
    Token(&'static str),
    NotFound,
    /// Too many registrations from this address: wait this many seconds.
    TooMany(i64),
    Store(StoreError),
}

impl From<StoreError> for RegistrationError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<MetadataError> for RegistrationError {
    fn from(error: MetadataError) -> Self {
        Self::Metadata(error)
    }
}

impl IntoResponse for RegistrationError {
    fn into_response(self) -> Response {
        match self {
            Self::Metadata(error) => (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": error.code, "error_description": error.description })),
            )
                .into_response(),
            Self::Token(why) => BearerError::OAuth(OAuthError::invalid_token(why)).into_response(),
            Self::TooMany(seconds) => (
                StatusCode::TOO_MANY_REQUESTS,
                [(axum::http::header::RETRY_AFTER, seconds.to_string())],
                Json(json!({
                    "error": "invalid_request",
                    "error_description": format!(
                        "too many registrations from this address; try again in {seconds} seconds"
                    ),
                })),
            )
                .into_response(),
            // RFC 7592 §2: an unknown client answers like a bad token, telling nothing.
            Self::NotFound => BearerError::OAuth(OAuthError::invalid_token(
                "the registration access token is not valid",
            ))
            .into_response(),
            Self::Store(error) => BearerError::from(error).into_response(),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<RegistrationRequest, RegistrationError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(RegistrationError::Metadata(MetadataError {
            code: "invalid_client_metadata",
            description: "the body must be application/json".into(),
        }));
    }
    serde_json::from_slice(body).map_err(|e| {
        RegistrationError::Metadata(MetadataError {
            code: "invalid_client_metadata",
            description: format!("the body is not valid client metadata: {e}"),
        })
    })
}

/// The client's registration as RFC 7591 §3.2.1 and RFC 7592 §3 return it.
fn describe(state: &AppState, client: &Client) -> Value {
    let metadata = &client.metadata;
    let mut out = json!({
        "client_id": client.id,
        "client_id_issued_at": client.created_at,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": metadata.grant_types,
        "response_types": client_metadata::response_types_for(&metadata.grant_types),
        "token_endpoint_auth_method": client.token_endpoint_auth_method.as_str(),
        "id_token_signed_response_alg": client.id_token_signed_response_alg.as_str(),
        "post_logout_redirect_uris": metadata.post_logout_redirect_uris,
        "require_pushed_authorization_requests": metadata.require_pushed_authorization_requests
            || idp_oauth::fapi::Rules::for_client(metadata, state.protocol()).requires_par(),
        "fapi2_security_profile": metadata.fapi2_security_profile,
        "dpop_bound_access_tokens": metadata.dpop_bound_access_tokens,
        "tls_client_certificate_bound_access_tokens": metadata.tls_client_certificate_bound_access_tokens,
        "registration_client_uri": format!("{}/register/{}", state.issuer(), client.id),
    });
    if let Value::Object(names) = json!(metadata.tls_client_auth)
        && let Value::Object(out) = &mut out
    {
        out.extend(names);
    }
    if let Some(jwks) = &metadata.jwks {
        out["jwks"] = jwks.clone();
    }
    if let Some(uri) = &metadata.jwks_uri {
        out["jwks_uri"] = json!(uri);
    }
    if let Some(alg) = &metadata.request_object_signing_alg {
        out["request_object_signing_alg"] = json!(alg);
    }
    if !metadata.request_uris.is_empty() {
        out["request_uris"] = json!(metadata.request_uris);
    }
    crate::oauth::sector::describe(client, &mut out);
    if let Some(uri) = &metadata.backchannel_logout_uri {
        out["backchannel_logout_uri"] = json!(uri);
    }
    let links = &metadata.links;
    for (name, uri) in [
        ("logo_uri", &links.logo_uri),
        ("client_uri", &links.client_uri),
        ("policy_uri", &links.policy_uri),
        ("tos_uri", &links.tos_uri),
    ] {
        if let Some(uri) = uri {
            out[name] = json!(uri);
        }
    }
    if client.secret_hash.is_some() {
        out["client_secret_expires_at"] = json!(0);
    }
    out
}

/// A registration's `sector_identifier_uri`, fetched as the client's (https, public
/// addresses) and checked against its redirect URIs.
async fn check_sector(
    state: &AppState,
    checked: &client_metadata::Registration,
) -> Result<(), RegistrationError> {
    let Some(uri) = &checked.metadata.sector_identifier_uri else {
        return Ok(());
    };
    let caller = crate::oauth::outbound::Caller::Registered;
    crate::oauth::sector::check(state, uri, caller, &checked.redirect_uris)
        .await
        .map_err(|description| {
            RegistrationError::Metadata(MetadataError {
                code: "invalid_client_metadata",
                description,
            })
        })
}

fn secret_for(method: TokenEndpointAuthMethod) -> Option<String> {
    matches!(
        method,
        TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
    )
    .then(|| random_token(32))
}

pub async fn register(
    State(state): State<AppState>,
    from: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle_register(&state, &from, &headers, &body).await {
        Ok(answer) => (StatusCode::CREATED, Json(answer)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle_register(
    state: &AppState,
    from: &ClientInfo,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, RegistrationError> {
    let token = if state.settings.registration.require_initial_access_token {
        let token = bearer(headers).ok_or(RegistrationError::Token(
            "an initial access token is required",
        ))?;
        let id = sha256_b64(token);
        let uses = state
            .stores
            .clients
            .initial_access_token_uses(&id, state.now())
            .await?;
        // Unknown, expired and used up all answer alike (RFC 7591 §3.2.2, RFC 6750 §3.1).
        if uses == 0 {
            return Err(RegistrationError::Token(
                "the initial access token is not valid",
            ));
        }
        Some(id)
    } else {
        None
    };
    let request = parse_body(headers, body)?;
    let checked = client_metadata::check(&request, state.protocol())?;
    // Counted once the request is valid (junk from a shared address uses up nothing), before
    // the sector identifier is fetched (each fetch counts), and before the token is spent (a
    // refused registration keeps it).
    if let throttle::Verdict::Wait(seconds) =
        throttle::per_ip(state, throttle::Action::Registration, from.ip()).await?
    {
        return Err(RegistrationError::TooMany(seconds));
    }
    let counted = throttle::counted(state, throttle::Action::Registration, from.ip());
    check_sector(state, &checked).await?;
    let registered = register_client(state, token, checked).await;
    if matches!(&registered, Err(RegistrationError::Store(error)) if error.is_outage()) {
        // Refused for our own outage: it does not count against the address.
        counted.give_back(state).await;
    }
    registered
}

/// Creates the client that `checked` describes, spending one use of the initial access token
/// `token` (a token made with `--uses N` serves N registrations).
async fn register_client(
    state: &AppState,
    token: Option<String>,
    checked: client_metadata::Registration,
) -> Result<Value, RegistrationError> {
    if let Some(id) = token {
        let spent = state
            .stores
            .clients
            .spend_initial_access_token(&id, state.now())
            .await?;
        if !spent {
            return Err(RegistrationError::Token(
                "the initial access token is not valid",
            ));
        }
    }
    let secret = secret_for(checked.auth_method);
    let registration_token = random_token(32);
    let mut metadata = checked.metadata;
    metadata.registration_token_hash = Some(sha256_b64(&registration_token));
    let client = Client {
        id: random_token(16),
        name: checked.name,
        secret_hash: secret.as_deref().map(sha256_b64),
        redirect_uris: checked.redirect_uris,
        token_endpoint_auth_method: checked.auth_method,
        id_token_signed_response_alg: checked.id_token_alg,
        admin: false,
        created_at: state.now(),
        metadata,
    };
    state.stores.clients.create_client(&client).await?;
    tracing::info!(client_id = %client.id, "client registered");
    let mut answer = describe(state, &client);
    answer["registration_access_token"] = json!(registration_token);
    if let Some(secret) = secret {
        answer["client_secret"] = json!(secret);
    }
    Ok(answer)
}

/// The client the registration access token manages.
async fn managed_client(
    state: &AppState,
    headers: &HeaderMap,
    client_id: &str,
) -> Result<Client, RegistrationError> {
    let token = bearer(headers).ok_or(RegistrationError::Token(
        "the registration access token is required",
    ))?;
    let client = state
        .stores
        .clients
        .find_client_now(client_id)
        .await?
        .ok_or(RegistrationError::NotFound)?;
    match &client.metadata.registration_token_hash {
        Some(hash) if constant_time_eq(sha256_b64(token).as_bytes(), hash.as_bytes()) => Ok(client),
        _ => Err(RegistrationError::NotFound),
    }
}

pub async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match managed_client(&state, &headers, &id).await {
        Ok(client) => Json(describe(&state, &client)).into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let client = managed_client(&state, &headers, &id).await?;
        let request = parse_body(&headers, &body)?;
        let named: Value = serde_json::from_slice(&body).unwrap_or_default();
        if named["client_id"].as_str() != Some(client.id.as_str()) {
            return Err(RegistrationError::Metadata(MetadataError {
                code: "invalid_client_metadata",
                description: "client_id must be given and match (RFC 7592 §2.2)".into(),
            }));
        }
        let checked = client_metadata::check(&request, state.protocol())?;
        check_sector(&state, &checked).await?;
        // The secret stays unless the method changes between having one and not.
        let (secret_hash, new_secret) =
            match (client.secret_hash.clone(), secret_for(checked.auth_method)) {
                (Some(hash), Some(_)) => (Some(hash), None),
                (_, Some(secret)) => (Some(sha256_b64(&secret)), Some(secret)),
                (_, None) => (None, None),
            };
        let before = client.clone();
        let updated = Client {
            name: checked.name,
            secret_hash,
            redirect_uris: checked.redirect_uris,
            token_endpoint_auth_method: checked.auth_method,
            id_token_signed_response_alg: checked.id_token_alg,
            metadata: idp_core::model::ClientMetadata {
                registration_token_hash: client.metadata.registration_token_hash.clone(),
                disabled: client.metadata.disabled,
                ..checked.metadata
            },
            ..client
        };
        crate::oauth::sector::check_same_sector(&before, &updated).map_err(|description| {
            RegistrationError::Metadata(MetadataError {
                code: "invalid_client_metadata",
                description,
            })
        })?;
        state.stores.clients.update_client(&updated).await?;
        let mut answer = describe(&state, &updated);
        // A method that now needs a secret gets one, returned this once (RFC 7592 §2.2).
        if let Some(secret) = new_secret {
            answer["client_secret"] = json!(secret);
        }
        Ok(answer)
    }
    .await;
    match result {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let client = managed_client(&state, &headers, &id).await?;
        state.stores.clients.delete_client(&client.id).await?;
        tracing::info!(client_id = %client.id, "client deleted by its registration access token");
        Ok::<_, RegistrationError>(())
    }
    .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}
