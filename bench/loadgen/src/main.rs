//! Drives an OpenID Connect provider through one benchmark scenario for a fixed time and
//! prints one JSON line: requests, rate, latency percentiles and answers by status.
//!
//! The same program loads our provider and the peer, so both are measured alike. Scenarios:
//! `discovery`, `jwks`, `client-credentials`, `introspect`, `refresh`, `code` (a signed-in
//! browser's authorization request and its code exchange) and `sign-in` (authorize, password,
//! PIN where asked, code, token, in a fresh browser each time). `--rate` turns a scenario into
//! an open loop: new iterations start at that rate whether or not earlier ones finished (a
//! flood), up to `--concurrency` at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use clap::Parser;
use rand::Rng as _;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use sha2::Digest as _;

#[derive(Parser, Clone)]
struct Args {
    /// The provider's issuer URL.
    #[arg(long)]
    base: String,
    #[arg(long)]
    scenario: String,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Iterations at once (closed loop), or at most at once with `--rate`.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Start iterations at this rate per second (open loop).
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long, default_value = "bench")]
    client_id: String,
    #[arg(long, default_value = "bench-secret")]
    client_secret: String,
    #[arg(long, default_value = "http://127.0.0.1:9/callback")]
    redirect_uri: String,
    #[arg(long, default_value = "alice")]
    username: String,
    /// Sign in as `USERNAME0` .. `USERNAME{N-1}`, one per browser in turn (0: `USERNAME`).
    #[arg(long, default_value_t = 0)]
    users: usize,
    /// Send each browser's requests with `X-Forwarded-For` naming an address of its own, as a
    /// load balancer would (the provider must trust 127.0.0.1 as its proxy).
    #[arg(long)]
    forwarded_for: bool,
    #[arg(long, default_value = "correct horse battery staple")]
    password: String,
    #[arg(long, default_value = "482916")]
    pin: String,
    /// Extra parameters for authorization requests that ask for a refresh token (the peer
    /// needs `prompt=consent` to grant `offline_access`).
    #[arg(long, default_value = "")]
    offline_extra: String,
    /// Extra parameters for the token request whose access token is introspected (the peer
    /// introspects only opaque tokens: `resource=urn:bench:opaque`).
    #[arg(long, default_value = "")]
    introspect_extra: String,
}

type Failure = String;

/// The allocator the provider runs with, so that the Argon2id bound is measured alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The endpoints, from discovery.
#[derive(Clone)]
struct Endpoints {
    authorization: String,
    token: String,
    jwks: String,
    introspection: String,
}

struct Shared {
    args: Args,
    http: reqwest::Client,
    endpoints: Endpoints,
    latencies: Mutex<Vec<Duration>>,
    statuses: Mutex<BTreeMap<String, u64>>,
    /// The last failure of each kind, to show.
    failures: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    fn count_status(&self, status: StatusCode) {
        if let Ok(mut statuses) = self.statuses.lock() {
            *statuses.entry(status.as_u16().to_string()).or_default() += 1;
        }
    }

    fn fail(&self, why: Failure) {
        if let Ok(mut failures) = self.failures.lock() {
            *failures.entry(why).or_default() += 1;
        }
    }
}

/// A browser's cookies, by name (paths and expiry are not needed for these flows), and who it
/// signs in as, from which address.
#[derive(Default)]
struct Jar(HashMap<String, String>, Browser);

#[derive(Default, Clone)]
struct Browser {
    username: Option<String>,
    address: Option<String>,
}

