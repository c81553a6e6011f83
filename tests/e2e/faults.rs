//! Faults in what the provider depends on, under load: PostgreSQL cut or slow, Redis
//! blackholed, a node frozen, SQLite's disk full. Through each: every failure is a 503 with
//! `Retry-After` (never a 500), `/readyz` names the fault at once and quickly, the provider
//! recovers by itself, no acknowledged write is lost, PIN lockout stays exact, nobody is
//! throttled for the outage, and every security event reaches the audit chain.
//!
//! The multi-node scenarios (module `cluster`) need `IDP_TEST_POSTGRES_URL` and
//! `IDP_TEST_REDIS_URL`, and run once, with the other multi-node tests. The full disk needs
//! root (to mount a small tmpfs) and runs only on SQLite.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::small_disk::SmallDisk;
use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// How long `/readyz` may take to answer, whatever the fault.
const READY_WITHIN: Duration = Duration::from_millis(1500);
/// How long after the fault ends the provider must be ready and serving again.
const RECOVERY_WITHIN: Duration = Duration::from_secs(10);
/// How long the load waits for an answer before counting it as none.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);

/// Everything that went against the contract, gathered so that a run reports all of it.
#[derive(Default)]
struct Findings(Mutex<Vec<String>>);

impl Findings {
    fn check(&self, ok: bool, finding: impl FnOnce() -> String) {
        if !ok {
            let finding = finding();
            eprintln!("FINDING: {finding}");
            self.0.lock().unwrap().push(finding);
        }
    }

    fn assert_none(&self, scenario: &str) {
        let findings = self.0.lock().unwrap();
        assert!(
            findings.is_empty(),
            "{scenario}: {} finding(s):\n- {}",
            findings.len(),
            findings.join("\n- ")
        );
    }
}

/// One answer the load got: `None` when there was none within [`ANSWER_WITHIN`].
#[derive(Debug, Clone)]
struct Answer {
    what: &'static str,
    status: Option<StatusCode>,
    retry_after: bool,
}

/// Every answer the load and the probes got.
#[derive(Clone, Default)]
struct Ledger(Arc<Mutex<Vec<Answer>>>);

impl Ledger {
    fn note(&self, what: &'static str, status: Option<StatusCode>, retry_after: bool) {
        self.0.lock().unwrap().push(Answer {
            what,
            status,
            retry_after,
        });
    }

    fn page(&self, what: &'static str, page: Option<&Page>) {
        self.note(
            what,
            page.map(|p| p.status),
            page.is_some_and(|p| p.retry_after.is_some()),
        );
    }

    fn count(&self, status: StatusCode) -> usize {
        let answers = self.0.lock().unwrap();
        answers.iter().filter(|a| a.status == Some(status)).count()
    }

    /// Every failure a 503 with `Retry-After`, every 429 with it too, an answer to everything,
    /// and nobody throttled (the load gets no password wrong).
    fn judge(&self, findings: &Findings) {
        let answers = self.0.lock().unwrap();
        let mut wrong: std::collections::BTreeMap<String, usize> = Default::default();
        for answer in answers.iter() {
            let verdict = match answer.status {
                None => Some("no answer".to_owned()),
                Some(StatusCode::SERVICE_UNAVAILABLE) if !answer.retry_after => {
                    Some("503 without Retry-After".to_owned())
                }
                Some(StatusCode::SERVICE_UNAVAILABLE) => None,
                Some(StatusCode::TOO_MANY_REQUESTS) => Some(format!(
                    "429 (throttled for the outage){}",
                    if answer.retry_after {
                        ""
                    } else {
                        " without Retry-After"
                    }
                )),
                Some(status) if status.is_server_error() => Some(status.to_string()),
                Some(_) => None,
            };
            if let Some(verdict) = verdict {
                *wrong
                    .entry(format!("{}: {verdict}", answer.what))
                    .or_default() += 1;
            }
        }
        let total = answers.len();
        let unavailable = answers
            .iter()
            .filter(|a| a.status == Some(StatusCode::SERVICE_UNAVAILABLE))
            .count();
        eprintln!("{total} answers, {unavailable} of them 503");
        for (what, times) in wrong {
            findings.check(false, || format!("{what} ({times}x)"));
        }
    }
}

/// A database to count rows in: the cluster's PostgreSQL, or a node's SQLite file.
enum Db<'a> {
    Shared(&'a SharedBackend),
    Sqlite(PathBuf),
}

impl Db<'_> {
    async fn count(&self, table: &str, filter: &str) -> i64 {
        use sqlx::Connection as _;
        match self {
            Self::Shared(backend) => backend.count(table, filter).await,
            Self::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                let sql = format!("SELECT COUNT(*) FROM {table} WHERE {filter}");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
        }
    }
}

