//! Step-up: a relying party that needs fresh or stronger authentication sends `max_age` or a
//! higher `acr_values`; a person with a live session re-enters only the PIN.

use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;

use crate::code_flow::decode_payload;
use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const L1: &str = "urn:idp:acr:password-pin";
const L2: &str = "urn:idp:acr:password-pin-device";

async fn setup(env: &[(&str, &str)]) -> (TestIdp, RelyingParty) {
    let idp = TestIdp::start_with(env).await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    (idp, rp)
}

async fn claims_of(rp: &RelyingParty, start: &mut AuthStart, location: &str) -> serde_json::Value {
    let tokens = rp
        .exchange(
            &param(location, "code").expect("a code"),
            start.verifier.take(),
        )
        .await
        .unwrap();
    rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    decode_payload(
        &openidconnect::TokenResponse::id_token(&tokens)
            .unwrap()
            .to_string(),
    )
}

#[tokio::test]
async fn an_expired_max_age_asks_only_for_the_pin() {
    let (idp, rp) = setup(&[]).await;
    let browser = Browser::new(&idp);
    let mut first = rp.start(&[], &[], true);
    let done = browser
        .sign_in(&browser.open(&first.url).await, "alice", PASSWORD, PIN)
        .await;
    let before = claims_of(&rp, &mut first, &done.location.unwrap()).await;

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut sensitive = rp.start(&[], &[("max_age", "0")], true);
    let pin_page = browser.open(&sensitive.url).await;
    assert!(pin_page.is("pin"), "no password asked: {}", pin_page.body);
    let wrong = browser.submit(&pin_page, &[("pin", "000000")]).await;
    assert!(
        wrong.contains("4 tries left"),
        "a step-up PIN counts like any other"
    );
    let done = browser.submit(&wrong, &[("pin", PIN)]).await;
    let after = claims_of(
        &rp,
        &mut sensitive,
        &done
            .location
            .expect("no device code: this browser is trusted"),
    )
    .await;
    assert!(
        after["auth_time"].as_i64() > before["auth_time"].as_i64(),
        "{before} {after}"
    );
    assert_eq!(after["acr"], L2);
    // `amr` names what was done at `auth_time`: only the PIN (RFC 8176; SPEC "Protocol").
    assert_eq!(after["amr"], serde_json::json!(["pin"]));
    assert_eq!(after["sub"], before["sub"]);

    // Right after, the same max_age is met without asking anything.
    let again = rp.start(&[], &[("max_age", "60")], true);
    let answer = browser.get(&again.url).await;
    assert!(param(&answer.location.unwrap(), "code").is_some());
}

#[tokio::test]
async fn a_higher_acr_asks_for_the_pin_and_the_device_code() {
    // With the new-device check off, a sign-in on an unknown browser reaches only the first level.
    let (idp, rp) = setup(&[("IDP_NEW_DEVICE__ENABLED", "false")]).await;
    let browser = Browser::new(&idp);
    let mut first = rp.start(&[], &[("acr_values", L1)], true);
    let done = browser
        .sign_in(&browser.open(&first.url).await, "alice", PASSWORD, PIN)
        .await;
    assert_eq!(
        claims_of(&rp, &mut first, &done.location.unwrap()).await["acr"],
        L1
    );

    let mut stronger = rp.start(&[], &[("acr_values", L2)], true);
    let pin_page = browser.open(&stronger.url).await;
    assert!(pin_page.is("pin"), "{}", pin_page.body);
    let check = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert!(
        check.is("device-code"),
        "the device level needs the device code: {}",
        check.body
    );
    let done = browser.pass_device_check(check, 0).await;
    let claims = claims_of(&rp, &mut stronger, &done.location.unwrap()).await;
    assert_eq!(claims["acr"], L2);
    assert_eq!(
        claims["amr"],
        serde_json::json!(["pin", "otp"]),
        "no password was asked"
    );

    // The higher level now satisfies a request for the lower one, silently.
    let mut lower = rp.start(&[], &[("acr_values", L1)], true);
    let answer = browser.get(&lower.url).await;
    assert_eq!(
        claims_of(&rp, &mut lower, &answer.location.unwrap()).await["acr"],
        L2
    );
}

