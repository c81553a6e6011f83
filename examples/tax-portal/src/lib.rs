//! A tax portal, as a relying party would build it with the `openidconnect` crate: "Sign in"
//! sends people to the provider (authorization code flow with PKCE and a nonce), and three
//! actions ask for more than a plain sign-in. Each is a step-up in the manner of RFC 9470: when
//! the ID token the portal holds is too weak or too old for the action, the portal sends the
//! person to the provider again with a higher `acr_values` (or an essential `acr` claim) and a
//! `max_age`, and checks the `acr` and `auth_time` of the ID token that comes back before it
//! acts: a provider may answer at a lower level than asked.
//!
//! | action | page | asks the provider for | needs in the ID token |
//! |---|---|---|---|
//! | View transcript | `/transcript` | `max_age=0` | a PIN entered for it, at most `transcript_max_age_secs` ago |
//! | File a return | `/file` | `acr_values=urn:idp:acr:aal2`, `max_age=filing_max_age_secs` | `acr` `urn:idp:acr:aal2` or higher, `auth_time` at most `filing_max_age_secs` ago |
//! | Change bank details | `/bank` | the essential claim `{"id_token":{"acr":{"essential":true,"values":["urn:idp:acr:aal2-phishing-resistant"]}}}`, `max_age=bank_max_age_secs` | `acr` `urn:idp:acr:aal2-phishing-resistant`, `auth_time` at most `bank_max_age_secs` ago |
//!
//! `acr_values` is a wish: a person who declines the second factor comes back at a lower
//! `acr`, and the portal explains that filing needs a second factor (`/file/not-filed`) and
//! never files. An essential `acr` claim is a requirement: a sign-in that cannot reach it ends
//! with `error=unmet_authentication_requirements` at `/callback`, and the portal explains that
//! changing bank details needs a passkey, added on the account page at the provider
//! (`/bank/not-changed`). Every other error answer at `/callback` is explained in words too.
//!
//! In DPoP mode ([`PortalConfig::dpop`]) the portal's tokens are bound to a key of its own
//! (RFC 9449): see [`dpop`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse as _,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse as _,
};
use rand::RngCore as _;
use serde::Deserialize;

mod actions;
pub mod dpop;
mod words;
use actions::{bank_form, bank_not_changed, change_bank, file, filing_form, not_filed};
use dpop::{Backchannel, DpopKey, tokens_in_words};
pub use words::{acr_in_words, amr_in_words};
use words::{ago, escape, failed, page, provider_said_no, utc};

/// The provider's levels (`acr`), lowest first.
pub const PASSWORD_PIN: &str = "urn:idp:acr:password-pin";
pub const PASSWORD_PIN_DEVICE: &str = "urn:idp:acr:password-pin-device";
pub const AAL2: &str = "urn:idp:acr:aal2";
pub const AAL2_PHISHING_RESISTANT: &str = "urn:idp:acr:aal2-phishing-resistant";
const LEVELS: [&str; 4] = [
    PASSWORD_PIN,
    PASSWORD_PIN_DEVICE,
    AAL2,
    AAL2_PHISHING_RESISTANT,
];

/// Whether a sign-in at `acr` satisfies `needed`: the same level or a higher one. A level the
/// portal does not know satisfies nothing.
pub fn reaches(acr: &str, needed: &str) -> bool {
    let rank = |acr: &str| LEVELS.iter().position(|level| *level == acr);
    match (rank(acr), rank(needed)) {
        (Some(have), Some(need)) => have >= need,
        _ => false,
    }
}

/// The `claims` request parameter that makes the phishing-resistant level essential.
const BANK_CLAIMS: &str =
    r#"{"id_token":{"acr":{"essential":true,"values":["urn:idp:acr:aal2-phishing-resistant"]}}}"#;

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
    /// How recent a sign-in with a second factor (`urn:idp:acr:aal2`) must be to file a return.
    pub filing_max_age_secs: i64,
    /// How recent a sign-in with a passkey must be to change the bank details.
    pub bank_max_age_secs: i64,
    /// Whether tokens are bound to a key of this instance (DPoP, RFC 9449): every token
    /// request and UserInfo call then carries a proof. The provider's client must be
    /// registered for it (`idp client create --dpop-bound-access-tokens`).
    pub dpop: bool,
}

impl PortalConfig {
    /// A configuration with the usual freshness: 5 minutes for the transcript, 10 for filing
    /// and for the bank details.
    pub fn new(issuer: &str, client_id: &str, client_secret: &str, base_url: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            base_url: base_url.to_owned(),
            transcript_max_age_secs: 300,
            filing_max_age_secs: 600,
            bank_max_age_secs: 600,
            dpop: false,
        }
    }
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

/// What a sign-in was started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A plain sign-in.
    Home,
    /// A fresh PIN for the transcript.
    Transcript,
    /// A second factor for filing a return.
    File,
    /// A passkey for changing the bank details.
    Bank,
}

impl Purpose {
    /// From the `step_up` query value: `true` (the transcript, as before), `file`, `bank`.
    fn step_up(value: &str) -> Option<Self> {
        match value {
            "true" | "transcript" => Some(Self::Transcript),
            "file" => Some(Self::File),
            "bank" => Some(Self::Bank),
            _ => None,
        }
    }

