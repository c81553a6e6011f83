//! The harness: a running provider, a browser with a cookie jar, and a relying party.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreClient, CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
    CoreTokenResponse,
};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::sinks::{Inbox, smtp_sink};

pub const PASSWORD: &str = "correct horse battery staple";
/// The purpose named in new-device code messages.
pub const DEVICE_CODE: &str = "sign in on a new device";
pub const PIN: &str = "482916";

/// A provider process on its own port, data directory and database.
pub struct TestIdp {
    pub issuer: String,
    /// Where the process listens: the issuer itself, except behind a (pretend) TLS proxy.
    pub address: String,
    pub dir: tempfile::TempDir,
    /// What the provider e-mailed (empty when it keeps messages in its outbox instead).
    pub mail: Inbox,
    child: Child,
    /// What the process writes to stderr (its logs), read as it comes so that a process
    /// that logs much never blocks on a full pipe.
    stderr: Logs,
    extra_env: Vec<(String, String)>,
    backend: Option<SharedBackend>,
}

/// A child's stderr, read by a thread of its own until it closes.
struct Logs {
    text: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Logs {
    fn of(child: &mut Child) -> Self {
        let text = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let reader = child.stderr.take().map(|mut pipe| {
            let text = text.clone();
            std::thread::spawn(move || {
                use std::io::Read as _;
                let mut chunk = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    text.lock().expect("logs").extend_from_slice(&chunk[..n]);
                }
            })
        });
        Self { text, reader }
    }

    /// Everything written, once the process has ended and closed its stderr.
    fn finish(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        String::from_utf8_lossy(&self.text.lock().expect("logs")).into_owned()
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL database of its own (and a Redis key prefix of its own) for one test, on the
/// servers named by `IDP_TEST_POSTGRES_URL` and `IDP_TEST_REDIS_URL`. Dropped with the test.
pub struct SharedBackend {
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    admin_url: String,
    name: String,
}

/// Whether this run puts every provider on PostgreSQL (and Redis): `IDP_TEST_BACKEND=postgres`.
pub fn on_postgres() -> bool {
    std::env::var("IDP_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

impl SharedBackend {
    /// A fresh database, or `None` when `IDP_TEST_POSTGRES_URL` is not set.
    pub async fn create() -> Option<Self> {
        use sqlx::Connection as _;
        let admin_url = std::env::var("IDP_TEST_POSTGRES_URL").ok()?;
        let name = format!("idp_e2e_{}", random_suffix());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to IDP_TEST_POSTGRES_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let mut url = url::Url::parse(&admin_url).expect("IDP_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Some(Self {
            database_url: url.to_string(),
            redis_url: std::env::var("IDP_TEST_REDIS_URL").ok(),
            redis_prefix: format!("{name}:"),
            admin_url,
            name,
        })
    }

    /// The settings that point a provider at this backend.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("IDP_DATABASE_URL".to_owned(), self.database_url.clone())];
        if let Some(redis) = &self.redis_url {
            env.push(("IDP_REDIS_URL".to_owned(), redis.clone()));
            env.push(("IDP_REDIS_KEY_PREFIX".to_owned(), self.redis_prefix.clone()));
        }
        env
    }

    /// Rows of `table` matching `filter`, plus the matching records Redis holds for the
    /// tables it takes over (`sessions`, and `ephemeral` with `1` or `kind = '...'`).
    pub async fn count(&self, table: &str, filter: &str) -> i64 {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&self.database_url)
            .await
            .expect("open database");
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {filter}");
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .expect("count");
        let Some(redis_url) = &self.redis_url else {
            return rows;
        };
        let pattern = match (table, filter) {
            ("sessions", "TRUE") => "session:*".to_owned(),
            ("ephemeral", "TRUE") => "eph:*".to_owned(),
            ("ephemeral", kind) => match kind
                .strip_prefix("kind = '")
                .and_then(|k| k.strip_suffix('\''))
            {
                Some(kind) => format!("eph:{kind}:*"),
                None => panic!("count: unsupported filter `{kind}` on Redis"),
            },
            ("sessions", other) => panic!("count: unsupported filter `{other}` on Redis"),
            _ => return rows,
        };
        let client = redis::Client::open(redis_url.as_str()).expect("redis url");
        let mut redis = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}{pattern}", self.redis_prefix))
            .query_async(&mut redis)
            .await
            .expect("redis keys");
        rows + i64::try_from(keys.len()).expect("count")
    }
}

