//! The provider in-process: the real router and stores (SQLite in a temporary directory),
//! driven with `tower::ServiceExt::oneshot` and a manual clock, and a browser that keeps
//! cookies and submits forms as found.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::clock::ManualClock;
use idp_core::model::{Client, ClientMetadata, NewUser, SigningAlg, TokenEndpointAuthMethod};
use idp_core::store::Stores;
use idp_server::config::Settings;
use idp_server::state::AppState;
use sha2::{Digest as _, Sha256};
use tower::ServiceExt as _;

mod browser;
pub mod dpop;
pub use browser::Browser;

pub const PASSWORD: &str = "correct horse battery staple";
pub const PIN: &str = "482916";
pub const REDIRECT: &str = "https://rp.example/callback";
/// The PKCE verifier of every request `authorize` makes.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-pages";

pub struct Idp {
    pub state: AppState,
    pub clock: ManualClock,
    app: Router,
    _dir: tempfile::TempDir,
}

impl Idp {
    pub async fn start() -> Self {
        Self::with(|_| {}).await
    }

    /// With settings changed by `adjust` first.
    pub async fn with(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::wrapping(adjust, |stores| stores).await
    }

    /// With settings changed by `adjust`, and the stores passed through `wrap` once open.
    pub async fn wrapping(
        adjust: impl FnOnce(&mut Settings),
        wrap: impl FnOnce(Stores) -> Stores,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::load(None).unwrap();
        settings.data_dir = dir.path().join("data");
        settings.database_url = format!("sqlite://{}/idp.db", settings.data_dir.display());
        // The smallest parameters the server accepts: these tests are about the steps.
        settings.hashing.memory_kib = 8192;
        settings.hashing.iterations = 1;
        adjust(&mut settings);
        let clock = ManualClock::new(1_800_000_000);
        let state = AppState::build_wrapping(settings, Arc::new(clock.clone()), wrap)
            .await
            .unwrap();
        let app = idp_server::routes::router(state.clone());
        Self {
            state,
            clock,
            app,
            _dir: dir,
        }
    }

    /// A person with `PASSWORD` and `PIN` and a confirmed e-mail address; their id.
    pub async fn user(&self, username: &str) -> String {
        let state = &self.state;
        let id = format!("id-{username}");
        let user = NewUser {
            id: id.clone(),
            username: username.to_owned(),
            email: format!("{username}@example.com"),
            email_verified: true,
            phone: None,
            phone_verified: false,
            password_hash: state.hasher.hash(PASSWORD.to_owned(), None).await.unwrap(),
            pin_hash: state.pins.hash_new_pin(PIN).await.unwrap(),
            created_at: state.now(),
        };
        state.stores.users.create_user(&user).await.unwrap();
        id
    }

    /// A public client (PKCE) redirecting to `REDIRECT`; `first_party` skips consent.
    pub async fn client(&self, id: &str, first_party: bool) {
        let client = Client {
            id: id.to_owned(),
            name: format!("Client {id}"),
            secret_hash: None,
            redirect_uris: vec![REDIRECT.to_owned()],
            token_endpoint_auth_method: TokenEndpointAuthMethod::None,
            id_token_signed_response_alg: SigningAlg::ES256,
            admin: false,
            created_at: self.state.now(),
            metadata: ClientMetadata {
                first_party,
                ..ClientMetadata::default()
            },
        };
        self.state
            .stores
            .clients
            .create_client(&client)
            .await
            .unwrap();
    }

    /// A confidential client (`client_secret_basic`) redirecting to `REDIRECT`, first party;
    /// its secret.
    pub async fn confidential_client(&self, id: &str) -> String {
        self.confidential_client_with(id, |_| {}).await
    }

    /// `confidential_client`, changed by `adjust` before it is stored.
    pub async fn confidential_client_with(
        &self,
        id: &str,
        adjust: impl FnOnce(&mut Client),
    ) -> String {
        let secret = format!("secret of {id}");
        let mut client = Client {
            id: id.to_owned(),
            name: format!("Client {id}"),
            secret_hash: Some(idp_core::random::sha256_b64(&secret)),
            redirect_uris: vec![REDIRECT.to_owned()],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            id_token_signed_response_alg: SigningAlg::ES256,
            admin: false,
            created_at: self.state.now(),
            metadata: ClientMetadata {
                first_party: true,
                ..ClientMetadata::default()
            },
        };
        adjust(&mut client);
        let clients = &self.state.stores.clients;
        clients.create_client(&client).await.unwrap();
        secret
    }

