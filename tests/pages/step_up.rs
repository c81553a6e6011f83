//! Step-up: a relying party that needs fresh or stronger authentication sends `max_age` or a
//! higher `acr_values`; a person with a live session re-enters only the PIN.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::page::param;
use crate::support::{Browser, Idp, PIN, Page, authorize, exchange};

const L1: &str = "urn:idp:acr:password-pin";
const L2: &str = "urn:idp:acr:password-pin-device";

async fn setup(new_device_check: bool) -> Idp {
    let idp = Idp::with(|s| s.new_device.enabled = new_device_check).await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    idp
}

/// The ID token's claims for the code `answer` brings to the relying party.
async fn claims_of(idp: &Idp, answer: &Page) -> Value {
    assert!(answer.gives_code(), "{answer:?}");
    let (status, tokens) = exchange(idp, "rp", answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = idp.id_token_claims(&tokens);
    assert_eq!(claims["aud"], "rp");
    assert_eq!(claims["nonce"], "n");
    claims
}

/// A browser signed in to `rp` as alice (past the new-device check when it is on), and the
/// ID token's claims.
async fn signed_in<'a>(idp: &'a Idp, extra: &[(&str, &str)]) -> (Browser<'a>, Value) {
    let mut browser = Browser::new(idp);
    let answer = browser.sign_in(&authorize("rp", extra), "alice").await;
    let claims = claims_of(idp, &answer).await;
    (browser, claims)
}

#[tokio::test]
async fn an_expired_max_age_asks_only_for_the_pin() {
    let idp = setup(true).await;
    let (mut browser, before) = signed_in(&idp, &[]).await;

    idp.clock.advance(2);
    let (_, pin_page) = browser.open(&authorize("rp", &[("max_age", "0")])).await;
    assert!(pin_page.is("pin"), "no password asked: {}", pin_page.body);
    // The page says why the PIN is asked again, and who asks.
    assert!(
        pin_page.contains("Client rp asks you to confirm it is you again"),
        "{}",
        pin_page.body
    );
    let wrong = browser.submit(&pin_page, &[("pin", "000000")]).await;
    assert!(
        wrong.contains("4 tries left"),
        "a step-up PIN counts like any other"
    );
    let done = browser.submit(&wrong, &[("pin", PIN)]).await;
    // No device code: this browser is trusted.
    let after = claims_of(&idp, &done).await;
    assert_eq!(
        after["auth_time"].as_i64().unwrap(),
        before["auth_time"].as_i64().unwrap() + 2,
        "{before} {after}"
    );
    assert_eq!(after["acr"], L2);
    // `amr` names what was done at `auth_time`: only the PIN (RFC 8176; SPEC "Protocol").
    assert_eq!(after["amr"], json!(["pin"]));
    assert_eq!(after["sub"], before["sub"]);

    // Right after, the same max_age is met without asking anything.
    let answer = browser.get(&authorize("rp", &[("max_age", "60")])).await;
    assert!(answer.gives_code(), "{answer:?}");
}

#[tokio::test]
async fn a_higher_acr_asks_for_the_pin_and_the_device_code() {
    // With the new-device check off, a sign-in on an unknown browser reaches only the first level.
    let idp = setup(false).await;
    let (mut browser, first) = signed_in(&idp, &[("acr_values", L1)]).await;
    assert_eq!(first["acr"], L1);

    let (_, pin_page) = browser.open(&authorize("rp", &[("acr_values", L2)])).await;
    assert!(pin_page.is("pin"), "{}", pin_page.body);
    let check = browser.submit(&pin_page, &[("pin", PIN)]).await;
    let check = browser.follow(check).await;
    assert!(
        check.is("device-code"),
        "the device level needs the device code: {}",
        check.body
    );
    let code = idp.code_sent_to("alice@example.com").await.unwrap();
    let done = browser.submit(&check, &[("code", &code)]).await;
    let claims = claims_of(&idp, &done).await;
    assert_eq!(claims["acr"], L2);
    assert_eq!(
        claims["amr"],
        json!(["pin", "otp"]),
        "no password was asked"
    );

    // The higher level now satisfies a request for the lower one, silently.
    let answer = browser.get(&authorize("rp", &[("acr_values", L1)])).await;
    assert_eq!(claims_of(&idp, &answer).await["acr"], L2);
}

