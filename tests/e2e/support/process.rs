//! The provider as a process: started on a free port with a data directory of its own,
//! stopped, killed and restarted, and its command line run against its database.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::backends::{SharedBackend, on_postgres};
use super::{PASSWORD, PIN};
use crate::sinks::{Inbox, smtp_sink};

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
    pub(super) backend: Option<SharedBackend>,
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

    /// The `idp` command with this provider's settings, to run against its database.
    pub fn command(&self) -> Command {
        idp_command(self.dir.path(), &self.issuer, &self.extra_env)
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
}