/// The provider as the tests reach it: where requests go, its mail, a client and its RP.
#[derive(Clone)]
struct Site {
    base: String,
    client: Value,
    rp: Arc<RelyingParty>,
    ledger: Ledger,
}

impl Site {
    async fn new(base: &str, client: Value) -> Self {
        let rp = RelyingParty::discover_issuer(
            base,
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
            REDIRECT,
        )
        .await;
        Self {
            base: base.to_owned(),
            client,
            rp: Arc::new(rp),
            ledger: Ledger::default(),
        }
    }

    fn visitor(&self) -> Visitor {
        Visitor::new(&self.base)
    }

    /// A POST to the token endpoint (or another client-authenticated one) as the client: its
    /// status and JSON, noted; `None` without an answer.
    async fn post(&self, what: &'static str, path: &str, form: &[(&str, &str)]) -> Option<Value> {
        let http = reqwest::Client::builder()
            .timeout(ANSWER_WITHIN)
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let response = http
            .post(format!("{}{path}", self.base))
            .basic_auth(
                self.client["client_id"].as_str().unwrap(),
                self.client["client_secret"].as_str(),
            )
            .form(form)
            .send()
            .await;
        let Ok(response) = response else {
            self.ledger.note(what, None, false);
            return None;
        };
        let status = response.status();
        self.ledger.note(
            what,
            Some(status),
            response.headers().contains_key("retry-after"),
        );
        let mut body: Value = response.json().await.unwrap_or(Value::Null);
        body["status"] = status.as_u16().into();
        Some(body)
    }

    /// A whole sign-in (authorization request, password, PIN, code exchange) with a browser of
    /// its own, each answer noted: the token response, or `None` at the first refusal.
    async fn sign_in(&self, username: &str) -> Option<Value> {
        let visitor = self.visitor();
        let mut start = self.rp.start(&["offline_access"], &[], true);
        let login = visitor.open(&start.url).await;
        self.ledger.page("authorization request", login.as_ref());
        let login = login.filter(|p| p.is("login"))?;
        let pin_page = visitor
            .submit(&login, &[("username", username), ("password", PASSWORD)])
            .await;
        self.ledger.page("password", pin_page.as_ref());
        let pin_page = pin_page.filter(|p| p.is("pin"))?;
        let done = visitor.submit(&pin_page, &[("pin", PIN)]).await;
        self.ledger.page("PIN", done.as_ref());
        let code = param(done?.location.as_deref()?, "code")?;
        let verifier = start.verifier.take().unwrap();
        let tokens = self
            .post(
                "code exchange",
                "/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", verifier.secret()),
                ],
            )
            .await?;
        (tokens["status"] == 200).then_some(tokens)
    }

    /// A whole sign-up through the pages: the username once told the account is ready.
    async fn sign_up(&self, username: String) -> Option<String> {
        let visitor = self.visitor();
        let form = visitor.open("/signup").await;
        self.ledger.page("sign-up form", form.as_ref());
        let email = format!("{username}@example.com");
        let details = [
            ("username", username.as_str()),
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ];
        let pin_page = visitor.submit(&form?, &details).await;
        self.ledger.page("sign-up details", pin_page.as_ref());
        let pin_page = pin_page.filter(|p| p.is("signup-pin"))?;
        let done = visitor
            .submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
            .await;
        self.ledger.page("sign-up PIN", done.as_ref());
        done?.is("signed-up").then_some(username)
    }

    async fn refresh(&self, token: &str) -> Option<Value> {
        self.post(
            "refresh",
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }
}

/// A browser for the load: keeps cookies, follows redirects on the provider, and gives up
/// (`None`) on a request without an answer or a page without the form it needs, where the
/// harness's [`Browser`] would panic.
#[derive(Clone)]
struct Visitor {
    http: reqwest::Client,
    base: String,
}

