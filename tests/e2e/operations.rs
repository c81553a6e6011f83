//! Running it: the metrics listener, JSON logs that carry request ids, and a SIGTERM that
//! finishes the requests in flight.

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::*;

fn free_address() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn metrics_listen_serves_metrics_apart_from_the_public_listener() {
    let metrics = free_address();
    let idp = TestIdp::start_with(&[("IDP_METRICS_LISTEN", metrics.as_str())]).await;
    let public = reqwest::get(format!("{}/metrics", idp.issuer))
        .await
        .unwrap();
    assert_eq!(
        public.status(),
        StatusCode::NOT_FOUND,
        "not on the public listener"
    );
    let response = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for gauge in [
        "idp_hash_queue_depth 0",
        "idp_hash_running 0",
        "idp_hash_seconds 0",
    ] {
        assert!(text.contains(gauge), "{gauge} missing from:\n{text}");
    }
    assert!(text.contains("idp_http_request_duration_seconds_count{route=\"/metrics\""));
    let other = reqwest::get(format!("http://{metrics}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND, "nothing else there");
}

#[tokio::test]
async fn json_logs_carry_the_request_id_that_the_response_names() {
    let mut idp = TestIdp::start_with(&[
        ("IDP_LOG_FORMAT", "json"),
        ("IDP_LOG", "info,idp_server::web::request_id=debug"),
    ])
    .await;
    let http = reqwest::Client::new();
    let given = http
        .get(format!("{}/healthz", idp.issuer))
        .header("x-request-id", "lb-7f3a.42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "lb-7f3a.42");
    let forged = http
        .get(format!("{}/healthz", idp.issuer))
        .header("x-request-id", "x\"} {\"level\":\"ERROR")
        .send()
        .await
        .unwrap();
    let made = forged.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        made.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert!(!made.contains("ERROR"), "a forged id is replaced");

    let (status, logs) = idp.terminate();
    assert!(status.success(), "{logs}");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let answered = |id: &str| {
        lines.iter().any(|l| {
            l["span"]["request_id"] == id
                && l["fields"]["message"] == "answered"
                && l["span"]["path"] == "/healthz"
        })
    };
    assert!(answered("lb-7f3a.42"), "{logs}");
    assert!(answered(&made), "{logs}");
    assert!(lines.iter().any(|l| l["fields"]["message"] == "stopped"));
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_then_exits() {
    let mut idp = TestIdp::start().await;
    let address = idp.issuer.trim_start_matches("http://").to_owned();
    // A request whose body is still on its way when the signal comes.
    let body = "grant_type=client_credentials";
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /token HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = idp.pid().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    // It no longer takes new connections...
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(&address).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    // ...but answers the one it was reading.
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("invalid_client"), "{response}");
    let (status, logs) = idp.terminate_wait();
    assert!(status.success(), "{logs}");
}

/// Whether `secret` occurs in `text` as a whole token: six-digit codes are compared only
/// where no digit touches them, so that a number that merely contains them does not count.
fn leaks(text: &str, secret: &str) -> bool {
    text.match_indices(secret).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + secret.len()..].chars().next();
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        !(secret.chars().all(|c| c.is_ascii_digit()) && (digit(before) || digit(after)))
    })
}

