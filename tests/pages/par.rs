//! Pushed authorization requests (RFC 9126).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::page::param;
use crate::support::{Browser, Idp, REDIRECT, authorize, exchange_code};

/// The parameters of the authorization request `authorize` makes for `client_id`.
fn request_of(client_id: &str) -> Vec<(String, String)> {
    let url = authorize(client_id, &[("scope", "openid email")]);
    let query = url.split_once('?').unwrap().1;
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn push(idp: &Idp, auth: (&str, &str), pairs: &[(String, String)]) -> (StatusCode, Value) {
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, _, body) = idp.post_as_client("/par", Some(auth), &form).await;
    (status, body)
}

fn authorize_uri(client_id: &str, request_uri: &str) -> String {
    let query =
        serde_urlencoded::to_string([("client_id", client_id), ("request_uri", request_uri)]);
    format!("/authorize?{}", query.unwrap())
}

#[tokio::test]
async fn a_pushed_request_signs_the_user_in_once() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    let secret = idp.confidential_client("portal").await;
    idp.user("alice").await;
    let (status, pushed) = push(&idp, ("portal", &secret), &request_of("portal")).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().unwrap();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(pushed["expires_in"], 90);

    let mut browser = Browser::new(&idp);
    let done = browser
        .sign_in(&authorize_uri("portal", request_uri), "alice")
        .await;
    assert_eq!(param(done.to(), "state").as_deref(), Some("st"));
    let (status, tokens) = exchange_code(&idp, Some(("portal", &secret)), &done).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = idp.id_token_claims(&tokens);
    assert_eq!(
        (claims["aud"].as_str(), claims["nonce"].as_str()),
        (Some("portal"), Some("n"))
    );

    let again = Browser::new(&idp)
        .get(&authorize_uri("portal", request_uri))
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
    let idp = Idp::start().await;
    let secret = idp.confidential_client("portal").await;
    let other_secret = idp.confidential_client("other").await;
    let auth = ("portal", secret.as_str());
    let good = request_of("portal");

    let mut bad = good.clone();
    bad.retain(|(k, _)| k != "redirect_uri");
    bad.push(("redirect_uri".into(), "https://attacker.example/".into()));
    let (status, body) = push(&idp, auth, &bad).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let mut no_openid = good.clone();
    no_openid.retain(|(k, _)| k != "scope");
    no_openid.push(("scope".into(), "email".into()));
    assert_eq!(
        push(&idp, auth, &no_openid).await.1["error"],
        "invalid_scope"
    );
    assert_eq!(
        push(&idp, ("portal", "wrong"), &good).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        push(&idp, ("other", &other_secret), &good).await.1["error"],
        "invalid_request",
        "client_id of another client"
    );

    let (_, pushed) = push(&idp, auth, &good).await;
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let mut browser = Browser::new(&idp);
    let wrong_client = browser.get(&authorize_uri("other", request_uri)).await;
    assert_eq!(
        wrong_client.status,
        StatusCode::BAD_REQUEST,
        "only with the client that pushed it"
    );
    let made_up = browser
        .get(&authorize_uri(
            "portal",
            "urn:ietf:params:oauth:request_uri:nope",
        ))
        .await;
    assert_eq!(made_up.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_client_can_be_required_to_push() {
    let idp = Idp::with(|s| s.registration.require_initial_access_token = false).await;
    idp.user("alice").await;
    let (status, client) = idp
        .post_json(
            "/register",
            &json!({ "redirect_uris": [REDIRECT], "require_pushed_authorization_requests": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let mut browser = Browser::new(&idp);
    let direct = browser.get(&authorize(id, &[])).await;
    assert_eq!(
        param(direct.to(), "error").as_deref(),
        Some("invalid_request"),
        "{direct:?}"
    );
    let (status, pushed) = push(&idp, (id, secret), &request_of(id)).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let (_, page) = browser
        .open(&authorize_uri(id, pushed["request_uri"].as_str().unwrap()))
        .await;
    assert!(page.is("login"), "{}", page.body);
}