impl Drop for SharedBackend {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside any runtime: a thread of its own runs the statement.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                use sqlx::Connection as _;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

pub fn random_suffix() -> String {
    use rand::Rng as _;
    format!("{:016x}", rand::rng().random::<u64>())
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

pub fn idp_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_idp"))
}

/// The `idp` command with every setting pointing into `dir`.
pub fn idp_command(dir: &Path, issuer: &str, extra_env: &[(String, String)]) -> Command {
    let mut command = Command::new(idp_binary());
    command
        .current_dir(dir)
        .env("IDP_ISSUER", issuer)
        .env(
            "IDP_LISTEN",
            issuer.split_once("://").map_or(issuer, |(_, a)| a),
        )
        .env("IDP_DATA_DIR", dir.join("data"))
        .env(
            "IDP_DATABASE_URL",
            format!("sqlite://{}", dir.join("data/idp.db").display()),
        )
        .env("IDP_LOG", "warn");
    // Every test's browsers share one address (127.0.0.1): the per-address limits are off
    // so that they do not get in the way of what a test is about. The tests of the limits
    // set their own.
    for (limit, value) in [
        ("IDP_LIMITS__SIGNUPS_PER_HOUR", "0"),
        ("IDP_LIMITS__REGISTRATIONS_PER_HOUR", "0"),
        ("IDP_LIMITS__RECOVERIES_PER_HOUR", "0"),
        ("IDP_LIMITS__PIN_TRIES_PER_15_MINUTES", "0"),
        ("IDP_LIMITS__CODE_TRIES_PER_15_MINUTES", "0"),
    ] {
        command.env(limit, value);
    }
    for (key, value) in extra_env {
        command.env(key, value);
    }
    command
}

impl TestIdp {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts the provider with an SMTP server of its own that keeps what it receives.
    pub async fn start_with(extra_env: &[(&str, &str)]) -> Self {
        let (smtp, mail) = smtp_sink().await;
        let mut env = vec![("IDP_SMTP_URL", smtp.as_str())];
        env.extend_from_slice(extra_env);
        Self::launch(&env, mail, "http").await
    }

    /// Starts the provider with no SMTP server: e-mail goes to its outbox.
    pub async fn start_with_outbox() -> Self {
        Self::launch(&[], Inbox::default(), "http").await
    }

    /// Starts the provider as it runs behind a proxy that ends TLS: its issuer is https, and
    /// it is reached at `address` over plain http (as the proxy reaches it).
    pub async fn start_behind_tls_proxy() -> Self {
        let (smtp, mail) = smtp_sink().await;
        Self::launch(&[("IDP_SMTP_URL", smtp.as_str())], mail, "https").await
    }

    async fn launch(extra_env: &[(&str, &str)], mail: Inbox, scheme: &str) -> Self {
        let backend = if on_postgres() {
            Some(
                SharedBackend::create()
                    .await
                    .expect("IDP_TEST_BACKEND=postgres needs IDP_TEST_POSTGRES_URL"),
            )
        } else {
            None
        };
        let mut env: Vec<(String, String)> =
            backend.as_ref().map(SharedBackend::env).unwrap_or_default();
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let extra_env = env;
        // The port is free when chosen; if another process takes it first, try another.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = free_port();
            let issuer = format!("{scheme}://127.0.0.1:{port}");
            let address = format!("http://127.0.0.1:{port}");
            let mut child = idp_command(dir.path(), &issuer, &extra_env)
                .arg("serve")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn idp serve");
            let stderr = Logs::of(&mut child);
            let mut idp = TestIdp {
                issuer,
                address,
                dir,
                mail: mail.clone(),
                child,
                stderr,
                extra_env: extra_env.clone(),
                backend: None,
            };
            if idp.wait_ready().await {
                idp.backend = backend;
                return idp;
            }
        }
        panic!("idp serve did not start");
    }