impl Visitor {
    fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .timeout(ANSWER_WITHIN)
            .build()
            .unwrap();
        Self {
            http,
            base: base.to_owned(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    async fn page(request: reqwest::RequestBuilder) -> Option<Page> {
        let response = request.send().await.ok()?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (location, retry_after) = (header("location"), header("retry-after"));
        let status = response.status();
        let body = response.text().await.ok()?;
        Some(Page {
            status,
            location,
            retry_after,
            body,
        })
    }

    /// Follows redirects that stay on the provider.
    async fn follow(&self, mut page: Page) -> Option<Page> {
        while page.status.is_redirection() {
            let location = page.location.clone()?;
            if !location.starts_with('/') && !location.starts_with(&self.base) {
                break;
            }
            page = Self::page(self.http.get(self.absolute(&location))).await?;
        }
        Some(page)
    }

    async fn open(&self, url: &str) -> Option<Page> {
        let first = Self::page(self.http.get(self.absolute(url))).await?;
        self.follow(first).await
    }

    /// Submits the page's form with `values` over its own fields.
    async fn submit(&self, page: &Page, values: &[(&str, &str)]) -> Option<Page> {
        if !page.contains("<form") {
            return None;
        }
        let (action, mut fields) = page.form();
        for (name, value) in values {
            fields.retain(|(n, _)| n != name);
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
        let posted = Self::page(self.http.post(self.absolute(&action)).form(&fields)).await?;
        self.follow(posted).await
    }
}

/// A rotating refresh token as its client keeps it: the newest, and those it replaced.
#[derive(Debug, Default)]
struct Chain {
    current: String,
    spent: Vec<String>,
    /// A refresh had no answer, or a refusal followed a 503: whether it rotated is unknown, so
    /// the chain proves nothing.
    unknown: bool,
    /// The last answer was a 503.
    after_outage: bool,
    /// A refusal other than a 503: the client lost its grant.
    lost: Option<String>,
}

/// Client credentials, then introspection of the token, until stopped.
async fn token_loop(site: Site, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let form = [("grant_type", "client_credentials")];
        if let Some(token) = site.post("client credentials", "/token", &form).await
            && token["status"] == 200
        {
            let access = token["access_token"].as_str().unwrap();
            let form = [("token", access)];
            if let Some(seen) = site.post("introspection", "/introspect", &form).await
                && seen["status"] == 200
                && seen["active"] != true
            {
                site.ledger.note("introspection: inactive", None, false);
            }
        }
        pause().await;
    }
}

/// The load: sign-ins, sign-ups, refreshes, client credentials with introspection, each in
/// a loop of its own until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    chains: Vec<Arc<Mutex<Chain>>>,
    signed_up: Arc<Mutex<Vec<String>>>,
    sign_ins: Arc<std::sync::atomic::AtomicUsize>,
}

impl Load {
    /// `signers` sign in in turn (one loop each); `chains` start from these refresh tokens.
    fn start(site: &Site, signers: &[&str], refresh_tokens: Vec<String>, sign_ups: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        let sign_ins = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for username in signers {
            let (site, stop, done) = (site.clone(), stop.clone(), sign_ins.clone());
            let username = (*username).to_owned();
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    if site.sign_in(&username).await.is_some() {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    pause().await;
                }
            }));
        }
        let chains: Vec<_> = refresh_tokens
            .into_iter()
            .map(|current| {
                Arc::new(Mutex::new(Chain {
                    current,
                    ..Chain::default()
                }))
            })
            .collect();
        for chain in &chains {
            let (site, stop, chain) = (site.clone(), stop.clone(), chain.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let current = chain.lock().unwrap().current.clone();
                    let answer = site.refresh(&current).await;
                    {
                        let mut chain = chain.lock().unwrap();
                        match answer {
                            None => {
                                chain.unknown = true;
                                return;
                            }
                            Some(body) if body["status"] == 200 => {
                                let next = body["refresh_token"].as_str().unwrap().to_owned();
                                let spent = std::mem::replace(&mut chain.current, next);
                                chain.spent.push(spent);
                                chain.after_outage = false;
                            }
                            // A server error changed nothing the client knows of.
                            Some(body) if body["status"].as_u64().unwrap_or(0) >= 500 => {
                                chain.after_outage = true;
                            }
                            // A connection cut while the rotation's commit was on its way
                            // leaves its outcome unknown to the server too: the 503 may
                            // hide a rotation that landed, and the retry is then a replay,
                            // which ends the grant (RFC 9700 §4.14.2). Not a lost write:
                            // none was acknowledged.
                            Some(body) if chain.after_outage => {
                                eprintln!("a refresh refused after a 503 (its rotation's commit may have landed unacknowledged): {body}");
                                chain.unknown = true;
                                return;
                            }
                            Some(body) => {
                                chain.lost = Some(body.to_string());
                                return;
                            }
                        }
                    }
                    pause().await;
                }
            }));
        }
        tasks.push(tokio::spawn(token_loop(site.clone(), stop.clone())));
        let signed_up = Arc::new(Mutex::new(Vec::new()));
        if sign_ups {
            let (site, stop, signed_up) = (site.clone(), stop.clone(), signed_up.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    if let Some(username) = site.sign_up(format!("joiner{n}")).await {
                        signed_up.lock().unwrap().push(username);
                    }
                    pause().await;
                }
            }));
        }
        Self {
            stop,
            tasks,
            chains,
            signed_up,
            sign_ins,
        }
    }

    /// `loops` more loops of token traffic at once (client credentials, then introspection).
    fn add_token_loops(&mut self, site: &Site, loops: usize) {
        for _ in 0..loops {
            let stop = self.stop.clone();
            self.tasks
                .push(tokio::spawn(token_loop(site.clone(), stop)));
        }
    }

    fn sign_ins(&self) -> usize {
        self.sign_ins.load(Ordering::SeqCst)
    }

    async fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks.drain(..) {
            task.await.unwrap();
        }
    }

    /// After recovery: every refresh the client was told of stands (the newest token works,
    /// the one before it is spent), and every sign-up told "ready" is in the database.
    async fn check_writes(&self, site: &Site, db: &Db<'_>, findings: &Findings) {
        for chain in &self.chains {
            let chain = std::mem::take(&mut *chain.lock().unwrap());
            if let Some(lost) = &chain.lost {
                findings.check(false, || format!("a refresh token was refused: {lost}"));
                continue;
            }
            if chain.unknown {
                continue;
            }
            let newest = site.refresh(&chain.current).await.unwrap_or_default();
            findings.check(newest["status"] == 200, || {
                format!(
                    "the newest refresh token (after {} rotations) no longer works: {newest}",
                    chain.spent.len()
                )
            });
            if let Some(spent) = chain.spent.last() {
                let again = site.refresh(spent).await.unwrap_or_default();
                findings.check(again["error"] == "invalid_grant", || {
                    format!("a rotated refresh token worked again: {again}")
                });
            }
        }
        let signed_up = self.signed_up.lock().unwrap().clone();
        for username in signed_up {
            let rows = db
                .count(
                    "users",
                    &format!("username = '{username}' AND pin_hash IS NOT NULL"),
                )
                .await;
            findings.check(rows == 1, || {
                format!("{username} was told the account is ready, but it is not there")
            });
        }
    }
}

