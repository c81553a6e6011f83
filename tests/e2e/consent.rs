//! Consent for third-party (dynamically registered) clients.

use openidconnect::OAuth2TokenResponse as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn third_party(idp: &TestIdp) -> (String, String) {
    let out = idp.cli(&["registration-token", "create"], "");
    let token: Value = serde_json::from_slice(&out.stdout).unwrap();
    let client: Value = reqwest::Client::new()
        .post(format!("{}/register", idp.issuer))
        .bearer_auth(token["initial_access_token"].as_str().unwrap())
        .json(&json!({ "client_name": "Budget App", "redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn consent_is_asked_once_remembered_and_can_be_withdrawn() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let (id, secret) = third_party(&idp).await;
    let rp = RelyingParty::discover(&idp, &id, Some(&secret), REDIRECT).await;
    let browser = Browser::new(&idp);

    let mut start = rp.start(&["email", "offline_access"], &[], true);
    let consent = browser
        .sign_in(&browser.open(&start.url).await, "alice", PASSWORD, PIN)
        .await;
    assert!(consent.is("consent"));
    assert!(
        consent.contains("See your e-mail address")
            && consent.contains("Keep access while you are not using it"),
        "{}",
        consent.body
    );
    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    let tokens = rp
        .exchange(
            &param(&done.location.unwrap(), "code").unwrap(),
            start.verifier.take(),
        )
        .await
        .unwrap();
    let refresh = tokens.refresh_token().unwrap().secret().clone();

    // Remembered: the same scopes again need no page.
    let again = browser.get(&rp.start(&["email"], &[], true).url).await;
    assert!(param(&again.location.unwrap(), "code").is_some());
    // A new scope asks again.
    let more = browser.open(&rp.start(&["phone"], &[], true).url).await;
    assert!(more.contains("See your phone number"), "{}", more.body);
    // prompt=none cannot ask.
    let silent = browser
        .get(&rp.start(&["phone"], &[("prompt", "none")], true).url)
        .await;
    assert_eq!(
        param(&silent.location.unwrap(), "error").as_deref(),
        Some("consent_required")
    );

    // Withdrawn on the account page: the refresh token dies and the page is asked again.
    let account = browser.get("/account").await;
    assert!(account.contains("Budget App"), "{}", account.body);
    let withdrawn = browser
        .submit_to(&account, "/account/consents/withdraw", &[])
        .await;
    assert!(withdrawn.contains("Access withdrawn"), "{}", withdrawn.body);
    let refused = reqwest::Client::new()
        .post(format!("{}/token", idp.issuer))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let asked = browser.open(&rp.start(&["email"], &[], true).url).await;
    assert!(asked.is("consent"));
}

#[tokio::test]
async fn refusing_consent_sends_access_denied() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let (id, secret) = third_party(&idp).await;
    let rp = RelyingParty::discover(&idp, &id, Some(&secret), REDIRECT).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&[], &[], true);
    let consent = browser
        .sign_in(&browser.open(&start.url).await, "alice", PASSWORD, PIN)
        .await;
    let denied = browser.submit(&consent, &[("decision", "deny")]).await;
    let location = denied.location.unwrap();
    assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(start.state.secret().as_str())
    );
    assert_eq!(idp.count("consents", "TRUE").await, 0);
    // Without this browser's CSRF token, the form does nothing.
    let consent = browser.open(&rp.start(&[], &[], true).url).await;
    let (action, _) = consent.form();
    let forged = browser
        .post(&action, &[("decision".into(), "allow".into())])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(idp.count("consents", "TRUE").await, 0);
}

#[tokio::test]
async fn an_administrator_may_mark_a_client_third_party() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let client = idp.create_client(&[
        "--name",
        "Partner",
        "--redirect-uri",
        REDIRECT,
        "--third-party",
    ]);
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let consent = browser
        .sign_in(
            &browser.open(&rp.start(&[], &[], true).url).await,
            "alice",
            PASSWORD,
            PIN,
        )
        .await;
    assert!(consent.is("consent"), "{}", consent.body);
}