impl Jar {
    fn take(&mut self, headers: &HeaderMap) {
        for cookie in headers.get_all(SET_COOKIE) {
            let Ok(cookie) = cookie.to_str() else {
                continue;
            };
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let gone = value.is_empty() || cookie.to_ascii_lowercase().contains("max-age=0");
                if gone {
                    self.0.remove(name.trim());
                } else {
                    self.0.insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// The page's first form: its action and its inputs with values.
fn form(body: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = body.find("<form")?;
    let rest = &body[start..];
    let form = &rest[..rest.find("</form>")?];
    let action = attribute(form, "action").unwrap_or_default();
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        if let Some(name) = attribute(tag, "name") {
            fields.push((name, attribute(tag, "value").unwrap_or_default()));
        }
    }
    Some((action, fields))
}

fn random(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::rng().random()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Shared {
    /// A new browser: the next user in turn, and an address of its own when asked.
    fn browser(&self) -> Jar {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let username =
            (self.args.users > 0).then(|| format!("{}{}", self.args.username, n % self.args.users));
        let address = self.args.forwarded_for.then(|| {
            let mut rng = rand::rng();
            format!(
                "10.{}.{}.{}",
                rng.random::<u8>(),
                rng.random::<u8>(),
                rng.random_range(1..255u8)
            )
        });
        Jar(HashMap::new(), Browser { username, address })
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') {
            format!("{}{location}", self.args.base)
        } else {
            location.to_owned()
        }
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        jar: &mut Jar,
    ) -> Result<(StatusCode, HeaderMap, String), Failure> {
        let mut request = request;
        if !jar.0.is_empty() {
            request = request.header(reqwest::header::COOKIE, jar.header());
        }
        if let Some(address) = &jar.1.address {
            request = request.header("x-forwarded-for", address.as_str());
        }
        let response = request.send().await.map_err(|e| format!("request: {e}"))?;
        let status = response.status();
        self.count_status(status);
        let headers = response.headers().clone();
        jar.take(&headers);
        let body = response.text().await.map_err(|e| format!("body: {e}"))?;
        Ok((status, headers, body))
    }

    /// Authorization request through to the code: follows the provider's redirects and fills
    /// each form it shows (username and password, PIN) until it redirects to the client.
    async fn authorize(
        &self,
        jar: &mut Jar,
        scope: &str,
        extra: &str,
    ) -> Result<(String, String), Failure> {
        let verifier = random(32);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let mut url = url::Url::parse(&self.endpoints.authorization).map_err(|e| e.to_string())?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.args.client_id)
            .append_pair("redirect_uri", &self.args.redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", &random(8))
            .append_pair("nonce", &random(8))
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let mut url = url.to_string();
        if !extra.is_empty() {
            url = format!("{url}&{extra}");
        }
        let mut answer = self.send(self.http.get(&url), jar).await?;
        // What was last sent, to tell where a refusal came from.
        let mut step = "the authorization request";
        for _ in 0..12 {
            let (status, headers, body) = &answer;
            if status.is_redirection() {
                let location = headers
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or("a redirect without a location")?;
                if location.starts_with(&self.args.redirect_uri) {
                    let code = query_param(location, "code")
                        .ok_or_else(|| format!("no code in {location}"))?;
                    return Ok((code, verifier));
                }
                let next = self.absolute(location);
                answer = self.send(self.http.get(&next), jar).await?;
                continue;
            }
            if *status != StatusCode::OK {
                return Err(format!("{step} answered {status}"));
            }
            let (action, mut fields) =
                form(body).ok_or_else(|| "a page without a form".to_owned())?;
            let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
            let username = jar.1.username.clone().unwrap_or(self.args.username.clone());
            for (name, value) in [
                ("username", &username),
                ("password", &self.args.password),
                ("pin", &self.args.pin),
            ] {
                if names.iter().any(|n| n == name) {
                    fields.retain(|(n, _)| n != name);
                    fields.push((name.to_owned(), value.clone()));
                }
            }
            step = if names.iter().any(|n| n == "pin") {
                "the PIN form"
            } else if names.iter().any(|n| n == "password") {
                "the password form"
            } else {
                "a form"
            };
            let target = if action.is_empty() {
                url.clone()
            } else {
                self.absolute(&action)
            };
            answer = self
                .send(self.http.post(&target).form(&fields), jar)
                .await?;
        }
        Err("too many steps".into())
    }

    async fn token(&self, params: &[(&str, &str)]) -> Result<Value, Failure> {
        let mut jar = Jar::default();
        let (status, _, body) = self
            .send(
                self.http
                    .post(&self.endpoints.token)
                    .basic_auth(&self.args.client_id, Some(&self.args.client_secret))
                    .form(params),
                &mut jar,
            )
            .await?;
        if status != StatusCode::OK {
            return Err(format!("token endpoint answered {status}"));
        }
        serde_json::from_str(&body).map_err(|e| format!("token response: {e}"))
    }

    async fn exchange(&self, code: &str, verifier: &str) -> Result<Value, Failure> {
        let tokens = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.args.redirect_uri),
                ("code_verifier", verifier),
            ])
            .await?;
        if tokens["id_token"].is_string() {
            Ok(tokens)
        } else {
            Err("no ID token".into())
        }
    }

    async fn get(&self, url: &str) -> Result<(), Failure> {
        let mut jar = Jar::default();
        let (status, _, _) = self.send(self.http.get(url), &mut jar).await?;
        if status == StatusCode::OK {
            Ok(())
        } else {
            Err(format!("GET answered {status}"))
        }
    }
}

/// One kept-alive HTTP/1.1 connection for the GET scenarios, driven with hyper's own client:
/// reqwest's pool, redirect and header handling cost the generator more than discovery and
/// JWKS cost a server, and the generator's core would cap the rate.
struct Lean {
    send: hyper::client::conn::http1::SendRequest<http_body_util::Empty<hyper::body::Bytes>>,
}