    async fn wait_ready(&mut self) -> bool {
        let url = format!("{}/.well-known/openid-configuration", self.address);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                eprintln!("idp serve exited with {status}: {}", self.stderr.finish());
                return false;
            }
            if let Ok(response) = reqwest::get(&url).await
                && response.status() == StatusCode::OK
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Sends SIGTERM and waits for the process to end: its exit status and what it logged.
    pub fn terminate(&mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        self.terminate_wait()
    }

    /// Waits for the process to end (a signal was sent): its exit status and what it logged.
    pub fn terminate_wait(&mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().expect("wait");
        (status, self.stderr.finish())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process outright (SIGKILL: no shutdown, nothing flushed by it), then starts
    /// it again on the same database and address.
    pub async fn kill_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for _ in 0..20 {
            self.child = idp_command(self.dir.path(), &self.issuer, &self.extra_env)
                .arg("serve")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn idp serve");
            self.stderr = Logs::of(&mut self.child);
            if self.wait_ready().await {
                return;
            }
            // The address may still be held for a moment.
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("idp serve did not start again");
    }

    /// Runs `idp ARGS` against this provider's database, with `stdin` as input.
    pub fn cli(&self, args: &[&str], stdin: &str) -> Output {
        self.cli_with(&[], args, stdin)
    }

    /// Runs `idp ARGS` as [`TestIdp::cli`] does, with the settings `env` on top of the
    /// provider's own.
    pub fn cli_with(&self, env: &[(&str, &str)], args: &[&str], stdin: &str) -> Output {
        use std::io::Write as _;
        let mut command = idp_command(self.dir.path(), &self.issuer, &self.extra_env);
        command.envs(env.iter().copied());
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn idp");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("idp output")
    }

    pub fn create_user(&self, username: &str) -> String {
        let email = format!("{username}@example.com");
        let out = self.cli(
            &["user", "create", "--username", username, "--email", &email],
            &format!("{PASSWORD}\n{PIN}\n"),
        );
        assert!(
            out.status.success(),
            "user create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout).expect("user create prints JSON");
        json["sub"].as_str().expect("sub").to_owned()
    }

    pub fn create_client(&self, args: &[&str]) -> Value {
        let mut all = vec!["client", "create"];
        all.extend_from_slice(args);
        let out = self.cli(&all, "");
        assert!(
            out.status.success(),
            "client create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("client create prints JSON")
    }

    /// Runs `sql` straight on the database, as someone with access to it could.
    pub async fn execute(&self, sql: &str) -> u64 {
        use sqlx::Connection as _;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if let Some(backend) = &self.backend {
            let mut conn = sqlx::PgConnection::connect(&backend.database_url)
                .await
                .expect("open database");
            return sqlx::query(sql)
                .execute(&mut conn)
                .await
                .expect("execute")
                .rows_affected();
        }
        let url = format!("sqlite://{}", self.dir.path().join("data/idp.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("open database");
        sqlx::query(sql)
            .execute(&mut conn)
            .await
            .expect("execute")
            .rows_affected()
    }

    /// The number of rows in `table`, read straight from the database (and Redis).
    pub async fn count(&self, table: &str, filter: &str) -> i64 {
        use sqlx::Connection as _;
        if let Some(backend) = &self.backend {
            return backend.count(table, filter).await;
        }
        let url = format!("sqlite://{}", self.dir.path().join("data/idp.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("open database");
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {filter}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .expect("count")
    }
}

/// A browser: keeps cookies, follows no redirect by itself.
pub struct Browser {
    pub http: reqwest::Client,
    /// Where requests go.
    pub base: String,
    /// The provider's issuer: links to it go to `base`.
    issuer: String,
    mail: Inbox,
    /// The cookies, when the test reads or plants them.
    pub cookies: Option<std::sync::Arc<CookieRecord>>,
}

/// A cookie jar that keeps every cookie by name, whatever its attributes (so a Secure cookie
/// too, as a browser would behind a TLS proxy), sends them all, and records every
/// `Set-Cookie` header it is given.
#[derive(Default)]
pub struct CookieRecord {
    jar: std::sync::Mutex<Vec<(String, String)>>,
    headers: std::sync::Mutex<Vec<String>>,
}

impl CookieRecord {
    /// The value of the cookie `name`, if the browser has it.
    pub fn get(&self, name: &str) -> Option<String> {
        let jar = self.jar.lock().expect("jar");
        jar.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    /// Sets a cookie as a sibling site or a script might.
    pub fn plant(&self, name: &str, value: &str) {
        let mut jar = self.jar.lock().expect("jar");
        jar.retain(|(n, _)| n != name);
        jar.push((name.to_owned(), value.to_owned()));
    }

    /// Every `Set-Cookie` header received, in order.
    pub fn set_cookie_headers(&self) -> Vec<String> {
        self.headers.lock().expect("headers").clone()
    }
}

impl reqwest::cookie::CookieStore for CookieRecord {
    fn set_cookies(
        &self,
        headers: &mut dyn Iterator<Item = &reqwest::header::HeaderValue>,
        _url: &url::Url,
    ) {
        for header in headers {
            let text = header.to_str().expect("Set-Cookie is text").to_owned();
            let pair = text.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            let removed = text.to_ascii_lowercase().contains("max-age=0");
            {
                let mut jar = self.jar.lock().expect("jar");
                jar.retain(|(n, _)| n != name.trim());
                if !removed {
                    jar.push((name.trim().to_owned(), value.trim().to_owned()));
                }
            }
            self.headers.lock().expect("headers").push(text);
        }
    }

    fn cookies(&self, _url: &url::Url) -> Option<reqwest::header::HeaderValue> {
        let jar = self.jar.lock().expect("jar");
        if jar.is_empty() {
            return None;
        }
        let line = jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        Some(line.parse().expect("cookie header"))
    }
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    /// The `Retry-After` header, when there is one.
    pub retry_after: Option<String>,
    pub body: String,
}

impl Page {
    /// The page's first form: its action and every input that has a value (hidden inputs
    /// included), as a browser would submit them.
    pub fn form(&self) -> (String, Vec<(String, String)>) {
        let start = self.body.find("<form").expect("the page has a form");
        let form = &self.body[start..];
        let end = form.find("</form>").expect("the form ends");
        let form = &form[..end];
        let action = attribute(form, "action").unwrap_or_default();
        let mut fields = Vec::new();
        for input in form.split("<input").skip(1) {
            let tag = &input[..input.find('>').unwrap_or(input.len())];
            if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
                fields.push((name, value));
            }
        }
        (unescape(&action), fields)
    }

    /// The first link whose target contains `part`.
    pub fn link(&self, part: &str) -> String {
        self.body
            .split("href=\"")
            .skip(1)
            .map(|s| unescape(s.split('"').next().unwrap_or_default()))
            .find(|href| href.contains(part))
            .unwrap_or_else(|| panic!("no link to {part} in {}", self.body))
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    /// The browser's HTTP client, cookies and all, for requests the helpers do not make.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn new(idp: &TestIdp) -> Self {
        Self::with_headers(idp, &[])
    }

    /// A browser that sends these headers with every request.
    pub fn with_headers(idp: &TestIdp, headers: &[(&'static str, &str)]) -> Self {
        let mut defaults = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            defaults.insert(*name, value.parse().expect("header value"));
        }
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(defaults);
        Self::at(idp, http, None)
    }

    /// A browser whose cookies the test can read and plant (see [`CookieRecord`]).
    pub fn recording(idp: &TestIdp) -> Self {
        let cookies = std::sync::Arc::new(CookieRecord::default());
        let http = reqwest::Client::builder()
            .cookie_provider(cookies.clone())
            .redirect(reqwest::redirect::Policy::none());
        Self::at(idp, http, Some(cookies))
    }

    fn at(
        idp: &TestIdp,
        http: reqwest::ClientBuilder,
        cookies: Option<std::sync::Arc<CookieRecord>>,
    ) -> Self {
        Self {
            http: http.build().expect("browser"),
            base: idp.address.clone(),
            issuer: idp.issuer.clone(),
            mail: idp.mail.clone(),
            cookies,
        }
    }

    /// A browser for the provider at `base` that opens a new connection for every request,
    /// so that a load balancer in front of several nodes spreads its requests over them.
    pub fn unpooled(base: &str, mail: &Inbox) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .expect("browser");
        Self {
            http,
            base: base.to_owned(),
            issuer: base.to_owned(),
            mail: mail.clone(),
            cookies: None,
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else if let Some(path) = url.strip_prefix(&self.issuer) {
            format!("{}{path}", self.base)
        } else {
            url.to_owned()
        }
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().expect("location").to_owned());
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().expect("retry-after").to_owned());
        let body = response.text().await.expect("body");
        Page {
            status,
            location,
            retry_after,
            body,
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        Self::page(self.http.get(self.absolute(url)).send().await.expect("GET")).await
    }

    pub async fn post(&self, url: &str, fields: &[(String, String)]) -> Page {
        Self::page(
            self.http
                .post(self.absolute(url))
                .form(fields)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Follows redirects that stay on the provider; stops at one that leaves it.
    pub async fn follow(&self, mut page: Page) -> Page {
        while page.status.is_redirection() {
            let location = page.location.clone().expect("redirect has a location");
            if !location.starts_with('/')
                && !location.starts_with(&self.base)
                && !location.starts_with(&self.issuer)
            {
                break;
            }
            page = self.get(&location).await;
        }
        page
    }

    /// Fills the page's form with `values` over its own fields and submits it.
    pub async fn submit(&self, page: &Page, values: &[(&str, &str)]) -> Page {
        let (action, mut fields) = page.form();
        for (name, value) in values {
            fields.retain(|(n, _)| n != name);
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
        let response = self.post(&action, &fields).await;
        self.follow(response).await
    }

    /// From an authorization URL to the login page.
    pub async fn open(&self, url: &str) -> Page {
        let first = self.get(url).await;
        self.follow(first).await
    }

    /// Password, then PIN; returns the page after the PIN (a redirect to the RP on success).
    pub async fn sign_in(
        &self,
        login_page: &Page,
        username: &str,
        password: &str,
        pin: &str,
    ) -> Page {
        assert_eq!(
            login_page.status,
            StatusCode::OK,
            "login page: {}",
            login_page.body
        );
        assert!(
            login_page.contains("name=\"password\""),
            "not the login page: {}",
            login_page.body
        );
        let pin_page = self
            .submit(
                login_page,
                &[("username", username), ("password", password)],
            )
            .await;
        assert!(
            pin_page.contains("name=\"pin\""),
            "not the PIN page: {}",
            pin_page.body
        );
        self.submit_pin(&pin_page, pin).await
    }

    /// Submits the PIN and, on a browser the provider does not know yet, the new-device code
    /// it e-mails.
    pub async fn submit_pin(&self, pin_page: &Page, pin: &str) -> Page {
        let codes_before = self.mail.count(DEVICE_CODE);
        let answer = self.submit(pin_page, &[("pin", pin)]).await;
        self.pass_device_check(answer, codes_before).await
    }

    /// Completes the new-device check if `page` asks for it, with the code e-mailed after
    /// `codes_before` earlier ones.
    pub async fn pass_device_check(&self, page: Page, codes_before: usize) -> Page {
        if !page.contains("Confirm it is you") {
            return page;
        }
        let code = self.mail.code("", DEVICE_CODE, codes_before).await;
        self.submit(&page, &[("code", &code)]).await
    }

    pub fn device_codes_sent(&self) -> usize {
        self.mail.count(DEVICE_CODE)
    }
}

impl Browser {
    /// Signs `username` up through the pages (address `USERNAME@example.com`, the test
    /// password and PIN): the page after the PIN.
    pub async fn sign_up(&self, username: &str) -> Page {
        let form = self.get("/signup").await;
        let email = format!("{username}@example.com");
        let details = [
            ("username", username),
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ];
        let pin_page = self.submit(&form, &details).await;
        self.submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
            .await
    }

    /// Opens the account page signed out and gives `username`'s right password: the PIN step.
    pub async fn at_pin_step(&self, username: &str) -> Page {
        let login = self.open("/account").await;
        let page = self
            .submit(&login, &[("username", username), ("password", PASSWORD)])
            .await;
        assert!(page.contains("name=\"pin\""), "{}", page.body);
        page
    }

    /// Signs in to the account page with password and PIN; returns the account page.
    pub async fn open_account(&self, username: &str, pin: &str) -> Page {
        let login = self.open("/account").await;
        let done = self.sign_in(&login, username, PASSWORD, pin).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        assert!(done.contains("Your account"), "{}", done.body);
        done
    }

    /// From the account page, asks for a code texted to the account's phone, to confirm it.
    pub async fn ask_to_confirm_phone(&self, account: &Page) -> Page {
        let page = self
            .submit_to(
                account,
                "/account/contact",
                &[
                    ("channel", "sms"),
                    ("value", ""),
                    ("current_password", PASSWORD),
                ],
            )
            .await;
        assert!(page.contains("Enter your code"), "{}", page.body);
        page
    }

    /// Submits the account page form whose action is `action`.
    pub async fn submit_to(&self, page: &Page, action: &str, values: &[(&str, &str)]) -> Page {
        let body = unescape(&page.body);
        let at = body
            .find(&format!("action=\"{action}\""))
            .unwrap_or_else(|| panic!("no form {action}"));
        let start = body[..at].rfind("<form").expect("form start");
        let form = Page {
            status: page.status,
            location: None,
            retry_after: None,
            body: body[start..].to_owned(),
        };
        self.submit(&form, values).await
    }
}

/// The query parameters of a URL.
pub fn query(url: &str) -> Vec<(String, String)> {
    let parsed = url::Url::parse(url).expect("absolute URL");
    parsed.query_pairs().into_owned().collect()
}

pub fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A relying party built on the `openidconnect` crate, configured by discovery.
pub struct RelyingParty {
    pub client: Rp,
    pub http: openidconnect::reqwest::Client,
    pub redirect_uri: String,
}

pub struct AuthStart {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: Option<PkceCodeVerifier>,
}

impl RelyingParty {
    pub async fn discover(
        idp: &TestIdp,
        client_id: &str,
        secret: Option<&str>,
        redirect_uri: &str,
    ) -> Self {
        Self::discover_issuer(&idp.issuer, client_id, secret, redirect_uri).await
    }

    /// The relying party of a client that `idp client create` made (its printed JSON).
    pub async fn of_client(idp: &TestIdp, client: &Value, redirect_uri: &str) -> Self {
        Self::discover(
            idp,
            client["client_id"].as_str().expect("client_id"),
            client["client_secret"].as_str(),
            redirect_uri,
        )
        .await
    }

    pub async fn discover_issuer(
        issuer: &str,
        client_id: &str,
        secret: Option<&str>,
        redirect_uri: &str,
    ) -> Self {
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .build()
            .expect("rp http client");
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(issuer.to_owned()).expect("issuer"),
            &http,
        )
        .await
        .expect("discovery");
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id.to_owned()),
            secret.map(|s| ClientSecret::new(s.to_owned())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).expect("redirect uri"));
        Self {
            client,
            http,
            redirect_uri: redirect_uri.to_owned(),
        }
    }

    /// An authorization URL with PKCE, a nonce and `scopes`, plus any extra parameters.
    pub fn start(&self, scopes: &[&str], extra: &[(&str, &str)], pkce: bool) -> AuthStart {
        let mut request = self.client.authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in scopes {
            request = request.add_scope(Scope::new((*scope).to_owned()));
        }
        for (name, value) in extra {
            request = request.add_extra_param(*name, *value);
        }
        let verifier = if pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            Some(verifier)
        } else {
            None
        };
        let (url, state, nonce) = request.url();
        AuthStart {
            url: url.to_string(),
            state,
            nonce,
            verifier,
        }
    }

    /// The whole flow for `username` in `browser`: authorization request, password, PIN, and
    /// the code exchange.
    pub async fn sign_in(
        &self,
        browser: &Browser,
        username: &str,
        start: &mut AuthStart,
    ) -> CoreTokenResponse {
        let login = browser.open(&start.url).await;
        let done = browser.sign_in(&login, username, PASSWORD, PIN).await;
        let location = done.location.expect("a redirect to the relying party");
        let code = param(&location, "code").expect("a code");
        self.exchange(&code, start.verifier.take())
            .await
            .expect("code exchange")
    }

    pub async fn exchange(
        &self,
        code: &str,
        verifier: Option<PkceCodeVerifier>,
    ) -> Result<CoreTokenResponse, String> {
        let mut request = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .expect("token endpoint");
        if let Some(verifier) = verifier {
            request = request.set_pkce_verifier(verifier);
        }
        request
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(body) => body.error().to_string(),
                other => format!("{other:?}"),
            })
    }

    pub fn verify_id_token(
        &self,
        token: &CoreTokenResponse,
        nonce: &Nonce,
        alg: CoreJwsSigningAlgorithm,
    ) -> CoreIdTokenClaims {
        use openidconnect::TokenResponse as _;
        let id_token = token.id_token().expect("an ID token");
        let verifier = self.client.id_token_verifier().set_allowed_algs(vec![alg]);
        id_token
            .claims(&verifier, nonce)
            .expect("the ID token validates")
            .clone()
    }
}

/// An access token from the token endpoint at `issuer` for `client` (as `idp client create`
/// printed it) acting for itself, with `scope`; empty when refused.
pub async fn client_token(issuer: &str, client: &Value, scope: &str) -> String {
    let response: Value = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth(
            client["client_id"].as_str().expect("client_id"),
            client["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token response");
    response["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Submits the PIN page's form with `wrong` as the PIN `times` times at once, from `browser`,
/// to `base` (the provider, or a load balancer in front of several nodes); how many of them
/// were evaluated ("That PIN is not correct"). Every other answer must be the lock page.
pub async fn concurrent_wrong_pins(
    browser: &Browser,
    base: &str,
    pin_page: &Page,
    wrong: &str,
    times: usize,
) -> usize {
    let (action, mut fields) = pin_page.form();
    fields.push(("pin".into(), wrong.into()));
    let attempts: Vec<_> = (0..times)
        .map(|_| {
            let (http, url, fields) = (
                browser.http.clone(),
                format!("{base}{action}"),
                fields.clone(),
            );
            tokio::spawn(async move {
                let response = http.post(url).form(&fields).send().await.expect("POST");
                (response.status(), response.text().await.expect("body"))
            })
        })
        .collect();
    let mut evaluated = 0;
    for attempt in attempts {
        let (status, body) = attempt.await.expect("attempt");
        if body.contains("That PIN is not correct") {
            evaluated += 1;
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
            assert!(body.contains("Too many wrong PINs"), "{body}");
        }
    }
    evaluated
}

/// Signs `username` up in a browser of its own that opens a connection per request (so that
/// a server killed mid-way fails only the requests in flight); the username once the provider
/// said the account is ready. Panics (ending the task) when the server stops answering.
pub async fn sign_up(issuer: &str, mail: &Inbox, username: String) -> Option<String> {
    let done = Browser::unpooled(issuer, mail).sign_up(&username).await;
    done.contains("Your account is ready").then_some(username)
}

/// The status UserInfo answers to a request with this bearer token.
pub async fn userinfo_status(issuer: &str, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{issuer}/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo")
        .status()
}