#[tokio::test]
async fn an_essential_acr_that_cannot_be_met_is_refused() {
    let (idp, rp) = setup(&[]).await;
    let browser = Browser::new(&idp);
    let claims = r#"{"id_token":{"acr":{"essential":true,"values":["urn:example:loa:4"]}}}"#;
    let start = rp.start(&[], &[("claims", claims)], true);
    let answer = browser.get(&start.url).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let location = answer.location.unwrap();
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(start.state.secret().as_str())
    );

    // An essential level it offers is met, through a full sign-in.
    let claims = format!(r#"{{"id_token":{{"acr":{{"essential":true,"value":"{L2}"}}}}}}"#);
    let mut start = rp.start(&[], &[("claims", claims.as_str())], true);
    let done = browser
        .sign_in(&browser.open(&start.url).await, "alice", PASSWORD, PIN)
        .await;
    assert_eq!(
        claims_of(&rp, &mut start, &done.location.unwrap()).await["acr"],
        L2
    );
    // A voluntary unknown value is ignored.
    let answer = browser
        .get(
            &rp.start(&[], &[("acr_values", "urn:example:loa:4")], true)
                .url,
        )
        .await;
    assert!(param(&answer.location.unwrap(), "code").is_some());
}

#[tokio::test]
async fn step_up_with_prompt_none_answers_login_required() {
    let (idp, rp) = setup(&[]).await;
    let browser = Browser::new(&idp);
    browser
        .sign_in(
            &browser.open(&rp.start(&[], &[], true).url).await,
            "alice",
            PASSWORD,
            PIN,
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let answer = browser
        .get(
            &rp.start(&[], &[("max_age", "0"), ("prompt", "none")], true)
                .url,
        )
        .await;
    assert_eq!(
        param(&answer.location.unwrap(), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn discovery_names_the_levels() {
    let (idp, _) = setup(&[]).await;
    let discovery: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", idp.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        discovery["acr_values_supported"],
        serde_json::json!([L1, L2])
    );
    assert_eq!(discovery["claims_parameter_supported"], true);
}

#[tokio::test]
async fn a_step_up_cannot_jump_to_the_consent_page() {
    let (idp, rp) = setup(&[]).await;
    let browser = Browser::new(&idp);
    browser
        .sign_in(
            &browser.open(&rp.start(&[], &[], true).url).await,
            "alice",
            PASSWORD,
            PIN,
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let to_pin = browser
        .get(&rp.start(&[], &[("max_age", "0")], true).url)
        .await
        .location
        .unwrap();
    assert!(to_pin.ends_with("/pin"), "{to_pin}");
    let consent = to_pin.trim_end_matches("/pin").to_owned() + "/consent";
    let page = browser.get(&consent).await;
    assert_eq!(
        page.location.as_deref().map(|to| to_pin.ends_with(to)),
        Some(true),
        "no PIN, no consent page: back to the PIN step: {:?} {}",
        page.location,
        page.body
    );
    let csrf = browser.get(&to_pin).await.form().1;
    let mut fields = csrf;
    fields.push(("decision".into(), "allow".into()));
    let answer = browser.post(&consent, &fields).await;
    let to = answer.location.unwrap_or_default();
    assert!(to_pin.ends_with(&to), "no code without the PIN: {to}");
}

#[tokio::test]
async fn a_step_up_ends_with_the_session_it_started_from() {
    let (idp, rp) = setup(&[]).await;
    let browser = Browser::new(&idp);
    browser
        .sign_in(
            &browser.open(&rp.start(&[], &[], true).url).await,
            "alice",
            PASSWORD,
            PIN,
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let pin_page = browser
        .open(&rp.start(&[], &[("max_age", "0")], true).url)
        .await;
    assert!(pin_page.is("pin"));
    // The session ends (signed out) before the PIN is given: the step-up is over too.
    let confirm = browser.get("/logout").await;
    browser.submit(&confirm, &[]).await;
    let answer = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(answer.is("error-expired"));
    assert_eq!(idp.count("sessions", "TRUE").await, 0);
}
