//! The `idp` command line, as scripts use it.

use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn user_create_applies_the_policies_and_stores_nothing_on_refusal() {
    let idp = TestIdp::start().await;
    let refused = [
        (
            vec!["--username", "bob", "--email", "bob@example.com"],
            format!("short\n{PIN}\n"),
            "password",
        ),
        (
            vec!["--username", "bob", "--email", "bob@example.com"],
            format!("{PASSWORD}\n123456\n"),
            "PIN",
        ),
        (
            vec!["--username", "bob", "--email", "bob@example.com"],
            format!("{PASSWORD}\n"),
            "PIN on stdin",
        ),
        (
            vec!["--username", "b", "--email", "bob@example.com"],
            format!("{PASSWORD}\n{PIN}\n"),
            "--username",
        ),
        (
            vec!["--username", "bob", "--email", "bob"],
            format!("{PASSWORD}\n{PIN}\n"),
            "--email",
        ),
        (
            vec![
                "--username",
                "bob",
                "--email",
                "bob@example.com",
                "--phone",
                "123",
            ],
            format!("{PASSWORD}\n{PIN}\n"),
            "--phone",
        ),
    ];
    for (args, stdin, mentions) in refused {
        let mut all = vec!["user", "create"];
        all.extend(args);
        let out = idp.cli(&all, &stdin);
        assert!(!out.status.success(), "{all:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(mentions), "{all:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(idp.count("users", "TRUE").await, 0);

    idp.create_user("bob");
    let again = idp.cli(
        &[
            "user",
            "create",
            "--username",
            "BOB",
            "--email",
            "b@example.com",
        ],
        &format!("{PASSWORD}\n{PIN}\n"),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));
    assert_eq!(idp.count("users", "TRUE").await, 1);
}

#[tokio::test]
async fn user_create_marks_the_contacts_the_operator_confirmed() {
    // No new-device code, which would confirm the address at the first sign-in.
    let idp = TestIdp::start_with(&[("IDP_NEW_DEVICE__ENABLED", "false")]).await;
    let secrets = format!("{PASSWORD}\n{PIN}\n");
    let refused = idp.cli(
        &[
            "user",
            "create",
            "--username",
            "carol",
            "--email",
            "carol@example.com",
            "--phone-verified",
        ],
        &secrets,
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--phone-verified"), "{stderr}");
    assert!(refused.stdout.is_empty());
    assert_eq!(idp.count("users", "TRUE").await, 0);

    let users = [
        (
            "alice",
            "+447700900123",
            &["--email-verified", "--phone-verified"][..],
            true,
            true,
        ),
        (
            "bob",
            "+447700900124",
            &["--email-verified"][..],
            true,
            false,
        ),
        ("dave", "+447700900125", &[][..], false, false),
    ];
    let redirect = "http://127.0.0.1:9/callback";
    let client = idp.create_client(&["--name", "Portal", "--redirect-uri", redirect]);
    let rp = RelyingParty::of_client(&idp, &client, redirect).await;
    for (username, phone, flags, email_verified, phone_verified) in users {
        let email = format!("{username}@example.com");
        let mut args = vec![
            "user",
            "create",
            "--username",
            username,
            "--email",
            &email,
            "--phone",
            phone,
        ];
        args.extend_from_slice(flags);
        let out = idp.cli(&args, &secrets);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // What relying parties are told, before the person ever confirmed anything.
        let browser = Browser::new(&idp);
        let mut start = rp.start(&["email", "phone"], &[], true);
        let tokens = rp.sign_in(&browser, username, &mut start).await;
        let claims: Value = reqwest::Client::new()
            .get(format!("{}/userinfo", idp.issuer))
            .bearer_auth(openidconnect::OAuth2TokenResponse::access_token(&tokens).secret())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (
                claims["email_verified"].as_bool(),
                claims["phone_number_verified"].as_bool()
            ),
            (Some(email_verified), Some(phone_verified)),
            "{username}: {claims}"
        );
    }
}

#[tokio::test]
async fn client_create_prints_json_and_checks_redirect_uris() {
    let idp = TestIdp::start().await;
    let confidential = idp.create_client(&[
        "--name",
        "Portal",
        "--redirect-uri",
        "https://rp.example/cb",
        "https://rp.example/cb2",
    ]);
    assert!(confidential["client_id"].as_str().is_some());
    assert_eq!(
        confidential["client_secret"].as_str().map(str::len),
        Some(43)
    );
    assert_eq!(
        confidential["redirect_uris"].as_array().map(Vec::len),
        Some(2)
    );
    let public = idp.create_client(&[
        "--name",
        "App",
        "--redirect-uri",
        "http://127.0.0.1:7000/cb",
        "--public",
    ]);
    assert!(public.get("client_secret").is_none());
    assert_eq!(public["token_endpoint_auth_method"], "none");
    // Only the hash of the secret is stored.
    let secret = confidential["client_secret"].as_str().unwrap();
    assert_eq!(
        idp.count("clients", &format!("secret_hash = '{secret}'"))
            .await,
        0
    );

    for bad in [
        "http://rp.example/cb",
        "https://rp.example/cb#x",
        "not a uri",
    ] {
        let out = idp.cli(
            &["client", "create", "--name", "X", "--redirect-uri", bad],
            "",
        );
        assert!(!out.status.success(), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--redirect-uri"));
    }
    let out = idp.cli(&["client", "create", "--name", "X"], "");
    assert!(!out.status.success(), "a redirect URI is required");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--redirect-uri is required"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(idp.count("clients", "TRUE").await, 2);
}

#[tokio::test]
async fn an_admin_client_needs_no_redirect_uri() {
    let idp = TestIdp::start().await;
    let admin = idp.create_client(&["--admin", "--name", "Operations"]);
    assert_eq!(admin["redirect_uris"], serde_json::json!([]));
    let (id, secret) = (
        admin["client_id"].as_str().unwrap(),
        admin["client_secret"].as_str().unwrap(),
    );
    // It does what it is for: a token for the admin API.
    let answer = reqwest::Client::new()
        .post(format!("{}/token", idp.issuer))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
}

/// `idp ARGS` run on a pseudo-terminal (through util-linux `script`), as a person types at
/// it: each of `answers` is typed once `prompts` shows the prompt before it. What the
/// terminal showed, and whether the command succeeded.
fn on_a_terminal(idp: &TestIdp, args: &str, answers: &[(&str, &str)]) -> (String, bool) {
    use std::io::{Read as _, Write as _};
    use std::sync::{Arc, Mutex};
    let settings = idp.command();
    let mut command = std::process::Command::new("script");
    command
        .current_dir(idp.dir.path())
        .args([
            "-qec",
            &format!("{} {args}", idp_binary().display()),
            "/dev/null",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (key, value) in settings.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let mut child = command.spawn().expect("util-linux script");
    let shown = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let shown = shown.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            while let Ok(n @ 1..) = stdout.read(&mut chunk) {
                shown.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = 0;
    for (prompt, answer) in answers {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let text = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
            if let Some(at) = text[seen..].find(prompt) {
                seen += at + prompt.len();
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {prompt:?} in {text:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    (text, status.success())
}

#[tokio::test]
async fn user_create_at_a_terminal_prompts_and_does_not_echo() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no util-linux `script` to give the command a terminal");
        return;
    }
    let idp = TestIdp::start_with(&[("IDP_NEW_DEVICE__ENABLED", "false")]).await;
    let (shown, created) = on_a_terminal(
        &idp,
        "user create --username carol --email carol@example.com",
        &[("Password: ", PASSWORD), ("PIN: ", PIN)],
    );
    assert!(created, "{shown}");
    assert!(
        !shown.contains(PASSWORD),
        "the password was echoed: {shown:?}"
    );
    assert!(!shown.contains(PIN), "the PIN was echoed: {shown:?}");
    assert!(shown.contains("\"username\": \"carol\""), "{shown}");

    // What was typed is what was stored: carol signs in with it.
    let redirect = "http://127.0.0.1:9/callback";
    let client = idp.create_client(&["--name", "Portal", "--redirect-uri", redirect]);
    let rp = RelyingParty::of_client(&idp, &client, redirect).await;
    let mut start = rp.start(&["email"], &[], true);
    rp.sign_in(&Browser::new(&idp), "carol", &mut start).await;

    // Piped, as scripts give them: one line each, no prompt.
    let out = idp.cli(
        &[
            "user",
            "create",
            "--username",
            "dave",
            "--email",
            "dave@example.com",
        ],
        &format!("{PASSWORD}\n{PIN}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "no prompt when piped");
    assert_eq!(idp.count("users", "TRUE").await, 2);
}

#[tokio::test]
async fn migrate_applies_migrations_to_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = "http://127.0.0.1:1";
    let out = idp_command(dir.path(), issuer, &[])
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/idp.db").exists());
    let json: Value = serde_json::to_value(()).unwrap();
    assert!(json.is_null());
}

// The test's SMTP server answers while the test waits for the command: a runtime of threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_factors_lists_and_remove_factor_removes_a_lost_one() {
    let idp = TestIdp::start().await;
    let sub = idp.create_user("alice");
    let blob = if on_postgres() {
        "'\\x00'::bytea"
    } else {
        "X'00'"
    };
    idp.execute(&format!(
        "INSERT INTO factors (id, user_id, kind, name, secret, created_at, last_used_at) \
         VALUES ('f-phone', '{sub}', 'app', 'Phone', {blob}, 1800000000, 1800000600)"
    ))
    .await;
    idp.execute(&format!(
        "INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES \
         ('{sub}', 'h1', 1800000000, NULL), ('{sub}', 'h2', 1800000000, 1800000300)"
    ))
    .await;

    let out = idp.cli(&["user", "factors", "alice"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(listed["username"], "alice");
    let factors = listed["factors"].as_array().unwrap();
    assert_eq!(factors.len(), 1, "{listed}");
    assert_eq!(factors[0]["id"], "f-phone");
    assert_eq!(factors[0]["kind"], "app");
    assert_eq!(factors[0]["name"], "Phone");
    assert_eq!(factors[0]["created_at"], "2027-01-15T08:00:00Z");
    assert_eq!(factors[0]["last_used_at"], "2027-01-15T08:10:00Z");
    assert_eq!(listed["saved_codes"]["left"], 1);

    for (args, mentions) in [
        (vec!["user", "remove-factor", "alice", "f-nope"], "f-nope"),
        (vec!["user", "remove-factor", "nobody", "f-phone"], "nobody"),
        (vec!["user", "factors", "nobody"], "nobody"),
    ] {
        let out = idp.cli(&args, "");
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(mentions), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(idp.count("factors", "TRUE").await, 1);

    let out = idp.cli(&["user", "remove-factor", "alice", "f-phone"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let removed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(removed["removed"], "f-phone");
    assert_eq!(removed["notified"], true);
    assert_eq!(idp.count("factors", "TRUE").await, 0);
    assert_eq!(
        idp.count(
            "audit_log",
            "kind = 'factor_removed' AND actor = 'cli' AND user_id IS NOT NULL"
        )
        .await,
        1
    );
    idp.mail
        .wait_for("alice@example.com", "A second factor was removed", 0)
        .await;
}
