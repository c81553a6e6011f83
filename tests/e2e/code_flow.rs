//! The authorization-code flow as a relying party on the `openidconnect` crate sees it.

use openidconnect::core::{CoreJwsSigningAlgorithm, CoreUserInfoClaims};
use openidconnect::{AccessTokenHash, OAuth2TokenResponse as _, TokenResponse as _};
use reqwest::StatusCode;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn setup(extra_client_args: &[&str]) -> (TestIdp, RelyingParty, String) {
    let idp = TestIdp::start().await;
    let mut args = vec!["--name", "Tax Portal", "--redirect-uri", REDIRECT];
    args.extend_from_slice(extra_client_args);
    let client = idp.create_client(&args);
    let sub = idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    (idp, rp, sub)
}

#[tokio::test]
async fn a_relying_party_signs_a_user_in_with_password_and_pin() {
    let (idp, rp, sub) = setup(&[]).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&["email", "profile"], &[], true);

    let login = browser.open(&start.url).await;
    assert!(
        login.contains("Tax Portal"),
        "the login page names the relying party"
    );
    let done = browser.sign_in(&login, "alice", PASSWORD, PIN).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let location = done.location.expect("redirect to the relying party");
    assert!(location.starts_with(REDIRECT));
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(start.state.secret().as_str())
    );
    assert_eq!(
        param(&location, "iss").as_deref(),
        Some(idp.issuer.as_str())
    );
    let code = param(&location, "code").expect("a code");

    let tokens = rp
        .exchange(&code, start.verifier)
        .await
        .expect("code exchange");
    let claims = rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    assert_eq!(claims.subject().as_str(), sub);
    assert_eq!(claims.issuer().as_str(), idp.issuer);
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert!(
        amr.contains(&"pwd".to_owned()) && amr.contains(&"pin".to_owned()),
        "amr {amr:?}"
    );
    assert_eq!(
        claims.auth_context_ref().unwrap().as_str(),
        "urn:idp:acr:password-pin-device"
    );
    let auth_time = claims.auth_time().expect("auth_time");
    assert!((wall_clock_now() - auth_time.timestamp()).abs() < 60);
    let id_token = tokens.id_token().unwrap();
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token
            .signing_key(&rp.client.id_token_verifier())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    let raw: serde_json::Value = decode_payload(&id_token.to_string());
    assert!(
        raw["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "sid claim"
    );

    // The access token is an RFC 9068 JWT.
    let access_header = decode_header(tokens.access_token().secret());
    assert_eq!(access_header["typ"], "at+jwt");

    let userinfo: CoreUserInfoClaims = rp
        .client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo endpoint")
        .request_async(&rp.http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject().as_str(), sub);
    assert_eq!(userinfo.email().unwrap().as_str(), "alice@example.com");
    // The new-device code of this first sign-in went to the address, which confirms it.
    assert_eq!(userinfo.email_verified(), Some(true));
    assert_eq!(userinfo.preferred_username().unwrap().as_str(), "alice");
}

fn wall_clock_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn decode_part(token: &str, index: usize) -> serde_json::Value {
    use base64::Engine as _;
    let part = token.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn decode_payload(token: &str) -> serde_json::Value {
    decode_part(token, 1)
}

pub fn decode_header(token: &str) -> serde_json::Value {
    decode_part(token, 0)
}

#[tokio::test]
async fn a_second_relying_party_signs_in_through_the_session_without_prompts() {
    let (idp, rp, sub) = setup(&[]).await;
    let browser = Browser::new(&idp);
    let tokens = rp
        .sign_in(&browser, "alice", &mut rp.start(&[], &[], true))
        .await;
    let first_claims = decode_payload(&tokens.id_token().unwrap().to_string());

    let other_redirect = "http://127.0.0.1:9/other";
    let other = idp.create_client(&[
        "--name",
        "Benefits",
        "--redirect-uri",
        other_redirect,
        "--public",
    ]);
    let rp2 = RelyingParty::discover(
        &idp,
        other["client_id"].as_str().unwrap(),
        None,
        other_redirect,
    )
    .await;
    let start = rp2.start(&[], &[], true);
    let answer = browser.get(&start.url).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "no page is shown");
    let location = answer.location.unwrap();
    assert!(
        location.starts_with(other_redirect),
        "straight back to the second RP: {location}"
    );
    let tokens = rp2
        .exchange(&param(&location, "code").unwrap(), start.verifier)
        .await
        .expect("public client exchange with PKCE");
    let claims = rp2.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    assert_eq!(claims.subject().as_str(), sub);
    let raw = decode_payload(&tokens.id_token().unwrap().to_string());
    assert_eq!(raw["sid"], first_claims["sid"], "the same session");
    assert_eq!(
        raw["auth_time"], first_claims["auth_time"],
        "no new authentication"
    );
}

