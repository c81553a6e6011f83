//! Several identical `idp serve` nodes sharing PostgreSQL and Redis behind a load balancer, as
//! operators run them: a sign-in whose steps land on different nodes, PIN tries counted across
//! nodes, a key change seen by every node, a node killed during a sign-up load, and
//! revocations refused by every node at once (`revocation`).
//!
//! These need `IDP_TEST_POSTGRES_URL` and `IDP_TEST_REDIS_URL` (`.ci/run` sets both).

mod revocation;

use std::net::SocketAddr;
use std::process::{Child, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

use crate::sinks::{Inbox, smtp_sink};
use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A TCP load balancer: each new connection goes to the next node in turn, or to the one
/// after it when that node does not answer. With health checks, it also asks each node's
/// `/readyz` several times a second, as operators' balancers do, and passes over a node that
/// failed the last two checks (unless every node did).
pub(crate) struct LoadBalancer {
    pub(crate) url: String,
    /// Connections each node received.
    served: Arc<Vec<AtomicUsize>>,
    /// Consecutive failed health checks of each node.
    failed: Arc<Vec<AtomicUsize>>,
    task: tokio::task::JoinHandle<()>,
    checks: Option<tokio::task::JoinHandle<()>>,
}

/// How often, and how long a node has to answer, when the balancer checks its health.
const CHECK_EVERY: Duration = Duration::from_millis(200);
const CHECK_TIMEOUT: Duration = Duration::from_millis(800);

impl LoadBalancer {
    async fn start(nodes: Vec<SocketAddr>, health_checks: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served: Arc<Vec<AtomicUsize>> =
            Arc::new(nodes.iter().map(|_| AtomicUsize::new(0)).collect());
        // Consecutive failed checks of each node.
        let failed: Arc<Vec<AtomicUsize>> =
            Arc::new(nodes.iter().map(|_| AtomicUsize::new(0)).collect());
        let rotation = failed.clone();
        let checks = health_checks.then(|| {
            let (nodes, failed) = (nodes.clone(), failed.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .timeout(CHECK_TIMEOUT)
                    .pool_max_idle_per_host(0)
                    .build()
                    .unwrap();
                loop {
                    let checks = nodes.iter().map(|node| {
                        let request = http.get(format!("http://{node}/readyz")).send();
                        async move { request.await.is_ok_and(|r| r.status() == StatusCode::OK) }
                    });
                    let results = futures_util::future::join_all(checks).await;
                    for (node, ok) in results.into_iter().enumerate() {
                        if ok {
                            failed[node].store(0, Ordering::SeqCst);
                        } else {
                            failed[node].fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    tokio::time::sleep(CHECK_EVERY).await;
                }
            })
        });
        let counts = served.clone();
        let task = tokio::spawn(async move {
            let next = AtomicUsize::new(0);
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let first = next.fetch_add(1, Ordering::SeqCst);
                let healthy: Vec<bool> = failed
                    .iter()
                    .map(|f| f.load(Ordering::SeqCst) < 2)
                    .collect();
                let any_healthy = healthy.iter().any(|h| *h);
                let (nodes, counts) = (nodes.clone(), counts.clone());
                tokio::spawn(async move {
                    for i in 0..nodes.len() {
                        let node = (first + i) % nodes.len();
                        if any_healthy && !healthy[node] {
                            continue;
                        }
                        if let Ok(mut server) = TcpStream::connect(nodes[node]).await {
                            counts[node].fetch_add(1, Ordering::SeqCst);
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            return;
                        }
                    }
                });
            }
        });
        Self {
            url,
            served,
            failed: rotation,
            task,
            checks,
        }
    }

    pub(crate) fn served(&self, node: usize) -> usize {
        self.served[node].load(Ordering::SeqCst)
    }

    /// Whether new connections may go to the node (its last two checks did not both fail).
    pub(crate) fn in_rotation(&self, node: usize) -> bool {
        self.failed[node].load(Ordering::SeqCst) < 2
    }
}

impl Drop for LoadBalancer {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(checks) = &self.checks {
            checks.abort();
        }
    }
}