impl Lean {
    async fn connect(url: &url::Url) -> Result<Self, Failure> {
        let host = url.host_str().ok_or("no host")?;
        let port = url.port_or_known_default().ok_or("no port")?;
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (send, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        Ok(Self { send })
    }

    /// GETs `url`, reads the whole body, and answers its status.
    async fn get(&mut self, url: &url::Url) -> Result<StatusCode, Failure> {
        use http_body_util::BodyExt as _;
        self.send
            .ready()
            .await
            .map_err(|e| format!("connection: {e}"))?;
        let host = url.host_str().unwrap_or_default();
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let request = hyper::Request::get(url.path())
            .header(hyper::header::HOST, authority)
            .body(http_body_util::Empty::new())
            .map_err(|e| e.to_string())?;
        let response = self
            .send
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = StatusCode::from_u16(response.status().as_u16()).map_err(|e| e.to_string())?;
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?;
        Ok(status)
    }
}

/// What one worker keeps between iterations.
#[derive(Default)]
struct Worker {
    jar: Jar,
    refresh_token: Option<String>,
    access_token: Option<String>,
    lean: Option<Lean>,
}

async fn prepare(shared: &Shared, worker: &mut Worker) -> Result<(), Failure> {
    worker.jar = shared.browser();
    match shared.args.scenario.as_str() {
        "code" => {
            // Signed in once: later authorization requests go straight back with a code.
            let (code, verifier) = shared.authorize(&mut worker.jar, "openid", "").await?;
            shared.exchange(&code, &verifier).await?;
        }
        "refresh" => {
            let extra = shared.args.offline_extra.clone();
            let (code, verifier) = shared
                .authorize(&mut worker.jar, "openid offline_access", &extra)
                .await?;
            let tokens = shared.exchange(&code, &verifier).await?;
            worker.refresh_token = tokens["refresh_token"].as_str().map(str::to_owned);
            if worker.refresh_token.is_none() {
                return Err("no refresh token".into());
            }
        }
        "introspect" => {
            let mut params = vec![("grant_type", "client_credentials")];
            let extra: Vec<(String, String)> =
                url::form_urlencoded::parse(shared.args.introspect_extra.as_bytes())
                    .into_owned()
                    .collect();
            params.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let tokens = shared.token(&params).await?;
            worker.access_token = tokens["access_token"].as_str().map(str::to_owned);
        }
        _ => {}
    }
    Ok(())
}

async fn iterate(shared: &Shared, worker: &mut Worker) -> Result<(), Failure> {
    let e = &shared.endpoints;
    match shared.args.scenario.as_str() {
        "discovery" | "jwks" => {
            let url = if shared.args.scenario == "jwks" {
                e.jwks.clone()
            } else {
                format!("{}/.well-known/openid-configuration", shared.args.base)
            };
            if shared.args.rate.is_some() {
                // Open loop: each iteration is a worker of its own; the shared pool keeps the
                // connections.
                return shared.get(&url).await;
            }
            let url = url::Url::parse(&url).map_err(|e| e.to_string())?;
            if worker.lean.is_none() {
                worker.lean = Some(Lean::connect(&url).await?);
            }
            let lean = worker.lean.as_mut().ok_or("no connection")?;
            let status = match lean.get(&url).await {
                Ok(status) => status,
                Err(why) => {
                    worker.lean = None;
                    return Err(why);
                }
            };
            shared.count_status(status);
            if status == StatusCode::OK {
                Ok(())
            } else {
                Err(format!("GET answered {status}"))
            }
        }
        "client-credentials" => {
            let tokens = shared
                .token(&[("grant_type", "client_credentials")])
                .await?;
            tokens["access_token"]
                .as_str()
                .map(drop)
                .ok_or_else(|| "no access token".into())
        }
        "introspect" => {
            let token = worker
                .access_token
                .clone()
                .ok_or("no token to introspect")?;
            let mut jar = Jar::default();
            let (status, _, body) = shared
                .send(
                    shared
                        .http
                        .post(&e.introspection)
                        .basic_auth(&shared.args.client_id, Some(&shared.args.client_secret))
                        .form(&[("token", token.as_str())]),
                    &mut jar,
                )
                .await?;
            let answer: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
            if status == StatusCode::OK && answer["active"] == true {
                Ok(())
            } else {
                Err(format!("introspection answered {status}: {body}"))
            }
        }
        "refresh" => {
            let token = worker.refresh_token.clone().ok_or("no refresh token")?;
            let tokens = shared
                .token(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                .await?;
            worker.refresh_token = tokens["refresh_token"].as_str().map(str::to_owned);
            worker
                .refresh_token
                .as_ref()
                .map(drop)
                .ok_or_else(|| "no rotated refresh token".into())
        }
        "code" => {
            let (code, verifier) = shared.authorize(&mut worker.jar, "openid", "").await?;
            shared.exchange(&code, &verifier).await.map(drop)
        }
        "sign-in" => {
            let mut jar = shared.browser();
            let (code, verifier) = shared.authorize(&mut jar, "openid", "").await?;
            shared.exchange(&code, &verifier).await.map(drop)
        }
        other => Err(format!("no scenario `{other}`")),
    }
}

async fn timed(shared: &Shared, worker: &mut Worker) {
    let started = Instant::now();
    match iterate(shared, worker).await {
        Ok(()) => {
            if let Ok(mut latencies) = shared.latencies.lock() {
                latencies.push(started.elapsed());
            }
        }
        Err(why) => shared.fail(why),
    }
}

async fn discover(http: &reqwest::Client, base: &str) -> Result<Endpoints, Failure> {
    let doc: Value = http
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .map_err(|e| format!("discovery: {e}"))?
        .json()
        .await
        .map_err(|e| format!("discovery: {e}"))?;
    let field = |name: &str| {
        doc[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("discovery has no {name}"))
    };
    Ok(Endpoints {
        authorization: field("authorization_endpoint")?,
        token: field("token_endpoint")?,
        jwks: field("jwks_uri")?,
        introspection: field("introspection_endpoint")?,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn run(args: Args) -> Result<Value, Failure> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(args.concurrency.max(1) * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let endpoints = discover(&http, &args.base).await?;
    let shared = Arc::new(Shared {
        args: args.clone(),
        http,
        endpoints,
        latencies: Mutex::default(),
        statuses: Mutex::default(),
        failures: Mutex::default(),
    });
    // Every worker prepares (signs in, fetches its token) before the clock starts.
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let mut worker = Worker::default();
        if args.rate.is_none() {
            prepare(&shared, &mut worker).await?;
        }
        workers.push(worker);
    }
    if let Ok(mut statuses) = shared.statuses.lock() {
        statuses.clear();
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    match args.rate {
        None => {
            let tasks: Vec<_> = workers
                .into_iter()
                .map(|mut worker| {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        while Instant::now() < deadline {
                            timed(&shared, &mut worker).await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.map_err(|e| e.to_string())?;
            }
        }
        Some(rate) => {
            // Open loop: one iteration every 1/rate seconds, at most `concurrency` in flight;
            // an iteration that finds no free slot is counted as dropped by the generator.
            let slots = Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut tasks = Vec::new();
            while Instant::now() < deadline {
                ticker.tick().await;
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    shared.fail("generator saturated (not sent)".into());
                    continue;
                };
                let shared = shared.clone();
                tasks.push(tokio::spawn(async move {
                    let mut worker = Worker::default();
                    timed(&shared, &mut worker).await;
                    drop(permit);
                }));
            }
            for task in tasks {
                task.await.map_err(|e| e.to_string())?;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = shared
        .latencies
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    latencies.sort();
    let statuses = shared
        .statuses
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    let failures = shared
        .failures
        .lock()
        .map(|f| f.clone())
        .unwrap_or_default();
    Ok(json!({
        "scenario": args.scenario,
        "iterations": latencies.len(),
        "seconds": elapsed,
        "per_second": latencies.len() as f64 / elapsed,
        "p50_ms": percentile(&latencies, 50.0),
        "p99_ms": percentile(&latencies, 99.0),
        "max_ms": latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        "statuses": statuses,
        "failures": failures,
    }))
}

/// Argon2id verifications per second on this core at the provider's default parameters: the
/// bound on sign-ins (each verifies a password and a PIN).
async fn argon2(seconds: f64) -> Result<Value, Failure> {
    let pool = idp_core::hashing::HashPool::new(
        idp_core::hashing::HashParams::default(),
        1,
        Duration::from_secs(60),
    )
    .map_err(|e| e.to_string())?;
    let phc = pool
        .hash("correct horse battery staple".into(), None)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut verified = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        let ok = pool
            .verify(
                idp_core::hashing::Turn::New,
                "correct horse battery staple".into(),
                phc.clone(),
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
        if !ok {
            return Err("the hash did not verify".into());
        }
        verified += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(json!({
        "scenario": "argon2",
        "iterations": verified,
        "seconds": elapsed,
        "per_second": verified as f64 / elapsed,
        "ms_each": elapsed * 1000.0 / verified.max(1) as f64,
    }))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("loadgen: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let report = if args.scenario == "argon2" {
        runtime.block_on(argon2(args.seconds))
    } else {
        runtime.block_on(run(args))
    };
    match report {
        Ok(report) => {
            println!("{report}");
            std::process::ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("loadgen: {why}");
            std::process::ExitCode::FAILURE
        }
    }
}