#[tokio::test]
async fn a_client_may_choose_rs256_id_tokens() {
    let (idp, rp, _) = setup(&["--id-token-alg", "RS256"]).await;
    let browser = Browser::new(&idp);
    let mut start = rp.start(&[], &[], true);
    let tokens = rp.sign_in(&browser, "alice", &mut start).await;
    rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    );
    assert_eq!(
        decode_header(&tokens.id_token().unwrap().to_string())["alg"],
        "RS256"
    );
}

#[tokio::test]
async fn prompt_none_without_a_session_answers_login_required() {
    let (idp, rp, _) = setup(&[]).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&[], &[("prompt", "none")], true);
    let answer = browser.get(&start.url).await;
    let location = answer.location.expect("redirect back");
    assert!(location.starts_with(REDIRECT));
    assert_eq!(param(&location, "error").as_deref(), Some("login_required"));
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(start.state.secret().as_str())
    );
    assert!(param(&location, "code").is_none());
}

#[tokio::test]
async fn prompt_none_with_a_session_returns_a_code() {
    let (idp, rp, _) = setup(&[]).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&[], &[], true);
    browser
        .sign_in(&browser.open(&start.url).await, "alice", PASSWORD, PIN)
        .await;
    let again = rp.start(&[], &[("prompt", "none")], true);
    let location = browser.get(&again.url).await.location.unwrap();
    assert!(param(&location, "code").is_some(), "{location}");
}

#[tokio::test]
async fn prompt_login_and_an_exceeded_max_age_ask_again_despite_a_session() {
    let (idp, rp, _) = setup(&[]).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&[], &[], true);
    browser
        .sign_in(&browser.open(&start.url).await, "alice", PASSWORD, PIN)
        .await;

    let forced = rp.start(&[], &[("prompt", "login")], true);
    let page = browser.open(&forced.url).await;
    assert!(page.is("login"), "prompt=login shows the login page");

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let stale = rp.start(&[], &[("max_age", "0"), ("prompt", "none")], true);
    let location = browser.get(&stale.url).await.location.unwrap();
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("login_required"),
        "max_age=0 needs a new sign-in"
    );

    let fresh_enough = rp.start(&[], &[("max_age", "3600")], true);
    let location = browser.get(&fresh_enough.url).await.location.unwrap();
    assert!(
        param(&location, "code").is_some(),
        "a recent sign-in satisfies max_age=3600"
    );

    // Signing in again under prompt=login yields a new auth_time.
    let done = browser.sign_in(&page, "alice", PASSWORD, PIN).await;
    let tokens = rp
        .exchange(
            &param(&done.location.unwrap(), "code").unwrap(),
            forced.verifier,
        )
        .await
        .unwrap();
    let claims = rp.verify_id_token(
        &tokens,
        &forced.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    assert!(claims.auth_time().unwrap().timestamp() >= wall_clock_now() - 5);
}

#[tokio::test]
async fn login_hint_fills_in_the_username() {
    let (idp, rp, _) = setup(&[]).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&[], &[("login_hint", "alice")], true);
    let page = browser.open(&start.url).await;
    assert!(page.contains("value=\"alice\""), "{}", page.body);
}

#[tokio::test]
async fn a_client_may_authenticate_with_client_secret_post() {
    let (idp, rp, sub) = setup(&["--token-endpoint-auth-method", "client_secret_post"]).await;
    let rp = RelyingParty {
        client: rp
            .client
            .set_auth_type(openidconnect::AuthType::RequestBody),
        ..rp
    };
    let browser = Browser::new(&idp);
    let mut start = rp.start(&[], &[], true);
    let tokens = rp.sign_in(&browser, "alice", &mut start).await;
    let claims = rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    assert_eq!(claims.subject().as_str(), sub);
}

#[tokio::test]
async fn a_client_may_choose_eddsa_id_tokens() {
    let (idp, rp, _) = setup(&["--id-token-alg", "EdDSA"]).await;
    let browser = Browser::new(&idp);
    let mut start = rp.start(&[], &[], true);
    let tokens = rp.sign_in(&browser, "alice", &mut start).await;
    rp.verify_id_token(&tokens, &start.nonce, CoreJwsSigningAlgorithm::EdDsa);
    assert_eq!(
        decode_header(&tokens.id_token().unwrap().to_string())["alg"],
        "EdDSA"
    );
}
