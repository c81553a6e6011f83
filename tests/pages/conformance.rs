//! Behaviours the OpenID conformance suite checks that no other test here names: a code
//! request without a nonce, unknown parameters and scope order, a request posted as a form,
//! UserInfo by POST, and the logout capabilities in discovery (see docs/certification.md).

use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::support::{Browser, Idp, PASSWORD, PIN, authorize, exchange};

/// A provider with the public relying party `rp` (first party, PKCE) and alice.
async fn setup() -> Idp {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    idp
}

/// oidcc-ensure-request-without-nonce-succeeds-for-code-flow: the code flow needs no nonce,
/// and its ID token then carries none.
#[tokio::test]
async fn a_code_request_without_a_nonce_gets_an_id_token_without_one() {
    let idp = setup().await;
    let answer = Browser::new(&idp)
        .sign_in(&authorize("rp", &[("nonce", "")]), "alice")
        .await;
    assert!(answer.gives_code(), "{answer:?}");
    let (status, tokens) = exchange(&idp, "rp", &answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = idp.id_token_claims(&tokens);
    assert!(claims.get("nonce").is_none(), "{claims}");
    assert_eq!(claims["aud"], "rp");
}

/// oidcc-ensure-request-with-unknown-parameter-succeeds and oidcc-ensure-other-scope-order-
/// succeeds: a parameter the provider does not know is ignored, and `openid` may come last.
#[tokio::test]
async fn unknown_parameters_are_ignored_and_scopes_come_in_any_order() {
    let idp = setup().await;
    let url = authorize("rp", &[("extra", "foobar"), ("scope", "email openid")]);
    let answer = Browser::new(&idp).sign_in(&url, "alice").await;
    assert!(answer.gives_code(), "{answer:?}");
    let (status, tokens) = exchange(&idp, "rp", &answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let scopes: Vec<&str> = tokens["scope"].as_str().unwrap().split(' ').collect();
    assert!(
        scopes.contains(&"openid") && scopes.contains(&"email"),
        "{tokens}"
    );
}

/// oidcc-ensure-post-request-succeeds: the authorization request posted as a form (Core
/// §3.1.2.1) signs in like one in the query.
#[tokio::test]
async fn an_authorization_request_posted_as_a_form_signs_in() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let url = authorize("rp", &[]);
    let query = url.split_once('?').unwrap().1;
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let started = browser.post_as_is("/authorize", &fields).await;
    let login = browser.follow(started).await;
    assert!(login.is("login"), "{login:?}");
    let (action, _) = login.form();
    let pin = browser
        .post(&action, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let answer = browser.post(pin.to(), &[("pin", PIN)]).await;
    assert!(answer.gives_code(), "{answer:?}");
    assert_eq!(
        crate::page::param(answer.to(), "state").as_deref(),
        Some("st")
    );
    let (status, tokens) = exchange(&idp, "rp", &answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

/// oidcc-userinfo-post-header: UserInfo by POST with the access token in the header.
#[tokio::test]
async fn userinfo_answers_a_post_with_the_token_in_the_header() {
    let idp = setup().await;
    let answer = Browser::new(&idp)
        .sign_in(&authorize("rp", &[]), "alice")
        .await;
    let (_, tokens) = exchange(&idp, "rp", &answer).await;
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let request = Request::post("/userinfo")
        .header("authorization", bearer)
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = idp.call(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "alice@example.com");
    assert!(body["sub"].is_string(), "{body}");
}

/// oidcc-backchannel-logout-discovery-endpoint-verification (and the RP-initiated logout
/// plan's): discovery names the logout endpoint and both back-channel capabilities.
#[tokio::test]
async fn discovery_names_the_logout_endpoint_and_back_channel_logout() {
    let idp = setup().await;
    let request = Request::get("/.well-known/openid-configuration")
        .body(Body::empty())
        .unwrap();
    let (status, _, discovery) = idp.call(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);
    assert_eq!(
        discovery["end_session_endpoint"],
        format!("{}/logout", idp.state.issuer())
    );
}