#[tokio::test]
async fn an_essential_acr_that_cannot_be_met_is_refused() {
    let idp = setup(true).await;
    let mut browser = Browser::new(&idp);
    let claims = r#"{"id_token":{"acr":{"essential":true,"values":["urn:example:loa:4"]}}}"#;
    let answer = browser.get(&authorize("rp", &[("claims", claims)])).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        param(answer.to(), "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    assert_eq!(param(answer.to(), "state").as_deref(), Some("st"));

    // An essential level it offers is met, through a full sign-in.
    let claims = format!(r#"{{"id_token":{{"acr":{{"essential":true,"value":"{L2}"}}}}}}"#);
    let done = browser
        .sign_in(&authorize("rp", &[("claims", &claims)]), "alice")
        .await;
    assert_eq!(claims_of(&idp, &done).await["acr"], L2);
    // A voluntary unknown value is ignored.
    let answer = browser
        .get(&authorize("rp", &[("acr_values", "urn:example:loa:4")]))
        .await;
    assert!(answer.gives_code(), "{answer:?}");
}

#[tokio::test]
async fn step_up_with_prompt_none_answers_login_required() {
    let idp = setup(true).await;
    let (mut browser, _) = signed_in(&idp, &[]).await;
    idp.clock.advance(2);
    let answer = browser
        .get(&authorize("rp", &[("max_age", "0"), ("prompt", "none")]))
        .await;
    assert_eq!(
        param(answer.to(), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn discovery_names_the_levels() {
    let idp = setup(true).await;
    let page = Browser::new(&idp)
        .get("/.well-known/openid-configuration")
        .await;
    let discovery: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(
        discovery["acr_values_supported"],
        json!([
            L1,
            L2,
            "urn:idp:acr:aal2",
            "urn:idp:acr:aal2-phishing-resistant"
        ]),
        "every level, lowest first"
    );
    assert_eq!(discovery["claims_parameter_supported"], true);
}

#[tokio::test]
async fn a_step_up_cannot_jump_to_the_consent_page() {
    let idp = setup(true).await;
    let (mut browser, _) = signed_in(&idp, &[]).await;
    idp.clock.advance(2);
    let to_pin = browser
        .get(&authorize("rp", &[("max_age", "0")]))
        .await
        .to()
        .to_owned();
    assert!(to_pin.ends_with("/pin"), "{to_pin}");
    let consent = to_pin.trim_end_matches("/pin").to_owned() + "/consent";
    let page = browser.get(&consent).await;
    assert!(
        to_pin.ends_with(page.to()) && !page.to().is_empty(),
        "no PIN, no consent page: back to the PIN step: {page:?}"
    );
    let answer = browser.post(&consent, &[("decision", "allow")]).await;
    assert!(
        !answer.to().is_empty() && to_pin.ends_with(answer.to()),
        "no code without the PIN: back to the PIN step: {answer:?}"
    );
}

#[tokio::test]
async fn a_step_up_ends_with_the_session_it_started_from() {
    let idp = setup(true).await;
    let (mut browser, _) = signed_in(&idp, &[]).await;
    idp.clock.advance(2);
    let (_, pin_page) = browser.open(&authorize("rp", &[("max_age", "0")])).await;
    assert!(pin_page.is("pin"), "{pin_page:?}");
    // The session ends (signed out) before the PIN is given: the step-up is over too.
    browser.sign_out().await;
    let answer = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(answer.is("error-expired"), "{answer:?}");
    assert_eq!(idp.count("sessions", "TRUE"), 0);
}
