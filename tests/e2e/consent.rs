//! Consent for a client an administrator marked third-party on the command line (the rest of
//! consent is in the handler tests, `tests/pages/consent.rs`).

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
