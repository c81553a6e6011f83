//! Start-up: the embedded default, and bad settings stopping it with one clear line.

use std::process::Command;

use crate::support::*;

/// `idp migrate` with a clean environment, except `env`, run in `dir`.
fn run(dir: &std::path::Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(idp_binary());
    command.current_dir(dir).arg("migrate");
    for (key, _) in std::env::vars() {
        if key.starts_with("IDP_") {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run idp")
}

#[tokio::test]
async fn with_no_configuration_it_uses_sqlite_under_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = dir.path().join("data");
    assert!(data.join("idp.db").exists());
    use std::os::unix::fs::PermissionsExt as _;
    for file in ["idp.db", "master.key", "pin.key"] {
        let mode = std::fs::metadata(data.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} is private");
    }
    // The test suite's own variables are not settings.
    assert!(
        run(dir.path(), &[("IDP_TEST_POSTGRES_URL", "postgres://x")])
            .status
            .success()
    );
    // The keys persist across starts.
    let key = std::fs::read_to_string(data.join("pin.key")).unwrap();
    assert!(run(dir.path(), &[]).status.success());
    assert_eq!(std::fs::read_to_string(data.join("pin.key")).unwrap(), key);
}

#[tokio::test]
async fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let cases: [(&[(&str, &str)], &str); 20] = [
        (
            &[("IDP_KEYS__PREPUBLISH_SECS", "300")],
            "keys.prepublish_secs",
        ),
        (&[("IDP_PIN__MAX_ATTEMPTS", "many")], "max_attempts"),
        (&[("IDP_PIN__MAX_ATTEMPTS", "0")], "pin.max_attempts"),
        (&[("IDP_ISSUER", "http://idp.example")], "issuer"),
        (&[("IDP_ISSUER", "https://idp.example/")], "issuer"),
        (&[("IDP_LISTEN", "nowhere")], "listen"),
        (&[("IDP_BOGUS", "1")], "bogus"),
        (&[("IDP_ISSUER", "https://idp.example")], "master_key"),
        (&[("IDP_DATABASE_URL", "mysql://db/idp")], "database_url"),
        (&[("IDP_REDIS_URL", "memcached://cache")], "redis_url"),
        (
            &[
                ("IDP_ISSUER", "https://idp.example"),
                (
                    "IDP_MASTER_KEY",
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                ),
                (
                    "IDP_PIN_KEY",
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                ),
                ("IDP_REDIS_URL", "redis://cache:6379"),
            ],
            "redis_url",
        ),
        (&[("IDP_LOG_FORMAT", "xml")], "log_format"),
        // Clear text to another host (V9.2.2).
        (
            &[("IDP_SMTP_URL", "smtp://mail.example.net:25")],
            "`smtp_url` (IDP_SMTP_URL): reaches mail.example.net without TLS",
        ),
        (
            &[("IDP_SMS_WEBHOOK_URL", "http://sms.example.net/send")],
            "allow_plaintext_backends",
        ),
        (&[("IDP_METRICS_LISTEN", "everywhere")], "metrics_listen"),
        (
            &[("IDP_DATABASE_MAX_CONNECTIONS", "0")],
            "database_max_connections",
        ),
        // The certificate header is read only from a trusted proxy: one must be named.
        (
            &[("IDP_MTLS__CERTIFICATE_HEADER", "X-Client-Cert")],
            "`mtls.certificate_header` (IDP_MTLS__CERTIFICATE_HEADER): is read only from trusted_proxies",
        ),
        (
            &[
                ("IDP_MTLS__CERTIFICATE_HEADER", "X Client Cert"),
                ("IDP_TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
            ],
            "mtls.certificate_header",
        ),
        (
            &[(
                "IDP_MTLS__ENDPOINT_ALIASES_BASE",
                "https://mtls.idp.example",
            )],
            "mtls.endpoint_aliases_base",
        ),
        (
            &[
                ("IDP_MTLS__CERTIFICATE_HEADER", "Authorization"),
                ("IDP_TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
            ],
            "is a header clients send",
        ),
    ];
    for (env, names) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = run(dir.path(), env);
        assert_eq!(out.status.code(), Some(2), "{env:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(names), "{env:?}: {stderr}");
        assert!(!dir.path().join("data/idp.db").exists(), "nothing created");
    }
}

#[tokio::test]
async fn a_config_file_is_layered_under_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("idp.toml"), "data_dir = \"./elsewhere\"\ndatabase_url = \"sqlite://./elsewhere/idp.db\"\n[pin]\nmax_attempts = 0\n").unwrap();
    let mut command = Command::new(idp_binary());
    command
        .current_dir(dir.path())
        .args(["--config", "idp.toml", "migrate"]);
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "the file's bad value is caught");
    command.env("IDP_PIN__MAX_ATTEMPTS", "3");
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("elsewhere/idp.db").exists());
    let missing = Command::new(idp_binary())
        .current_dir(dir.path())
        .args(["--config", "nope.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[tokio::test]
async fn a_file_that_is_not_toml_is_reported_where_it_breaks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("idp.toml"),
        "log = \"info\"\n[pin\nmax_attempts = 3\n",
    )
    .unwrap();
    let out = Command::new(idp_binary())
        .current_dir(dir.path())
        .args(["--config", "idp.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // As the TOML parser formats it: where, the line itself, and a caret under the fault.
    assert!(stderr.contains("idp.toml is not valid TOML"), "{stderr}");
    assert!(stderr.contains("line 2, column 5"), "{stderr}");
    assert!(stderr.contains("2 | [pin\n"), "{stderr}");
    assert!(stderr.contains("|     ^\n"), "{stderr}");
    assert!(!dir.path().join("data/idp.db").exists(), "nothing created");
}

/// The log of `idp serve` started in `dir` with a clean environment except `env`, once it
/// answers on `port`; then it is stopped.
async fn start_up_log(dir: &std::path::Path, port: u16, env: &[(&str, &str)]) -> String {
    let mut command = Command::new(idp_binary());
    command.current_dir(dir).arg("serve");
    for (key, _) in std::env::vars() {
        if key.starts_with("IDP_") {
            command.env_remove(key);
        }
    }
    command
        .env("IDP_LISTEN", format!("127.0.0.1:{port}"))
        .env("IDP_LOG", "info")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let health = format!("http://127.0.0.1:{port}/healthz");
    while reqwest::get(&health).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "idp serve did not start"
        );
        assert!(child.try_wait().unwrap().is_none(), "idp serve stopped");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn start_up_names_the_pages_the_outbox_and_a_listen_port_the_issuer_does_not_name() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The default issuer, http://127.0.0.1:8080, on another port.
    let dir = tempfile::tempdir().unwrap();
    let log = start_up_log(dir.path(), port, &[]).await;
    let warning = log
        .lines()
        .find(|line| line.contains("WARN") && line.contains("IDP_ISSUER"))
        .unwrap_or_else(|| panic!("no warning: {log}"));
    assert!(warning.contains("port 8080"), "{warning}");
    assert!(
        warning.contains(&format!("port {port} (IDP_LISTEN)")),
        "{warning}"
    );
    assert!(log.contains("signup=http://127.0.0.1:8080/signup"), "{log}");
    let outbox = log
        .lines()
        .find(|line| line.contains("INFO") && line.contains("outbox"))
        .unwrap_or_else(|| panic!("no word of the outbox: {log}"));
    assert!(outbox.contains("idp outbox list"), "{outbox}");

    // The issuer that names the listen port: nothing to warn of.
    let dir = tempfile::tempdir().unwrap();
    let issuer = format!("http://127.0.0.1:{port}");
    let log = start_up_log(dir.path(), port, &[("IDP_ISSUER", &issuer)]).await;
    assert!(!log.contains("IDP_LISTEN"), "{log}");
    assert!(log.contains(&format!("signup={issuer}/signup")), "{log}");

    // Behind a proxy that ends TLS, the issuer is the proxy's: its port is its own.
    let dir = tempfile::tempdir().unwrap();
    let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let env = [
        ("IDP_ISSUER", "https://idp.example"),
        ("IDP_MASTER_KEY", key),
        ("IDP_PIN_KEY", key),
    ];
    let log = start_up_log(dir.path(), port, &env).await;
    assert!(!log.contains("IDP_LISTEN"), "{log}");
}

#[tokio::test]
async fn signing_keys_are_sealed_with_the_master_key() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &[]).status.success());
    use sqlx::Connection as _;
    let url = format!("sqlite://{}", dir.path().join("data/idp.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let sealed: Vec<Vec<u8>> = sqlx::query_scalar("SELECT sealed_private_key FROM signing_keys")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(sealed.len(), 3, "ES256, RS256 and EdDSA");
    for blob in &sealed {
        // A PKCS#8 key in the clear starts with a DER SEQUENCE (0x30); a sealed one with its
        // format byte.
        assert_eq!(blob[0], 1);
    }
    // No private key in the clear anywhere in the database files: no key algorithm identifier
    // (id-ecPublicKey, rsaEncryption, Ed25519) of a PKCS#8 structure appears in them.
    let oids: [&[u8]; 3] = [
        &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01],
        &[
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
        ],
        &[0x06, 0x03, 0x2b, 0x65, 0x70],
    ];
    for file in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        for oid in oids {
            assert!(
                !bytes.windows(oid.len()).any(|w| w == oid),
                "a private key in the clear"
            );
        }
    }
    // Another master key: start-up stops and names it, by the fingerprint the database
    // recorded.
    let other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let out = run(dir.path(), &[("IDP_MASTER_KEY", other)]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("IDP_MASTER_KEY"), "{stderr}");
    // Without that record, it cannot open the sealed keys either: start-up stops and says why.
    drop(conn);
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM key_fingerprints")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let out = run(dir.path(), &[("IDP_MASTER_KEY", other)]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not open with this master key"),
        "{stderr}"
    );
    // And nothing of that key was recorded: the right one still starts.
    assert!(run(dir.path(), &[]).status.success());
}