#[tokio::test]
async fn no_secret_reaches_the_logs_even_at_debug_level() {
    const REDIRECT: &str = "http://127.0.0.1:9/callback";
    const WRONG_PASSWORD: &str = "a wrong guess at the password";
    const WRONG_PIN: &str = "713058";
    let mut idp = TestIdp::start_with(&[("IDP_LOG_FORMAT", "json"), ("IDP_LOG", "debug")]).await;
    let mut secrets: Vec<String> = vec![
        PASSWORD.into(),
        PIN.into(),
        WRONG_PASSWORD.into(),
        WRONG_PIN.into(),
    ];
    // A sign-up through the pages.
    let browser = Browser::recording(&idp);
    let done = browser.sign_up("olga").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    // A relying party signs her in (a wrong password and a wrong PIN first), exchanges the
    // code, and uses and introspects the access token.
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let client_id = client["client_id"].as_str().unwrap();
    let client_secret = client["client_secret"].as_str().unwrap();
    secrets.push(client_secret.into());
    let rp = RelyingParty::discover(&idp, client_id, Some(client_secret), REDIRECT).await;
    let browser = Browser::recording(&idp);
    let mut start = rp.start(&["email"], &[], true);
    secrets.push(start.verifier.as_ref().unwrap().secret().clone());
    let login = browser.open(&start.url).await;
    let wrong = browser
        .submit(
            &login,
            &[("username", "olga"), ("password", WRONG_PASSWORD)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    let pin_page = browser
        .submit(&wrong, &[("username", "olga"), ("password", PASSWORD)])
        .await;
    let wrong = browser.submit(&pin_page, &[("pin", WRONG_PIN)]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    let codes_before = browser.device_codes_sent();
    let done = browser.submit_pin(&pin_page, PIN).await;
    secrets.push(
        idp.mail
            .code("olga@example.com", DEVICE_CODE, codes_before)
            .await,
    );
    let code = param(&done.location.expect("back to the relying party"), "code").unwrap();
    secrets.push(code.clone());
    let jar = browser.cookies.as_ref().unwrap();
    secrets.push(jar.get("idp_session").expect("session cookie"));
    secrets.push(jar.get("idp_csrf").expect("csrf cookie"));
    secrets.push(jar.get("idp_device").expect("device cookie"));
    let tokens = rp.exchange(&code, start.verifier.take()).await.unwrap();
    use openidconnect::OAuth2TokenResponse as _;
    let access = tokens.access_token().secret().clone();
    secrets.push(access.clone());
    secrets.push(tokens.extra_fields().id_token().unwrap().to_string());
    assert_eq!(userinfo_status(&idp.issuer, &access).await, StatusCode::OK);
    let introspection: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/introspect", idp.issuer))
        .basic_auth(client_id, Some(client_secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["active"], true);

    let (status, logs) = idp.terminate();
    assert!(status.success(), "{logs}");
    // Timestamps are numbers that could hold a six-digit code by chance: leave them out.
    let mut lines = Vec::new();
    for line in logs.lines() {
        let mut entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        entry.as_object_mut().unwrap().remove("timestamp");
        lines.push(entry.to_string());
    }
    assert!(
        lines.iter().any(|l| l.contains("\"path\":\"/token\"")),
        "the requests were logged: {logs}"
    );
    let logs = lines.join("\n");
    // Each also as a form body, a URL or a Basic authorization header would carry it.
    use base64::Engine as _;
    let mut encoded: Vec<String> = Vec::new();
    for secret in &secrets {
        encoded.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
        encoded.push(secret.replace(' ', "%20"));
    }
    encoded.push(
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}")),
    );
    encoded.retain(|e| !secrets.contains(e));
    secrets.extend(encoded);
    for secret in &secrets {
        assert!(secret.len() >= 6);
        assert!(!leaks(&logs, secret), "`{secret}` is in the logs:\n{logs}");
    }
    // Nor does the audit trail hold one.
    assert!(idp.count("audit_log", "kind = 'sign_in_succeeded'").await >= 1);
    for secret in &secrets {
        let quoted = secret.replace('\'', "''");
        let filter = format!(
            "COALESCE(detail, '') || COALESCE(actor, '') || COALESCE(user_agent, '') \
             LIKE '%{quoted}%'"
        );
        assert_eq!(
            idp.count("audit_log", &filter).await,
            0,
            "`{secret}` is audited"
        );
    }
}

#[tokio::test]
async fn a_sign_in_rehashes_a_password_and_pin_made_at_other_argon2_parameters() {
    const NEW: &str = "m=9216,t=1,p=1";
    const OLD: &str = "m=8192,t=1,p=2";
    const REDIRECT: &str = "http://127.0.0.1:9/callback";
    let idp = TestIdp::start_with(&[
        ("IDP_HASHING__MEMORY_KIB", "9216"),
        ("IDP_HASHING__ITERATIONS", "1"),
        ("IDP_HASHING__PARALLELISM", "1"),
    ])
    .await;
    // Created while the settings were other ones.
    let created = idp.cli_with(
        &[
            ("IDP_HASHING__MEMORY_KIB", "8192"),
            ("IDP_HASHING__ITERATIONS", "1"),
            ("IDP_HASHING__PARALLELISM", "2"),
        ],
        &[
            "user",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
        ],
        &format!("{PASSWORD}\n{PIN}\n"),
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let stored = async |column: &str, params: &str| {
        let filter = format!("username = 'alice' AND {column} LIKE '$argon2id$v=19${params}$%'");
        idp.count("users", &filter).await == 1
    };
    assert!(stored("password_hash", OLD).await && stored("pin_hash", OLD).await);

    let client = idp.create_client(&["--name", "Portal", "--redirect-uri", REDIRECT]);
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    // Wrong answers change nothing.
    let wrong = browser
        .submit(
            &login,
            &[
                ("username", "alice"),
                ("password", "not the password at all"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    assert!(stored("password_hash", OLD).await);
    let pin_page = browser
        .submit(&wrong, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(pin_page.is("pin"), "{}", pin_page.body);
    assert!(
        stored("password_hash", NEW).await,
        "the right password is rehashed"
    );
    let wrong = browser.submit(&pin_page, &[("pin", "000000")]).await;
    assert!(wrong_pin_counted(&wrong), "{}", wrong.body);
    assert!(stored("pin_hash", OLD).await);
    let done = browser.submit_pin(&wrong, PIN).await;
    assert!(param(done.location.as_deref().unwrap(), "code").is_some());
    assert!(stored("pin_hash", NEW).await, "the right PIN is rehashed");

    // Both still sign in (the PIN is still keyed with the server-side key).
    let mut start = rp.start(&[], &[], true);
    rp.sign_in(&Browser::new(&idp), "alice", &mut start).await;
    assert!(stored("password_hash", NEW).await && stored("pin_hash", NEW).await);
}
