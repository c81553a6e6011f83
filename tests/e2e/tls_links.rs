//! Links to other services over TLS: Redis at `rediss://`, its certificate checked against the
//! trusted roots (here a test CA, named by `SSL_CERT_FILE`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::*;

/// A CA (`ca.pem`) and a certificate for `localhost` and 127.0.0.1 signed by it, and a second,
/// unrelated CA (`other.pem`), made by openssl in `dir`.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-keyout", "ca.key", "-out", "ca.pem"];
    ca.extend_from_slice(&ec);
    ca.extend_from_slice(&["-days", "2", "-subj", "/CN=Test CA"]);
    openssl(&ca);
    let mut other = vec!["req", "-x509", "-keyout", "other.key", "-out", "other.pem"];
    other.extend_from_slice(&ec);
    other.extend_from_slice(&["-days", "2", "-subj", "/CN=Another CA"]);
    openssl(&other);
    let mut request = vec!["req", "-keyout", "server.key", "-out", "server.csr"];
    request.extend_from_slice(&ec);
    request.extend_from_slice(&["-subj", "/CN=localhost"]);
    openssl(&request);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

/// A Redis that speaks only TLS, on a port of its own; stopped when dropped.
struct TlsRedis {
    child: Child,
    port: u16,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsRedis {
    fn start(dir: &Path) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .current_dir(dir)
            .args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--tls-port", &port.to_string()])
            .args([
                "--tls-cert-file",
                "server.pem",
                "--tls-key-file",
                "server.key",
            ])
            .args(["--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(redis)
    }

    /// `redis-cli` over TLS, trusting the test CA.
    fn cli(&self, dir: &Path, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .current_dir(dir)
            .args(["--tls", "--cacert", "ca.pem", "-h", "127.0.0.1"])
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[tokio::test]
async fn redis_over_tls_holds_the_sessions_and_its_certificate_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let Some(redis) = TlsRedis::start(dir.path()) else {
        eprintln!("SKIPPED: no redis-server on this machine");
        return;
    };
    let url = format!("rediss://localhost:{}", redis.port);
    let ca = dir.path().join("ca.pem");
    let other = dir.path().join("other.pem");
    let idp = TestIdp::start_with(&[
        ("IDP_REDIS_URL", url.as_str()),
        ("IDP_REDIS_KEY_PREFIX", "tls:"),
        ("SSL_CERT_FILE", ca.to_str().unwrap()),
    ])
    .await;
    idp.create_user("tess");
    let browser = Browser::new(&idp);
    let account = browser.open_account("tess", PIN).await;
    assert_eq!(account.status, StatusCode::OK);
    let keys = redis.cli(dir.path(), &["--scan", "--pattern", "tls:session:*"]);
    assert_eq!(keys.lines().count(), 1, "the session is in Redis: {keys}");
    drop(idp);

    // Trusting another CA only, the provider does not accept the certificate: it starts, says
    // Redis cannot be reached, and keeps no session anywhere else.
    let mut untrusting = TestIdp::start_with(&[
        ("IDP_REDIS_URL", url.as_str()),
        ("IDP_REDIS_KEY_PREFIX", "untrusted:"),
        ("SSL_CERT_FILE", other.to_str().unwrap()),
    ])
    .await;
    untrusting.create_user("tess");
    let browser = Browser::new(&untrusting);
    let refused = browser.open("/account").await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    let (_, logs) = untrusting.terminate();
    assert!(logs.contains("Redis is not reachable"), "{logs}");
    let keys = redis.cli(dir.path(), &["--scan", "--pattern", "untrusted:*"]);
    assert_eq!(keys.trim(), "", "nothing reached Redis: {keys}");
}