    /// Where the person goes after the sign-in.
    fn page(self) -> &'static str {
        match self {
            Self::Home => "/",
            Self::Transcript => "/transcript",
            Self::File => "/file",
            Self::Bank => "/bank",
        }
    }

    /// Where a sign-in for this purpose starts.
    fn login(self) -> &'static str {
        match self {
            Self::Home => "/login",
            Self::Transcript => "/login?step_up=true",
            Self::File => "/login?step_up=file",
            Self::Bank => "/login?step_up=bank",
        }
    }

    /// Where the portal explains that the sign-in did not reach what the action needs.
    fn not_met(self) -> Option<&'static str> {
        match self {
            Self::File => Some("/file/not-filed"),
            Self::Bank => Some("/bank/not-changed"),
            Self::Home | Self::Transcript => None,
        }
    }
}

struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    purpose: Purpose,
}

#[derive(Clone)]
struct Signed {
    username: String,
    subject: String,
    auth_time: i64,
    acr: String,
    amr: Vec<String>,
    /// The thumbprint of the key the tokens are bound to, in DPoP mode.
    dpop_jkt: Option<String>,
    /// What the last sign-in was made for.
    purpose: Purpose,
    /// Sent back with every form the portal shows this session.
    form_token: String,
}

/// A filed return.
#[derive(Clone)]
struct Filing {
    at: i64,
    acr: String,
    amr: Vec<String>,
}

struct Portal {
    config: PortalConfig,
    client: Client,
    /// The token endpoint and UserInfo, with DPoP proofs in DPoP mode.
    backchannel: Backchannel,
    pending: Mutex<HashMap<String, Pending>>,
    sessions: Mutex<HashMap<String, Signed>>,
    /// Returns filed, by subject.
    filings: Mutex<HashMap<String, Filing>>,
    /// Where refunds are paid, by subject.
    bank_accounts: Mutex<HashMap<String, String>>,
}

impl Portal {
    /// Whether `user`'s sign-in is strong and recent enough for `purpose`.
    fn allows(&self, user: &Signed, purpose: Purpose) -> bool {
        let age = now() - user.auth_time;
        match purpose {
            Purpose::Home => true,
            Purpose::Transcript => {
                user.purpose == Purpose::Transcript && age <= self.config.transcript_max_age_secs
            }
            Purpose::File => reaches(&user.acr, AAL2) && age <= self.config.filing_max_age_secs,
            Purpose::Bank => {
                reaches(&user.acr, AAL2_PHISHING_RESISTANT) && age <= self.config.bank_max_age_secs
            }
        }
    }