/// Nodes sharing one PostgreSQL database, one Redis prefix, the same secrets and one issuer:
/// the load balancer's URL.
pub(crate) struct Cluster {
    nodes: Vec<Option<Child>>,
    addrs: Vec<SocketAddr>,
    pub(crate) lb: LoadBalancer,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
    pub(crate) mail: Inbox,
    pub(crate) backend: SharedBackend,
}

/// How a cluster is set up beyond its nodes' number and settings.
#[derive(Default)]
pub(crate) struct Links {
    /// The nodes reach PostgreSQL through this proxy (the command line goes straight to it).
    pub(crate) database: Option<SocketAddr>,
    /// The nodes reach Redis through this proxy.
    pub(crate) redis: Option<SocketAddr>,
    /// The load balancer checks each node's readiness and passes over those not ready.
    pub(crate) health_checks: bool,
}

/// `url` with its host and port replaced by `via`.
fn through(url: &str, via: SocketAddr) -> String {
    let mut url = url::Url::parse(url).expect("a URL");
    url.set_host(Some(&via.ip().to_string())).unwrap();
    url.set_port(Some(via.port())).unwrap();
    url.to_string()
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn secret() -> String {
    use rand::Rng as _;
    base64::engine::general_purpose::STANDARD.encode(rand::rng().random::<[u8; 32]>())
}

impl Cluster {
    /// `None` (the test is skipped, and says so) without PostgreSQL and Redis.
    pub(crate) async fn start(nodes: usize, extra: &[(&str, &str)]) -> Option<Self> {
        Self::start_with(nodes, extra, Links::default()).await
    }

    /// As [`Cluster::start`], the nodes linked to their backends and balanced as `links` says.
    pub(crate) async fn start_with(
        nodes: usize,
        extra: &[(&str, &str)],
        links: Links,
    ) -> Option<Self> {
        if std::env::var("IDP_TEST_REDIS_URL").is_err() {
            eprintln!("skipped: the multi-node tests need IDP_TEST_REDIS_URL");
            return None;
        }
        let Some(backend) = SharedBackend::create().await else {
            eprintln!("skipped: the multi-node tests need IDP_TEST_POSTGRES_URL");
            return None;
        };
        let (smtp, mail) = smtp_sink().await;
        let addrs: Vec<SocketAddr> = (0..nodes)
            .map(|_| {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
            })
            .collect();
        let lb = LoadBalancer::start(addrs.clone(), links.health_checks).await;
        let mut env = backend.env();
        for (key, value) in &mut env {
            match (key.as_str(), links.database, links.redis) {
                ("IDP_DATABASE_URL", Some(via), _) | ("IDP_REDIS_URL", _, Some(via)) => {
                    *value = through(value, via);
                }
                _ => {}
            }
        }
        env.extend([
            ("IDP_SMTP_URL".to_owned(), smtp),
            ("IDP_MASTER_KEY".to_owned(), secret()),
            ("IDP_PIN_KEY".to_owned(), secret()),
        ]);
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let mut cluster = Self {
            nodes: Vec::new(),
            addrs,
            lb,
            env,
            dir: tempfile::tempdir().unwrap(),
            mail,
            backend,
        };
        // One node first (it creates the schema and the keys), then the others together.
        cluster.nodes.push(Some(cluster.spawn(0)));
        cluster.wait_ready(0).await;
        for node in 1..nodes {
            let child = cluster.spawn(node);
            cluster.nodes.push(Some(child));
        }
        for node in 1..nodes {
            cluster.wait_ready(node).await;
        }
        Some(cluster)
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.lb.url
    }

    pub(crate) fn node_url(&self, node: usize) -> String {
        format!("http://{}", self.addrs[node])
    }

    fn command(&self) -> std::process::Command {
        let mut command = idp_command(self.dir.path(), self.issuer(), &self.env);
        if !self.env.iter().any(|(key, _)| key == "IDP_LOG") {
            command.env("IDP_LOG", "warn");
        }
        command
    }

    fn spawn(&self, node: usize) -> Child {
        let data = self.dir.path().join(format!("node-{node}"));
        self.command()
            .env("IDP_LISTEN", self.addrs[node].to_string())
            .env("IDP_DATA_DIR", data)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn idp serve")
    }

    pub(crate) async fn wait_ready(&mut self, node: usize) {
        let url = format!("{}/readyz", self.node_url(node));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = reqwest::get(&url).await
                && response.status() == StatusCode::OK
            {
                return;
            }
            let child = self.nodes[node].as_mut().expect("node runs");
            assert!(child.try_wait().unwrap().is_none(), "node {node} exited");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("node {node} did not become ready");
    }

    /// SIGKILL: the node stops at once, mid-request.
    fn kill(&mut self, node: usize) {
        let mut child = self.nodes[node].take().expect("node runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Stops the node with SIGSTOP: it holds its connections and answers nothing.
    pub(crate) fn freeze(&self, node: usize) {
        self.signal(node, "-STOP");
    }

    /// Lets a frozen node go on (SIGCONT).
    pub(crate) fn thaw(&self, node: usize) {
        self.signal(node, "-CONT");
    }

    fn signal(&self, node: usize, signal: &str) {
        let pid = self.nodes[node].as_ref().expect("node runs").id();
        let sent = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// Runs `idp ARGS` on the shared database (straight to it, not through any proxy); the
    /// command must succeed.
    pub(crate) fn cli(&self, args: &[&str], stdin: &str) -> Output {
        let out = self.try_cli(args, stdin);
        assert!(
            out.status.success(),
            "idp {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs `idp ARGS` as [`Cluster::cli`] does, whatever its exit status.
    pub(crate) fn try_cli(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write as _;
        let mut child = self
            .command()
            .envs(self.backend.env())
            .env("IDP_DATA_DIR", self.dir.path().join("cli"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn idp");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    pub(crate) fn create_user(&self, username: &str) {
        let email = format!("{username}@example.com");
        self.cli(
            &["user", "create", "--username", username, "--email", &email],
            &format!("{PASSWORD}\n{PIN}\n"),
        );
    }

    pub(crate) fn create_client(&self, args: &[&str]) -> Value {
        let mut all = vec!["client", "create"];
        all.extend_from_slice(args);
        serde_json::from_slice(&self.cli(&all, "").stdout).unwrap()
    }

    pub(crate) async fn relying_party(&self) -> RelyingParty {
        let client = self.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
        RelyingParty::discover_issuer(
            self.issuer(),
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
            REDIRECT,
        )
        .await
    }

    pub(crate) fn browser(&self) -> Browser {
        Browser::unpooled(self.issuer(), &self.mail)
    }
}

#[tokio::test]
async fn a_sign_in_whose_steps_alternate_between_nodes_completes() {
    let Some(cluster) = Cluster::start(2, &[]).await else {
        return;
    };
    cluster.create_user("alice");
    let rp = cluster.relying_party().await;
    let browser = cluster.browser();
    let before = (cluster.lb.served(0), cluster.lb.served(1));
    let mut start = rp.start(&["email"], &[], true);
    let tokens = rp.sign_in(&browser, "alice", &mut start).await;
    let claims = rp.verify_id_token(
        &tokens,
        &start.nonce,
        openidconnect::core::CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert!(amr.contains(&"pwd".to_owned()) && amr.contains(&"pin".to_owned()));
    // Every request opened its own connection, so the steps went to both nodes in turn.
    let served = (
        cluster.lb.served(0) - before.0,
        cluster.lb.served(1) - before.1,
    );
    assert!(
        served.0 >= 3 && served.1 >= 3,
        "the sign-in's requests were spread: {served:?}"
    );
    // The session is shared: signing in again needs no password, whichever node answers.
    let mut again = rp.start(&[], &[], true);
    let page = browser.open(&again.url).await;
    let location = page.location.expect("straight back to the relying party");
    let code = param(&location, "code").expect("a code");
    rp.exchange(&code, again.verifier.take()).await.unwrap();
}

#[tokio::test]
async fn wrong_pins_spread_over_every_node_lock_after_exactly_the_allowance() {
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    cluster.create_user("alice");
    let rp = cluster.relying_party().await;
    let browser = cluster.browser();
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(pin_page.is("pin"), "{}", pin_page.body);
    let evaluated =
        concurrent_wrong_pins(&browser, cluster.issuer(), &pin_page, "000000", 30).await;
    assert_eq!(evaluated, 5, "exactly the allowance, across three nodes");
    assert!((0..3).all(|node| cluster.lb.served(node) > 0));
    assert_eq!(cluster.backend.count("users", "pin_failures = 5").await, 1);
    assert_eq!(
        cluster
            .backend
            .count("audit_log", "kind = 'pin_locked'")
            .await,
        1
    );
}

async fn kids(url: &str) -> Vec<String> {
    let jwks: Value = reqwest::get(format!("{url}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_key_rotated_through_one_node_is_served_by_every_node_at_once() {
    // An hour between lifecycle ticks: only the Redis notice can tell the other nodes.
    let Some(cluster) = Cluster::start(
        3,
        &[
            ("IDP_KEYS__TICK_SECS", "3600"),
            ("IDP_KEYS__PREPUBLISH_SECS", "4000"),
            ("IDP_KEYS__RETIRED_LIFETIME_SECS", "90000"),
        ],
    )
    .await
    else {
        return;
    };
    let jwks_uri = |node: usize| {
        let url = cluster.node_url(node);
        async move { kids(&url).await }
    };
    let before = jwks_uri(0).await;
    assert_eq!(before.len(), 3, "one key per algorithm");
    for node in 1..3 {
        assert_eq!(jwks_uri(node).await, before);
    }
    let admin = cluster.create_client(&["--name", "Ops", "--redirect-uri", REDIRECT, "--admin"]);
    let token = client_token(&cluster.node_url(0), &admin, "admin").await;
    let rotated = reqwest::Client::new()
        .post(format!("{}/admin/keys/rotate", cluster.node_url(0)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    for node in 0..3 {
        loop {
            let now = jwks_uri(node).await;
            if now.len() == 6 && before.iter().all(|kid| now.contains(kid)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {node} serves {now:?} after the rotation"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One complete sign-up in a browser: the username when the provider said it was done. A
/// request cut off by a killed node panics, which the caller counts as not acknowledged.
#[tokio::test]
async fn killing_a_node_during_sign_ups_loses_no_acknowledged_sign_up() {
    let Some(mut cluster) = Cluster::start(2, &[]).await else {
        return;
    };
    let issuer = cluster.issuer().to_owned();
    let signups: Vec<_> = (0..24)
        .map(|i| {
            let (issuer, mail) = (issuer.clone(), cluster.mail.clone());
            tokio::spawn(async move {
                // Staggered, so that some are in flight when the node dies.
                tokio::time::sleep(Duration::from_millis(40 * i)).await;
                sign_up(&issuer, &mail, format!("user{i}")).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    cluster.kill(1);
    let mut acknowledged = Vec::new();
    for signup in signups {
        if let Ok(Some(username)) = signup.await {
            acknowledged.push(username);
        }
    }
    assert!(!acknowledged.is_empty(), "sign-ups went through");
    for username in &acknowledged {
        assert_eq!(
            cluster
                .backend
                .count(
                    "users",
                    &format!("username = '{username}' AND pin_hash IS NOT NULL")
                )
                .await,
            1,
            "{username} was told the account is ready"
        );
    }
    // The other node keeps serving: a new sign-up, then a sign-in, through the balancer.
    let after = sign_up(&issuer, &cluster.mail, "after".into()).await;
    assert_eq!(after.as_deref(), Some("after"));
    let rp = cluster.relying_party().await;
    let mut start = rp.start(&[], &[], true);
    let browser = cluster.browser();
    rp.sign_in(&browser, "after", &mut start).await;
}