/// Between one request of a loop and the next.
async fn pause() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// What `/readyz` answered and how long it took; no status when it did not answer at all.
async fn readyz(node: &str) -> (Option<StatusCode>, Value, Duration) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let started = Instant::now();
    match http.get(format!("{node}/readyz")).send().await {
        Err(_) => (None, Value::Null, started.elapsed()),
        Ok(response) => {
            let status = response.status();
            let retry_after = response.headers().contains_key("retry-after");
            let mut body: Value = response.json().await.unwrap_or(Value::Null);
            body["retry_after_header"] = retry_after.into();
            (Some(status), body, started.elapsed())
        }
    }
}

/// Polls `/readyz` of `node` until `until` holds for an answer (true) or `deadline` passes
/// (false); each answer within [`READY_WITHIN`], else a finding.
async fn watch_ready(
    node: &str,
    within: Duration,
    findings: &Findings,
    until: impl Fn(Option<StatusCode>, &Value) -> bool,
) -> (bool, Value) {
    let deadline = Instant::now() + within;
    let mut slowest: Option<(Duration, Value)> = None;
    let mut bare_503: Option<Value> = None;
    let reached = loop {
        let (status, body, took) = readyz(node).await;
        if took > READY_WITHIN && slowest.as_ref().is_none_or(|(t, _)| took > *t) {
            slowest = Some((took, body.clone()));
        }
        if status == Some(StatusCode::SERVICE_UNAVAILABLE) && body["retry_after_header"] != true {
            bare_503 = Some(body.clone());
        }
        if until(status, &body) {
            break (true, body);
        }
        if Instant::now() > deadline {
            break (false, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if let Some((took, body)) = slowest {
        findings.check(false, || {
            format!("/readyz of {node} took {took:?} (answered {body})")
        });
    }
    if let Some(body) = bare_503 {
        findings.check(false, || {
            format!("/readyz of {node} answered 503 without Retry-After: {body}")
        });
    }
    reached
}

/// `/readyz` of every node names the fault: 503 and `database`, `redis` as expected (`None`:
/// not asserted).
async fn expect_not_ready(
    nodes: &[String],
    database: Option<&[&str]>,
    redis: Option<&[&str]>,
    findings: &Findings,
) {
    for node in nodes {
        let named = |status: Option<StatusCode>, body: &Value| {
            status == Some(StatusCode::SERVICE_UNAVAILABLE)
                && body["status"] == "unavailable"
                && database.is_none_or(|d| d.iter().any(|d| body["database"] == *d))
                && redis.is_none_or(|r| r.iter().any(|r| body["redis"] == *r))
        };
        let (named, body) = watch_ready(node, Duration::from_secs(5), findings, named).await;
        findings.check(named, || {
            format!(
                "/readyz of {node} during the fault: {body}, expected 503 with database {database:?}, redis {redis:?}"
            )
        });
    }
}

/// After the fault: every node ready again, and a sign-in through `site` completing, within
/// [`RECOVERY_WITHIN`]. Panics (the rest would prove nothing) when it does not recover.
async fn expect_recovery(nodes: &[String], site: &Site, username: &str, findings: &Findings) {
    let ended = Instant::now();
    for node in nodes {
        let ok = |status: Option<StatusCode>, _: &Value| status == Some(StatusCode::OK);
        let (ready, body) = watch_ready(node, Duration::from_secs(30), findings, ok).await;
        assert!(ready, "{node} never became ready again: {body}");
        findings.check(body["database"] == "ok", || {
            format!("/readyz ready without `database: ok`: {body}")
        });
    }
    let ready_after = ended.elapsed();
    loop {
        if site.sign_in(username).await.is_some() {
            break;
        }
        assert!(
            ended.elapsed() < Duration::from_secs(30),
            "no sign-in completes after the fault"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let serving_after = ended.elapsed();
    eprintln!("ready {ready_after:?}, serving {serving_after:?} after the fault ended");
    findings.check(serving_after <= RECOVERY_WITHIN, || {
        format!("recovery took {serving_after:?} (ready after {ready_after:?})")
    });
}

/// The sign-in rules probed across the fault: a person with two wrong PINs before it, one who
/// keeps posting the right password during it, and wrong passwords that raise audit events.
struct Probes {
    pinned: Visitor,
    pin_page: Page,
    /// Wrong PINs evaluated so far (the allowance is 5).
    pins_evaluated: usize,
    wrong: Visitor,
    wrong_login: Page,
    /// Wrong passwords answered as such during the fault: each an event to keep.
    wrong_answered: usize,
    patient: Visitor,
    patient_login: Page,
    /// Right-password posts refused with 503 during the fault.
    patient_refused: usize,
    wrong_before: i64,
}

const NOT_THE_PIN: &str = "000000";

impl Probes {
    async fn prepare(site: &Site, db: &Db<'_>) -> Self {
        let login_page = |visitor: Visitor| {
            let url = site.rp.start(&[], &[], true).url;
            async move {
                let page = visitor.open(&url).await.expect("the login page");
                assert!(page.is("login"), "{}", page.body);
                (visitor, page)
            }
        };
        let (pinned, login) = login_page(site.visitor()).await;
        let pin_page = pinned
            .submit(&login, &[("username", "pinned"), ("password", PASSWORD)])
            .await
            .expect("the PIN page");
        assert!(pin_page.is("pin"), "{}", pin_page.body);
        for _ in 0..2 {
            let wrong = pinned.submit(&pin_page, &[("pin", NOT_THE_PIN)]).await;
            assert!(wrong.is_some_and(|w| wrong_pin_counted(&w)));
        }
        let (wrong, wrong_login) = login_page(site.visitor()).await;
        let (patient, patient_login) = login_page(site.visitor()).await;
        Self {
            pinned,
            pin_page,
            pins_evaluated: 2,
            wrong,
            wrong_login,
            wrong_answered: 0,
            patient,
            patient_login,
            patient_refused: 0,
            wrong_before: db.count("audit_log", "kind = 'password_wrong'").await,
        }
    }

    /// During the fault: three wrong PINs, three wrong passwords (for a username that needs
    /// no lookup, and for real ones), eight right-password posts until one goes through.
    async fn during(&mut self, site: &Site) {
        let ledger = &site.ledger;
        for _ in 0..3 {
            let answer = self
                .pinned
                .submit(&self.pin_page, &[("pin", NOT_THE_PIN)])
                .await;
            ledger.page("wrong PIN", answer.as_ref());
            if answer.is_some_and(|a| wrong_pin_counted(&a)) {
                self.pins_evaluated += 1;
            }
        }
        for username in ["no such person!", "patient", "pinned"] {
            let answer = self
                .wrong
                .submit(
                    &self.wrong_login,
                    &[("username", username), ("password", "not the password")],
                )
                .await;
            ledger.page("wrong password", answer.as_ref());
            if answer.is_some_and(|a| a.status == StatusCode::UNAUTHORIZED) {
                self.wrong_answered += 1;
            }
        }
        for _ in 0..8 {
            let answer = self
                .patient
                .submit(
                    &self.patient_login,
                    &[("username", "patient"), ("password", PASSWORD)],
                )
                .await;
            ledger.page("password (patient)", answer.as_ref());
            match answer.map(|a| a.status) {
                Some(StatusCode::SERVICE_UNAVAILABLE) => self.patient_refused += 1,
                // Throttled (noted in the ledger): the person keeps trying.
                Some(StatusCode::TOO_MANY_REQUESTS) => {}
                _ => break,
            }
        }
    }

    /// At once after recovery: the patient person is not throttled for the outage.
    async fn after_recovery(&self, site: &Site, findings: &Findings) {
        let again = site.visitor();
        let login = again
            .open(&site.rp.start(&[], &[], true).url)
            .await
            .expect("the login page");
        let answer = again
            .submit(&login, &[("username", "patient"), ("password", PASSWORD)])
            .await;
        site.ledger
            .page("password (patient, after)", answer.as_ref());
        let status = answer.as_ref().map(|a| a.status);
        findings.check(answer.is_some_and(|a| a.is("pin")), || {
            format!(
                "after {} right-password posts refused with 503 during the fault, the right password answers {status:?} once the store is back",
                self.patient_refused,
            )
        });
    }

    /// After recovery: the PIN allowance exact, the wrong passwords in the audit log.
    async fn after(&self, site: &Site, db: &Db<'_>, findings: &Findings) {
        let before = self.pins_evaluated;
        let tries = (0..20).map(|_| self.pinned.submit(&self.pin_page, &[("pin", NOT_THE_PIN)]));
        let answers = futures_util::future::join_all(tries).await;
        let evaluated = answers
            .iter()
            .filter(|a| a.as_ref().is_some_and(wrong_pin_counted))
            .count();
        for answer in &answers {
            site.ledger.page("wrong PIN (after)", answer.as_ref());
        }
        findings.check(before + evaluated == 5, || {
            format!(
                "PIN lockout not exact: {before} wrong PINs evaluated before and during the fault, {evaluated} after (allowance 5)"
            )
        });
        let locked = db
            .count("users", "username = 'pinned' AND pin_failures = 5")
            .await;
        findings.check(locked == 1, || "pinned is not locked at 5 failures".into());
        let lock_events = db.count("audit_log", "kind = 'pin_locked'").await;
        findings.check(lock_events == 1, || {
            format!("{lock_events} pin_locked events")
        });

        let deadline = Instant::now() + RECOVERY_WITHIN;
        let expected = self.wrong_before + i64::try_from(self.wrong_answered).unwrap();
        let mut logged;
        loop {
            logged = db.count("audit_log", "kind = 'password_wrong'").await;
            if logged >= expected || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "{} wrong passwords answered during the fault; {} password_wrong events before, {logged} after",
            self.wrong_answered, self.wrong_before
        );
        findings.check(logged >= expected, || {
            format!(
                "audit events lost: {} wrong passwords answered during the fault, {} password_wrong rows added",
                self.wrong_answered,
                logged - self.wrong_before
            )
        });
    }
}

/// After recovery: `idp audit verify` passes, and no event waits any more.
async fn expect_audit_whole(verify: std::process::Output, node: &str, findings: &Findings) {
    findings.check(verify.status.success(), || {
        format!(
            "idp audit verify: {}",
            String::from_utf8_lossy(&verify.stderr).trim()
        )
    });
    let deadline = Instant::now() + RECOVERY_WITHIN;
    let waiting = loop {
        let metrics = reqwest::get(format!("{node}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let waiting = metrics
            .lines()
            .find(|line| line.starts_with("idp_audit_events_waiting "))
            .map(|line| line.rsplit(' ').next().unwrap().to_owned());
        if waiting.as_deref() == Some("0") || Instant::now() > deadline {
            break waiting;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    findings.check(waiting.as_deref() == Some("0"), || {
        format!("metric idp_audit_events_waiting after recovery: {waiting:?}")
    });
}

/// The multi-node scenarios: two nodes on PostgreSQL and Redis, each link through a fault
/// proxy, behind a load balancer.
mod cluster {
    use super::*;
    use crate::cluster::{Cluster, Links};
    use crate::fault_proxy::{FaultProxy, Mode, Modes};

    struct Rig {
        cluster: Cluster,
        database: FaultProxy,
        redis: FaultProxy,
        site: Site,
        nodes: Vec<String>,
        findings: Findings,
    }

    impl Rig {
        async fn start(health_checks: bool) -> Option<Self> {
            Self::start_with(health_checks, &[]).await
        }

        /// `start`, with these settings besides.
        async fn start_with(health_checks: bool, settings: &[(&str, &str)]) -> Option<Self> {
            let (Ok(postgres), Ok(redis)) = (
                std::env::var("IDP_TEST_POSTGRES_URL"),
                std::env::var("IDP_TEST_REDIS_URL"),
            ) else {
                eprintln!(
                    "skipped: the fault scenarios on several nodes need IDP_TEST_POSTGRES_URL and IDP_TEST_REDIS_URL"
                );
                return None;
            };
            let database = FaultProxy::in_front_of(&postgres).await;
            let redis = FaultProxy::in_front_of(&redis).await;
            let links = Links {
                database: Some(database.addr),
                redis: Some(redis.addr),
                health_checks,
            };
            let mut env = vec![("IDP_NEW_DEVICE__ENABLED", "false"), ("IDP_LOG", "error")];
            env.extend_from_slice(settings);
            let cluster = Cluster::start_with(2, &env, links).await?;
            for username in ["alice", "bob", "carol", "pinned", "patient"] {
                cluster.create_user(username);
            }
            let client =
                cluster.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
            let site = Site::new(cluster.issuer(), client).await;
            let nodes = (0..2).map(|n| cluster.node_url(n)).collect();
            Some(Self {
                cluster,
                database,
                redis,
                site,
                nodes,
                findings: Findings::default(),
            })
        }

        fn db(&self) -> Db<'_> {
            Db::Shared(&self.cluster.backend)
        }

        /// Refresh tokens to rotate under load, from sign-ins before the fault.
        async fn refresh_tokens(&self, n: usize) -> Vec<String> {
            let mut tokens = Vec::new();
            for _ in 0..n {
                let signed_in = self.site.sign_in("carol").await.expect("a sign-in");
                tokens.push(signed_in["refresh_token"].as_str().unwrap().to_owned());
            }
            tokens
        }

        /// The checks after every scenario, then the verdict.
        async fn finish(&self, load: &Load, probes: &Probes, scenario: &str) {
            let db = self.db();
            probes.after(&self.site, &db, &self.findings).await;
            load.check_writes(&self.site, &db, &self.findings).await;
            let verify = self.cluster.try_cli(&["audit", "verify"], "");
            expect_audit_whole(verify, &self.nodes[0], &self.findings).await;
            self.site.ledger.judge(&self.findings);
            self.findings.assert_none(scenario);
        }
    }

    #[tokio::test]
    async fn a_postgres_cut_under_mixed_load() {
        let Some(rig) = Rig::start(false).await else {
            return;
        };
        let mut probes = Probes::prepare(&rig.site, &rig.db()).await;
        let tokens = rig.refresh_tokens(2).await;
        let mut load = Load::start(&rig.site, &["alice", "bob"], tokens, true);
        // Under load for a moment, then PostgreSQL goes away.
        let deadline = Instant::now() + Duration::from_secs(10);
        while load.sign_ins() < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        rig.database.cut();
        expect_not_ready(
            &rig.nodes,
            Some(&["unreachable"]),
            Some(&["ok"]),
            &rig.findings,
        )
        .await;
        probes.during(&rig.site).await;
        // The load goes on meeting the cut (more 503s come) before the database returns.
        let refused = rig.site.ledger.count(StatusCode::SERVICE_UNAVAILABLE);
        let deadline = Instant::now() + Duration::from_secs(15);
        while rig.site.ledger.count(StatusCode::SERVICE_UNAVAILABLE) <= refused {
            assert!(
                Instant::now() < deadline,
                "the load was not refused any more during the cut"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        rig.database.restore();
        expect_recovery(&rig.nodes, &rig.site, "alice", &rig.findings).await;
        probes.after_recovery(&rig.site, &rig.findings).await;
        load.stop().await;
        rig.finish(&load, &probes, "PostgreSQL cut").await;
    }

    #[tokio::test]
    async fn a_slow_postgres_still_lets_people_sign_in_beside_refresh_traffic() {
        // Eight connections a node: token traffic may hold six of them.
        let Some(rig) = Rig::start_with(false, &[("IDP_DATABASE_MAX_CONNECTIONS", "8")]).await
        else {
            return;
        };
        let mut probes = Probes::prepare(&rig.site, &rig.db()).await;
        let tokens = rig.refresh_tokens(4).await;
        let mut load = Load::start(&rig.site, &[], tokens, false);
        // More token requests at once than the connections token traffic may hold on both
        // nodes: sign-ins get through only on the connections kept for them.
        load.add_token_loops(&rig.site, 16);
        rig.database
            .set(Modes::both(Mode::Delay(Duration::from_millis(200))));
        // Readiness answers in time whatever it says.
        let answered = |status: Option<StatusCode>, _: &Value| status.is_some();
        for node in &rig.nodes {
            let (ok, body) =
                watch_ready(node, Duration::from_secs(2), &rig.findings, answered).await;
            rig.findings.check(ok, || {
                format!("/readyz of {node} under a slow database: {body}")
            });
        }
        for username in ["alice", "bob"] {
            let started = Instant::now();
            let signed_in = rig.site.sign_in(username).await;
            let took = started.elapsed();
            eprintln!("a sign-in under a slow database took {took:?}");
            rig.findings.check(signed_in.is_some(), || {
                format!("{username} could not sign in under a slow database ({took:?})")
            });
        }
        probes.during(&rig.site).await;
        rig.database.restore();
        expect_recovery(&rig.nodes, &rig.site, "alice", &rig.findings).await;
        probes.after_recovery(&rig.site, &rig.findings).await;
        load.stop().await;
        rig.finish(&load, &probes, "slow PostgreSQL").await;
    }

    #[tokio::test]
    async fn a_blackholed_redis() {
        let Some(rig) = Rig::start(false).await else {
            return;
        };
        let mut probes = Probes::prepare(&rig.site, &rig.db()).await;
        let tokens = rig.refresh_tokens(2).await;
        let mut load = Load::start(&rig.site, &["alice"], tokens, true);
        rig.redis.blackhole();
        expect_not_ready(
            &rig.nodes,
            Some(&["ok"]),
            Some(&["timed_out", "unreachable"]),
            &rig.findings,
        )
        .await;
        probes.during(&rig.site).await;
        rig.redis.restore();
        expect_recovery(&rig.nodes, &rig.site, "alice", &rig.findings).await;
        probes.after_recovery(&rig.site, &rig.findings).await;
        load.stop().await;
        rig.finish(&load, &probes, "Redis blackholed").await;
    }

    #[tokio::test]
    async fn a_frozen_node_is_passed_over_and_comes_back() {
        let Some(rig) = Rig::start(true).await else {
            return;
        };
        let mut probes = Probes::prepare(&rig.site, &rig.db()).await;
        let tokens = rig.refresh_tokens(2).await;
        let mut load = Load::start(&rig.site, &["alice", "bob"], tokens, true);
        let deadline = Instant::now() + Duration::from_secs(10);
        while load.sign_ins() < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        rig.cluster.freeze(1);
        let frozen = Instant::now();
        // The balancer sees it within its checks (two failures), then passes over it.
        while rig.cluster.lb.in_rotation(1) {
            assert!(
                frozen.elapsed() < Duration::from_secs(5),
                "the balancer still sends to the frozen node"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("frozen node out of rotation after {:?}", frozen.elapsed());
        let passed_over = rig.cluster.lb.served(1);
        // The other node serves everything meanwhile: a new sign-in completes at once (the
        // load's own may be waiting on the frozen node).
        let started = Instant::now();
        let signed_in = rig.site.sign_in("carol").await;
        let took = started.elapsed();
        rig.findings
            .check(signed_in.is_some() && took < Duration::from_secs(5), || {
                format!("a sign-in while one node was frozen: {signed_in:?} after {took:?}")
            });
        probes.during(&rig.site).await;
        rig.findings
            .check(rig.cluster.lb.served(1) == passed_over, || {
                "the balancer sent to the frozen node after passing over it".into()
            });
        rig.cluster.thaw(1);
        expect_recovery(&rig.nodes, &rig.site, "alice", &rig.findings).await;
        probes.after_recovery(&rig.site, &rig.findings).await;
        // The balancer sends to it again.
        let thawed = rig.cluster.lb.served(1);
        let deadline = Instant::now() + RECOVERY_WITHIN;
        while rig.cluster.lb.served(1) <= thawed + 2 {
            assert!(Instant::now() < deadline, "the thawed node gets no traffic");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        load.stop().await;
        rig.finish(&load, &probes, "node frozen").await;
    }
}

#[tokio::test]
async fn sqlite_on_a_full_disk() {
    if on_postgres() {
        eprintln!("skipped: the full-disk test is for SQLite");
        return;
    }
    let Some(disk) = SmallDisk::mount("24m") else {
        return;
    };
    let data = disk.path().join("data");
    let database = data.join("idp.db");
    let idp = TestIdp::start_with(&[
        ("IDP_DATA_DIR", data.to_str().unwrap()),
        (
            "IDP_DATABASE_URL",
            &format!("sqlite://{}", database.display()),
        ),
        ("IDP_NEW_DEVICE__ENABLED", "false"),
    ])
    .await;
    let findings = Findings::default();
    for username in ["alice", "carol", "pinned", "patient"] {
        idp.create_user(username);
    }
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let site = Site::new(&idp.address, client).await;
    let db = Db::Sqlite(database.clone());
    let nodes = [idp.address.clone()];
    let mut probes = Probes::prepare(&site, &db).await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let signed_in = site.sign_in("carol").await.expect("a sign-in");
        tokens.push(signed_in["refresh_token"].as_str().unwrap().to_owned());
    }

    // The log emptied into the database file, so that the next write needs new space; then
    // the disk fills up.
    {
        use sqlx::Connection as _;
        let url = format!("sqlite://{}", database.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let filler = disk.fill();
    let mut load = Load::start(&site, &["alice"], tokens, true);
    expect_not_ready(&nodes, Some(&["cannot_write"]), None, &findings).await;
    probes.during(&site).await;
    assert!(
        site.ledger
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.status.is_some_and(|s| s.is_server_error())),
        "nothing failed: the disk did not fill"
    );

    std::fs::remove_file(&filler).unwrap();
    expect_recovery(&nodes, &site, "alice", &findings).await;
    probes.after_recovery(&site, &findings).await;
    load.stop().await;
    probes.after(&site, &db, &findings).await;
    load.check_writes(&site, &db, &findings).await;
    let verify = idp.cli(&["audit", "verify"], "");
    expect_audit_whole(verify, &idp.address, &findings).await;
    site.ledger.judge(&findings);
    drop(idp);
    findings.assert_none("SQLite on a full disk");
}
