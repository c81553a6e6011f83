//! A tax portal, as a relying party would build it with the `openidconnect` crate: "Sign in"
//! sends people to the provider (authorization code flow with PKCE and a nonce), and "View
//! transcript" asks for a fresh sign-in through `max_age=0`, which the provider answers with a
//! PIN-only step-up. The ID token's `auth_time` proves the PIN was just entered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse as _,
};
use rand::RngCore as _;
use serde::Deserialize;

mod words;
pub use words::{acr_in_words, amr_in_words};
use words::{ago, escape, page, utc};

/// How the portal is configured.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where the portal itself is reached, e.g. `http://127.0.0.1:3000`.
    pub base_url: String,
    /// How recent the PIN must be to show the transcript.
    pub transcript_max_age_secs: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("provider discovery failed: {0}")]
    Discovery(String),
    #[error("bad configuration: {0}")]
    Config(String),
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    /// Where to go after the callback; `transcript` marks a step-up.
    after: &'static str,
}

#[derive(Clone)]
struct Signed {
    username: String,
    subject: String,
    auth_time: i64,
    acr: String,
    amr: Vec<String>,
    /// The last sign-in was a step-up for the transcript.
    stepped_up: bool,
}

struct Portal {
    config: PortalConfig,
    client: Client,
    http: openidconnect::reqwest::Client,
    pending: Mutex<HashMap<String, Pending>>,
    sessions: Mutex<HashMap<String, Signed>>,
}

fn now() -> i64 {
    #[allow(clippy::disallowed_methods)] // a sample application on the wall clock
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

fn random_id() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the portal's routes, discovering the provider first.
pub async fn app(config: PortalConfig) -> Result<Router, PortalError> {
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| PortalError::Config(e.to_string()))?;
    let issuer =
        IssuerUrl::new(config.issuer.clone()).map_err(|e| PortalError::Config(e.to_string()))?;
    let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &http)
        .await
        .map_err(|e| {
            let fetched = format!(
                "{}/.well-known/openid-configuration",
                issuer.as_str().trim_end_matches('/')
            );
            PortalError::Discovery(format!("fetching {fetched}: {}", causes(&e)))
        })?;
    let redirect = RedirectUrl::new(format!("{}/callback", config.base_url))
        .map_err(|e| PortalError::Config(e.to_string()))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.clone())),
    )
    .set_redirect_uri(redirect);
    let portal = Arc::new(Portal {
        config,
        client,
        http,
        pending: Mutex::new(HashMap::new()),
        sessions: Mutex::new(HashMap::new()),
    });
    Ok(Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/transcript", get(transcript))
        .with_state(portal))
}

/// An error and its causes, outermost first: "Request failed: error sending request: ...".
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        // Some errors repeat their cause in their own message.
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

fn signed_in(portal: &Portal, jar: &CookieJar) -> Option<Signed> {
    let id = jar.get("portal_session")?.value().to_owned();
    portal.sessions.lock().ok()?.get(&id).cloned()
}

async fn home(State(portal): State<Arc<Portal>>, jar: CookieJar) -> Response {
    let Some(user) = signed_in(&portal, &jar) else {
        return page(
            "Welcome",
            "<h1>Your taxes, online</h1><p>See your returns, payments and transcripts in one place.</p>\
<p><a class=\"button\" href=\"/login\">Sign in</a></p>",
        );
    };
    page(
        "Your account",
        &format!(
            "<h1>Welcome back</h1><p>Signed in as <strong>{name}</strong>, {when}.</p>\
<dl><dt>Signed in with</dt><dd>{methods}</dd><dt>Assurance</dt><dd>{level}</dd></dl>\
<p><a class=\"button\" href=\"/transcript\">View transcript</a></p>{raw}",
            name = escape(&user.username),
            when = escape(&ago(user.auth_time, now())),
            methods = escape(&amr_in_words(&user.amr)),
            level = escape(&acr_in_words(&user.acr)),
            raw = for_developers(&user),
        ),
    )
}

/// The ID token's values as they came, folded away for developers.
fn for_developers(user: &Signed) -> String {
    format!(
        "<details><summary>For developers: the ID token's claims</summary><dl>\
<dt>sub</dt><dd><code>{}</code></dd><dt>acr</dt><dd><code>{}</code></dd>\
<dt>amr</dt><dd><code>{}</code></dd><dt>auth_time</dt><dd><code>{}</code> ({})</dd></dl></details>",
        escape(&user.subject),
        escape(&user.acr),
        escape(&user.amr.join(" ")),
        user.auth_time,
        escape(&utc(user.auth_time)),
    )
}

fn failed(why: &str) -> Response {
    page(
        "Sign-in failed",
        &format!(
            "<h1>Sign-in failed</h1><p>{}</p><p><a href=\"/\">Back to the start</a></p>",
            escape(why)
        ),
    )
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    step_up: bool,
}