    fn filing(&self, subject: &str) -> Option<Filing> {
        self.filings.lock().ok()?.get(subject).cloned()
    }
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
    // One key for the life of this instance, made before anything is served.
    let dpop = config.dpop.then(DpopKey::generate).transpose()?;
    let portal = Arc::new(Portal {
        config,
        client,
        backchannel: Backchannel::new(http, dpop),
        pending: Mutex::new(HashMap::new()),
        sessions: Mutex::new(HashMap::new()),
        filings: Mutex::new(HashMap::new()),
        bank_accounts: Mutex::new(HashMap::new()),
    });
    Ok(Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/transcript", get(transcript))
        .route("/file", get(filing_form).post(file))
        .route("/file/not-filed", get(not_filed))
        .route("/bank", get(bank_form).post(change_bank))
        .route("/bank/not-changed", get(bank_not_changed))
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
    let filed = match portal.filing(&user.subject) {
        Some(filing) => format!("filed {}", escape(&ago(filing.at, now()))),
        None => "not filed yet".into(),
    };
    page(
        "Your account",
        &format!(
            "<h1>Welcome back</h1><p>Signed in as <strong>{name}</strong>, {when}.</p>\
<dl><dt>Signed in with</dt><dd>{methods}</dd><dt>Assurance</dt><dd>{level}</dd>\
<dt>Tokens</dt><dd id=\"tokens\">{tokens}</dd><dt>Return for 2025</dt><dd id=\"return\">{filed}</dd></dl>\
<p class=\"actions\"><a class=\"button\" href=\"/transcript\">View transcript</a> \
<a class=\"button\" href=\"/file\">File a return</a> \
<a class=\"button\" href=\"/bank\">Change bank details</a></p>{raw}",
            name = escape(&user.username),
            when = escape(&ago(user.auth_time, now())),
            methods = escape(&amr_in_words(&user.amr)),
            level = escape(&acr_in_words(&user.acr)),
            tokens = tokens_in_words(user.dpop_jkt.as_deref()),
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

#[derive(Deserialize)]
struct LoginQuery {
    /// `true` for the transcript, `file` or `bank`: a step-up for that action.
    step_up: Option<String>,
}

/// Starts a sign-in, or a step-up for an action: for the transcript, one whose PIN is
/// entered now (`max_age=0`); for filing, one with a second factor (`acr_values`); for the
/// bank details, one with a passkey (an essential `acr` claim).
async fn login(State(portal): State<Arc<Portal>>, Query(query): Query<LoginQuery>) -> Response {
    let purpose = query
        .step_up
        .as_deref()
        .and_then(Purpose::step_up)
        .unwrap_or(Purpose::Home);
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
    let max_age = |secs: i64| std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    request = match purpose {
        Purpose::Home => request,
        Purpose::Transcript => request.set_max_age(max_age(0)),
        Purpose::File => request
            .add_auth_context_value(AuthenticationContextClass::new(AAL2.into()))
            .set_max_age(max_age(portal.config.filing_max_age_secs)),
        Purpose::Bank => request
            .add_extra_param("claims", BANK_CLAIMS)
            .set_max_age(max_age(portal.config.bank_max_age_secs)),
    };
    let (url, state, nonce) = request.url();
    if let Ok(mut pending) = portal.pending.lock() {
        pending.insert(
            state.secret().clone(),
            Pending {
                verifier,
                nonce,
                purpose,
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
    error_description: Option<String>,
}

async fn callback(
    State(portal): State<Arc<Portal>>,
    jar: CookieJar,
    Query(query): Query<CallbackQuery>,
) -> Response {
    // A state is good for one answer, a code or an error.
    let pending = query
        .state
        .as_ref()
        .and_then(|state| portal.pending.lock().ok().and_then(|mut p| p.remove(state)));
    if let Some(error) = query.error {
        tracing::info!(
            %error,
            description = query.error_description.as_deref().unwrap_or_default(),
            "the provider answered with an error"
        );
        // The level an action needs was not reached: that action's own explanation.
        if error == "unmet_authentication_requirements"
            && let Some(explained) = pending.as_ref().and_then(|p| p.purpose.not_met())
        {
            return Redirect::to(explained).into_response();
        }
        return provider_said_no(&error, query.error_description.as_deref());
    }
    let (Some(pending), Some(code)) = (pending, query.code) else {
        return failed("Unknown or reused sign-in.");
    };
    let exchanged = match portal.client.exchange_code(AuthorizationCode::new(code)) {
        Ok(request) => {
            request
                .set_pkce_verifier(pending.verifier)
                .request_async(&portal.backchannel)
                .await
        }
        Err(error) => {
            return failed(&error.to_string());
        }
    };
    let tokens = match exchanged {
        Ok(tokens) => tokens,
        Err(RequestTokenError::ServerResponse(said)) => {
            return failed(&format!(
                "The code could not be exchanged: the provider answered {}.",
                said.error()
            ));
        }
        Err(_) => return failed("The code could not be exchanged."),
    };
    if let Some(why) = portal.backchannel.unbound(tokens.token_type().as_ref()) {
        return failed(why);
    }
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
            Ok(request) => request.request_async(&portal.backchannel).await.ok(),
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
        dpop_jkt: portal.backchannel.dpop().map(|key| key.jkt().to_owned()),
        purpose: pending.purpose,
        form_token: random_id(),
    };
    // The provider may answer a step-up at a lower level than asked (`acr_values` is a
    // wish), or from an older sign-in: the token decides, not the request.
    let next = match pending.purpose.not_met() {
        Some(explained) if !portal.allows(&signed, pending.purpose) => explained,
        _ => pending.purpose.page(),
    };
    let id = random_id();
    if let Ok(mut sessions) = portal.sessions.lock() {
        sessions.insert(id.clone(), signed);
    }
    let mut cookie = Cookie::new("portal_session", id);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    (jar.add(cookie), Redirect::to(next)).into_response()
}

/// The transcript needs a PIN entered for it, recently: otherwise a step-up.
async fn transcript(State(portal): State<Arc<Portal>>, jar: CookieJar) -> Response {
    let Some(user) = signed_in(&portal, &jar) else {
        return Redirect::to("/login").into_response();
    };
    if !portal.allows(&user, Purpose::Transcript) {
        return Redirect::to(Purpose::Transcript.login()).into_response();
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
        let config = PortalConfig::new(
            &format!("http://{address}"),
            "portal",
            "secret",
            "http://127.0.0.1:3000",
        );
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

    #[test]
    fn higher_levels_satisfy_lower_ones_and_unknown_ones_nothing() {
        assert!(reaches(AAL2, AAL2));
        assert!(reaches(AAL2_PHISHING_RESISTANT, AAL2));
        assert!(!reaches(PASSWORD_PIN_DEVICE, AAL2));
        assert!(!reaches(AAL2, AAL2_PHISHING_RESISTANT));
        assert!(!reaches("urn:other:acr:gold", PASSWORD_PIN));
        assert!(!reaches("", AAL2));
        assert!(reaches(PASSWORD_PIN, PASSWORD_PIN));
    }

    #[test]
    fn the_bank_claims_ask_for_the_passkey_level_as_essential() {
        assert_eq!(
            BANK_CLAIMS,
            format!(
                "{{\"id_token\":{{\"acr\":{{\"essential\":true,\"values\":[\"{AAL2_PHISHING_RESISTANT}\"]}}}}}}"
            )
        );
    }
}
