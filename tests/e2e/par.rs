//! Pushed authorization requests (RFC 9126).

use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn push(
    idp: &TestIdp,
    auth: (&str, &str),
    pairs: &[(String, String)],
) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/par", idp.issuer))
        .basic_auth(auth.0, Some(auth.1))
        .form(pairs)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn authorize_url(idp: &TestIdp, client_id: &str, request_uri: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "{}/authorize?client_id={}&request_uri={}",
        idp.issuer,
        encode(client_id),
        encode(request_uri)
    )
}

#[tokio::test]
async fn a_pushed_request_signs_the_user_in_once() {
    let idp = TestIdp::start().await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let rp = RelyingParty::discover(&idp, id, Some(secret), REDIRECT).await;
    let mut start = rp.start(&["email"], &[], true);
    let (status, pushed) = push(&idp, (id, secret), &query(&start.url)).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().unwrap();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(pushed["expires_in"], 90);

    let browser = Browser::new(&idp);
    let login = browser.open(&authorize_url(&idp, id, request_uri)).await;
    let done = browser.sign_in(&login, "alice", PASSWORD, PIN).await;
    let location = done.location.unwrap();
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(start.state.secret().as_str())
    );
    let tokens = rp
        .exchange(&param(&location, "code").unwrap(), start.verifier.take())
        .await
        .unwrap();
    rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );

    let again = Browser::new(&idp)
        .get(&authorize_url(&idp, id, request_uri))
        .await;
    assert_eq!(
        again.status,
        StatusCode::BAD_REQUEST,
        "a request_uri works once"
    );
    assert!(again.location.is_none());
}

#[tokio::test]
async fn pushes_are_checked_and_bound_to_their_client() {
    let idp = TestIdp::start().await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let other = idp.create_client(&["--name", "Other", "--redirect-uri", REDIRECT]);
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let rp = RelyingParty::discover(&idp, id, Some(secret), REDIRECT).await;
    let good = query(&rp.start(&[], &[], true).url);

    let mut bad = good.clone();
    bad.retain(|(k, _)| k != "redirect_uri");
    bad.push(("redirect_uri".into(), "https://attacker.example/".into()));
    let (status, body) = push(&idp, (id, secret), &bad).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let mut no_openid = good.clone();
    no_openid.retain(|(k, _)| k != "scope");
    no_openid.push(("scope".into(), "email".into()));
    assert_eq!(
        push(&idp, (id, secret), &no_openid).await.1["error"],
        "invalid_scope"
    );
    assert_eq!(
        push(&idp, (id, "wrong"), &good).await.0,
        StatusCode::UNAUTHORIZED
    );
    let other_auth = (
        other["client_id"].as_str().unwrap(),
        other["client_secret"].as_str().unwrap(),
    );
    assert_eq!(
        push(&idp, other_auth, &good).await.1["error"],
        "invalid_request",
        "client_id of another client"
    );

    let (_, pushed) = push(&idp, (id, secret), &good).await;
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let browser = Browser::new(&idp);
    let wrong_client = browser
        .get(&authorize_url(&idp, other_auth.0, request_uri))
        .await;
    assert_eq!(
        wrong_client.status,
        StatusCode::BAD_REQUEST,
        "only with the client that pushed it"
    );
    let made_up = browser
        .get(&authorize_url(
            &idp,
            id,
            "urn:ietf:params:oauth:request_uri:nope",
        ))
        .await;
    assert_eq!(made_up.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_client_can_be_required_to_push() {
    let idp =
        TestIdp::start_with(&[("IDP_REGISTRATION__REQUIRE_INITIAL_ACCESS_TOKEN", "false")]).await;
    idp.create_user("alice");
    let client: Value = reqwest::Client::new()
        .post(format!("{}/register", idp.issuer))
        .json(
            &json!({ "redirect_uris": [REDIRECT], "require_pushed_authorization_requests": true }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let rp = RelyingParty::discover(&idp, id, Some(secret), REDIRECT).await;
    let start = rp.start(&[], &[], true);
    let direct = Browser::new(&idp).get(&start.url).await;
    let location = direct.location.expect("an error back to the client");
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    let (status, pushed) = push(&idp, (id, secret), &query(&start.url)).await;
    assert_eq!(status, StatusCode::CREATED);
    let page = Browser::new(&idp)
        .open(&authorize_url(
            &idp,
            id,
            pushed["request_uri"].as_str().unwrap(),
        ))
        .await;
    assert!(page.is("login"), "{}", page.body);
}
