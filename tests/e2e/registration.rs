//! Dynamic client registration from the outside: a relying party on the `openidconnect` crate
//! registered over RFC 7591, and initial access tokens made by the real `idp` command.

use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// `idp registration-token create` with `args`: its printed JSON.
fn registration_token(idp: &TestIdp, args: &[&str]) -> Value {
    let mut all = vec!["registration-token", "create"];
    all.extend_from_slice(args);
    let out = idp.cli(&all, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn register(idp: &TestIdp, token: &str, metadata: &Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/register", idp.issuer))
        .bearer_auth(token)
        .json(metadata)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_client_registered_without_an_algorithm_gets_rs256_id_tokens_it_can_verify() {
    let idp = TestIdp::start().await;
    let sub = idp.create_user("alice");
    let token = registration_token(&idp, &[]);
    let metadata = json!({ "client_name": "Conformance RP", "redirect_uris": [REDIRECT] });
    let token = token["initial_access_token"].as_str().unwrap();
    let (status, client) = register(&idp, token, &metadata).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(client["id_token_signed_response_alg"], "RS256");

    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&["email"], &[], true);
    let login = browser.open(&start.url).await;
    let consent = browser.sign_in(&login, "alice", PASSWORD, PIN).await;
    assert!(consent.is("consent"), "{}", consent.body);
    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    let location = done.location.expect("a redirect to the relying party");
    let code = param(&location, "code").expect("a code");
    let tokens = rp.exchange(&code, start.verifier).await.expect("exchange");
    // Verified with the provider's published RS256 key, and RS256 only.
    let claims = rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    );
    assert_eq!(claims.subject().as_str(), sub);
}

#[tokio::test]
async fn a_reusable_initial_access_token_serves_its_uses_and_then_no_more() {
    let idp = TestIdp::start().await;
    let made = registration_token(&idp, &["--uses", "3", "--expires-in", "1h"]);
    assert_eq!(made["uses"], 3);
    let token = made["initial_access_token"].as_str().unwrap();
    let metadata = json!({ "redirect_uris": ["https://rp.example/cb"] });
    for n in 0..3 {
        let (status, client) = register(&idp, token, &metadata).await;
        assert_eq!(status, StatusCode::CREATED, "registration {n}: {client}");
    }
    let (status, refused) = register(&idp, token, &metadata).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert_eq!(refused["error"], "invalid_token");
    assert_eq!(idp.count("clients", "TRUE").await, 3);

    // The default stays one use; nonsense counts are refused by the command.
    let once = registration_token(&idp, &[]);
    assert_eq!(once["uses"], 1);
    for bad in ["0", "-1", "many"] {
        let out = idp.cli(&["registration-token", "create", "--uses", bad], "");
        assert!(!out.status.success(), "--uses {bad}");
        assert!(out.stdout.is_empty());
    }
}

#[tokio::test]
async fn client_create_takes_the_logo_and_links_and_refuses_unsafe_ones() {
    let idp = TestIdp::start().await;
    let client = idp.create_client(&[
        "--name",
        "Portal",
        "--redirect-uri",
        REDIRECT,
        "--logo-uri",
        "https://cdn.portal.example/logo.png",
        "--client-uri",
        "https://portal.example/",
        "--policy-uri",
        "https://portal.example/privacy",
        "--tos-uri",
        "https://portal.example/terms",
    ]);
    assert_eq!(client["logo_uri"], "https://cdn.portal.example/logo.png");
    assert_eq!(client["tos_uri"], "https://portal.example/terms");
    for bad in [
        "http://portal.example/logo.png",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
    ] {
        let out = idp.cli(
            &[
                "client",
                "create",
                "--name",
                "X",
                "--redirect-uri",
                REDIRECT,
                "--logo-uri",
                bad,
            ],
            "",
        );
        assert!(!out.status.success(), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--logo-uri"));
    }
    assert_eq!(idp.count("clients", "TRUE").await, 1);
}
