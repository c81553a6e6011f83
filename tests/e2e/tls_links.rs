//! Links to other services over TLS: Redis at `rediss://`, its certificate checked against the
//! trusted roots (here a test CA, named by `SSL_CERT_FILE`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::sinks::{sms_sink_over, smtp_sink_over};
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

/// A TLS server side with the certificate that `certificates` made.
fn acceptor(dir: &Path) -> tokio_rustls::TlsAcceptor {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
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
    assert!(logs.contains("Redis is not ready"), "{logs}");
    let keys = redis.cli(dir.path(), &["--scan", "--pattern", "untrusted:*"]);
    assert_eq!(keys.trim(), "", "nothing reached Redis: {keys}");
}

/// A sign-in on a new browser: the page after the PIN, which asks for a code it e-mailed.
async fn at_device_check(idp: &TestIdp) -> (Browser, Page) {
    let browser = Browser::new(idp);
    let pin_page = browser.at_pin_step("tess").await;
    let device = browser.submit(&pin_page, &[("pin", PIN)]).await;
    (browser, device)
}

#[tokio::test]
async fn e_mail_and_texts_go_over_tls_to_a_server_the_trusted_roots_vouch_for() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let (smtp, mail) = smtp_sink_over(Some(acceptor(dir.path()))).await;
    let (webhook, texts) = sms_sink_over(Some(acceptor(dir.path()))).await;
    let ca = dir.path().join("ca.pem");
    let start = |roots: std::path::PathBuf| {
        let (smtp, webhook) = (smtp.clone(), webhook.clone());
        async move {
            let idp = TestIdp::start_with(&[
                ("IDP_SMTP_URL", smtp.as_str()),
                ("IDP_SMS_WEBHOOK_URL", webhook.as_str()),
                ("SSL_CERT_FILE", roots.to_str().unwrap()),
            ])
            .await;
            let out = idp.cli(
                &[
                    "user",
                    "create",
                    "--username",
                    "tess",
                    "--email",
                    "tess@example.com",
                    "--phone",
                    "+44 7700 900123",
                ],
                &format!("{PASSWORD}\n{PIN}\n"),
            );
            assert!(out.status.success(), "{out:?}");
            idp
        }
    };

    // Both certificates are issued by the test CA, which only `SSL_CERT_FILE` names: the
    // e-mailed code and the texted one arrive.
    let idp = start(ca).await;
    let (browser, device) = at_device_check(&idp).await;
    assert!(device.is("device-code"), "{}", device.body);
    let code = mail.code("tess@example.com", DEVICE_CODE, 0).await;
    let account = browser.submit(&device, &[("code", &code)]).await;
    assert!(account.is("account"), "{}", account.body);
    browser.ask_to_confirm_phone(&account).await;
    texts
        .code("+447700900123", "confirm your phone number", 0)
        .await;
    // The notice of the new device is the last e-mail; nothing else is on its way.
    mail.wait_for("tess@example.com", "New sign-in to your account", 0)
        .await;
    let sent = mail.all().len();
    drop(idp);

    // Trusting another CA only, the provider cannot send the code, and says so.
    let idp = start(dir.path().join("other.pem")).await;
    let (_, device) = at_device_check(&idp).await;
    assert_eq!(
        device.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        device.body
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mail.all().len(), sent, "nothing reached the mail server");
}