/// Starts a sign-in; with `step_up`, one whose PIN is entered now (`max_age=0`).
async fn login(State(portal): State<Arc<Portal>>, Query(query): Query<LoginQuery>) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = portal
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    if query.step_up {
        request = request.set_max_age(std::time::Duration::from_secs(0));
    }
    let (url, state, nonce) = request.url();
    let after = if query.step_up { "/transcript" } else { "/" };
    if let Ok(mut pending) = portal.pending.lock() {
        pending.insert(
            state.secret().clone(),
            Pending {
                verifier,
                nonce,
                after,
            },
        );
    }
    Redirect::to(url.as_str()).into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(portal): State<Arc<Portal>>,
    jar: CookieJar,
    Query(query): Query<CallbackQuery>,
) -> Response {
    if let Some(error) = query.error {
        return failed(&error);
    }
    let pending = query.state.and_then(|state| {
        portal
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(&state))
    });
    let (Some(pending), Some(code)) = (pending, query.code) else {
        return failed("Unknown or reused sign-in.");
    };
    let exchanged = match portal.client.exchange_code(AuthorizationCode::new(code)) {
        Ok(request) => {
            request
                .set_pkce_verifier(pending.verifier)
                .request_async(&portal.http)
                .await
        }
        Err(error) => {
            return failed(&error.to_string());
        }
    };
    let Ok(tokens) = exchanged else {
        return failed("The code could not be exchanged.");
    };
    let verifier = portal.client.id_token_verifier().set_allowed_algs(vec![
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    ]);
    let Some(claims) = tokens
        .id_token()
        .and_then(|t| t.claims(&verifier, &pending.nonce).ok())
    else {
        return failed("The ID token did not validate.");
    };
    // The name comes from UserInfo (scope `profile`); the ID token says who and how.
    let userinfo: Option<CoreUserInfoClaims> =
        match portal.client.user_info(tokens.access_token().clone(), None) {
            Ok(request) => request.request_async(&portal.http).await.ok(),
            Err(_) => None,
        };
    let signed = Signed {
        username: userinfo
            .as_ref()
            .and_then(|u| u.preferred_username())
            .map(|u| u.as_str().to_owned())
            .unwrap_or_else(|| claims.subject().as_str().to_owned()),
        subject: claims.subject().as_str().to_owned(),
        amr: claims
            .auth_method_refs()
            .map(|methods| methods.iter().map(|m| m.as_str().to_owned()).collect())
            .unwrap_or_default(),
        auth_time: claims.auth_time().map_or(0, |t| t.timestamp()),
        acr: claims
            .auth_context_ref()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        stepped_up: pending.after == "/transcript",
    };
    let id = random_id();
    if let Ok(mut sessions) = portal.sessions.lock() {
        sessions.insert(id.clone(), signed);
    }
    let mut cookie = Cookie::new("portal_session", id);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    (jar.add(cookie), Redirect::to(pending.after)).into_response()
}

/// The transcript needs a PIN entered for it, recently: otherwise a step-up.
async fn transcript(State(portal): State<Arc<Portal>>, jar: CookieJar) -> Response {
    let Some(user) = signed_in(&portal, &jar) else {
        return Redirect::to("/login").into_response();
    };
    let fresh = user.stepped_up && now() - user.auth_time <= portal.config.transcript_max_age_secs;
    if !fresh {
        return Redirect::to("/login?step_up=true").into_response();
    }
    page(
        "Transcript",
        &format!(
            "<h1>Transcript</h1><p>Tax return transcript for <strong>{}</strong>, tax year 2025: filed, no balance due.</p>\
<p>Shown because you entered your PIN {}.</p>{}",
            escape(&user.username),
            escape(&ago(user.auth_time, now())),
            for_developers(&user),
        ),
    )
}

/// Serves the portal on `listener`.
pub async fn serve(
    config: PortalConfig,
    listener: tokio::net::TcpListener,
) -> Result<(), PortalError> {
    let app = app(config).await?;
    axum::serve(listener, app)
        .await
        .map_err(|e| PortalError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_discovery_names_the_url_and_why() {
        // A port that was free a moment ago: nothing answers there.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = closed.local_addr().unwrap();
        drop(closed);
        let config = PortalConfig {
            issuer: format!("http://{address}"),
            client_id: "portal".into(),
            client_secret: "secret".into(),
            base_url: "http://127.0.0.1:3000".into(),
            transcript_max_age_secs: 300,
        };
        let Err(error) = app(config).await else {
            panic!("discovery cannot succeed");
        };
        let said = error.to_string();
        assert!(said.starts_with("provider discovery failed: "), "{said}");
        assert!(
            said.contains(&format!(
                "fetching http://{address}/.well-known/openid-configuration: "
            )),
            "{said}"
        );
        assert!(said.to_lowercase().contains("connect"), "the cause: {said}");
    }
}