    /// The latest one-time code sent to `recipient` (the outbox: no SMTP server here).
    pub async fn code_sent_to(&self, recipient: &str) -> Option<String> {
        let messages = self.state.stores.outbox.list().await.unwrap();
        messages
            .iter()
            .rev()
            .find(|(_, m)| m.recipient == recipient)
            .and_then(|(_, m)| {
                m.body
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|word| word.len() == 6)
                    .map(str::to_owned)
            })
    }

    /// How many messages went to `recipient` (any recipient when empty) whose subject or text
    /// holds `needle`.
    pub async fn messages(&self, recipient: &str, needle: &str) -> usize {
        let messages = self.state.stores.outbox.list().await.unwrap();
        messages
            .iter()
            .filter(|(_, m)| recipient.is_empty() || m.recipient == recipient)
            .filter(|(_, m)| m.subject.contains(needle) || m.body.contains(needle))
            .count()
    }

    /// Waits for a notice to `recipient` holding `needle` to reach the outbox (notices are sent
    /// by a task of their own, after the answer), up to a deadline that only bounds a failure;
    /// then how many there are.
    pub async fn notice(&self, recipient: &str, needle: &str) -> usize {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let sent = self.messages(recipient, needle).await;
            if sent > 0 || std::time::Instant::now() > deadline {
                return sent;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// How many PIN recovery codes went out.
    pub async fn recovery_codes_sent(&self) -> usize {
        let messages = self.state.stores.outbox.list().await.unwrap();
        messages
            .iter()
            .filter(|(_, m)| m.subject.contains("recover your PIN"))
            .count()
    }

    pub async fn sessions_of(&self, user_id: &str) -> usize {
        let now = self.state.now();
        let sessions = self.state.stores.sessions.list_sessions(user_id, now);
        sessions.await.unwrap().len()
    }

    pub async fn devices_of(&self, user_id: &str) -> usize {
        let devices = self.state.stores.devices.list_devices(user_id);
        devices.await.unwrap().len()
    }

    /// A form posted to a JSON endpoint (`/token`, `/revoke`, ...) as a relying party would:
    /// the answer's status, headers and JSON.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let request = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(form).unwrap()))
            .unwrap();
        self.call(request).await
    }

    /// A form posted to `path` with HTTP Basic client authentication when `auth` (id, secret)
    /// is given: the answer's status, headers and JSON.
    pub async fn post_as_client(
        &self,
        path: &str,
        auth: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let mut request = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some((id, secret)) = auth {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            request = request.header(header::AUTHORIZATION, format!("Basic {basic}"));
        }
        let body = Body::from(serde_urlencoded::to_string(form).unwrap());
        self.call(request.body(body).unwrap()).await
    }

    /// JSON posted to `path` (dynamic registration): the answer's status and JSON.
    pub async fn post_json(
        &self,
        path: &str,
        json: &serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        self.json_request("POST", path, None, Some(json)).await
    }

    /// A request with a bearer token when given and a JSON body when given: the answer's
    /// status and JSON (`null` when it has none).
    pub async fn json_request(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        json: Option<&serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match json {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let (status, _, body) = self.call(request.body(body).unwrap()).await;
        (status, body)
    }

    /// Any request, as a client other than a browser sends it: the answer's status, headers
    /// and JSON (`null` when the body is not JSON).
    pub async fn call(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, headers, body)
    }

    /// The answer to `request` as it is: status, headers and body text (a JWT, a page).
    pub async fn call_text(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// The claims of the ID token in a token response, once its signature, issuer and expiry
    /// check out with the provider's keys.
    pub fn id_token_claims(&self, tokens: &serde_json::Value) -> serde_json::Value {
        let token = tokens["id_token"].as_str().unwrap();
        let state = &self.state;
        state
            .keys()
            .verify(token, "JWT", state.issuer(), state.now())
            .unwrap()
    }

    /// Rows of `table` matching the SQL condition `filter`, read from the database file.
    pub fn count(&self, table: &str, filter: &str) -> i64 {
        let url = &self.state.settings.database_url;
        let path = url.strip_prefix("sqlite://").unwrap();
        let connection = rusqlite::Connection::open(path).unwrap();
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {filter}");
        connection.query_row(&sql, [], |row| row.get(0)).unwrap()
    }

    pub async fn pin_hash_of(&self, user_id: &str) -> Option<String> {
        let user = self.state.stores.users.find_user(user_id).await.unwrap();
        user.unwrap().pin_hash
    }
}

/// The `/authorize` URL of a request by `client_id` with extra parameters (or others in
/// place of the defaults).
pub fn authorize(client_id: &str, extra: &[(&str, &str)]) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email"),
        ("state", "st"),
        ("nonce", "n"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    // A parameter in `extra` takes the place of the default of that name.
    pairs.retain(|(name, _)| !extra.iter().any(|(other, _)| other == name));
    pairs.extend_from_slice(extra);
    let query = serde_urlencoded::to_string(&pairs).unwrap();
    format!("/authorize?{query}")
}

/// The token endpoint's answer to exchanging the code in `answer` (a redirect to the relying
/// party) for `client_id`, as a public client with PKCE.
pub async fn exchange(
    idp: &Idp,
    client_id: &str,
    answer: &Page,
) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = exchange_with_headers(idp, client_id, answer).await;
    (status, body)
}

/// `exchange`, with the answer's headers.
pub async fn exchange_with_headers(
    idp: &Idp,
    client_id: &str,
    answer: &Page,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let code = crate::page::param(answer.to(), "code").unwrap();
    idp.post_form(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

/// The token endpoint's answer to exchanging the code in `answer` as a confidential client
/// (`auth`: its id and secret, HTTP Basic), with PKCE.
pub async fn exchange_code(
    idp: &Idp,
    auth: Option<(&str, &str)>,
    answer: &Page,
) -> (StatusCode, serde_json::Value) {
    let code = crate::page::param(answer.to(), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, _, body) = idp.post_as_client("/token", auth, &form).await;
    (status, body)
}

pub use crate::page::Page;

impl Page {
    /// Whether this is the relying party receiving a code.
    pub fn gives_code(&self) -> bool {
        self.location
            .as_deref()
            .is_some_and(|to| to.starts_with(REDIRECT) && to.contains("code="))
    }
}