#[tokio::test]
async fn keys_move_to_a_new_master_key() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &[]).status.success());
    let key_file = dir.path().join("data/master.key");
    let old = std::fs::read_to_string(&key_file).unwrap();
    let rewrap = |input: &str| {
        let mut child = Command::new(idp_binary())
            .current_dir(dir.path())
            .args(["keys", "rewrap"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let refused = rewrap("not a key\n");
    assert!(!refused.status.success());
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        old,
        "nothing changed"
    );

    let new = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let done = rewrap(&format!("{new}\n"));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["rewrapped"], 3);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), new);
    assert!(
        run(dir.path(), &[]).status.success(),
        "the keys open with the new master key"
    );
    let with_old = run(dir.path(), &[("IDP_MASTER_KEY", old.trim())]);
    assert!(!with_old.status.success(), "and no longer with the old one");
}

#[tokio::test]
async fn liveness_and_readiness_probes_answer() {
    let idp = TestIdp::start().await;
    let live: serde_json::Value = reqwest::get(format!("{}/healthz", idp.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live["status"], "ok");
    let ready = reqwest::get(format!("{}/readyz", idp.issuer))
        .await
        .unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["database"], "ok");
}

/// `idp keys rewrap` to `new`, run in `dir` with `env`.
fn rewrap_to(dir: &std::path::Path, env: &[(&str, &str)], new: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut command = Command::new(idp_binary());
    command.current_dir(dir).args(["keys", "rewrap"]);
    for (key, _) in std::env::vars() {
        if key.starts_with("IDP_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{new}\n").as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// Starts on `database` (none: SQLite in the directory) with keys A, then with others.
async fn nodes_with_other_keys_refuse_to_start(database: Option<&str>) {
    const MASTER_A: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    const PIN_A: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    const OTHER: &str = "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";
    let dir = tempfile::tempdir().unwrap();
    let with = |master: &'static str, pin: &'static str| {
        let mut env = vec![("IDP_MASTER_KEY", master), ("IDP_PIN_KEY", pin)];
        env.extend(database.map(|url| ("IDP_DATABASE_URL", url)));
        env
    };
    let first = run(dir.path(), &with(MASTER_A, PIN_A));
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for (env, setting) in [
        (with(MASTER_A, OTHER), "IDP_PIN_KEY"),
        (with(OTHER, PIN_A), "IDP_MASTER_KEY"),
    ] {
        let out = run(dir.path(), &env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{setting}: {stderr}");
        // One line says why (the log may say what came before it).
        let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("idp: ")).collect();
        assert_eq!(said.len(), 1, "{stderr}");
        assert!(said[0].contains(setting), "{stderr}");
        assert!(
            !stderr.contains(OTHER) && !stderr.contains(PIN_A),
            "{stderr}"
        );
    }
    assert!(run(dir.path(), &with(MASTER_A, PIN_A)).status.success());
    // A rewrap moves the database to a new master key: the next start uses it, and the old
    // one is refused.
    let moved = rewrap_to(dir.path(), &with(MASTER_A, PIN_A), OTHER);
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    let after = run(dir.path(), &with(OTHER, PIN_A));
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    let old = run(dir.path(), &with(MASTER_A, PIN_A));
    assert_eq!(old.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&old.stderr).contains("IDP_MASTER_KEY"));
}

#[tokio::test]
async fn a_node_whose_keys_differ_from_the_databases_refuses_to_start() {
    nodes_with_other_keys_refuse_to_start(None).await;
    if let Some(shared) = SharedBackend::create().await {
        nodes_with_other_keys_refuse_to_start(Some(&shared.database_url)).await;
    }
}
