//! Passkeys at the second-factor step, with a software authenticator answering as a browser's
//! would: the phishing-resistant level, a passkey added where a person has none, and an answer
//! that cannot be used twice. The issuer is `http://localhost:…`: passkeys need a domain.

use axum::http::StatusCode;
use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::SoftToken;

use crate::support::{Browser, Idp, PIN, Page, authorize, exchange};

const PR: &str = "urn:idp:acr:aal2-phishing-resistant";
const ISSUER: &str = "http://localhost:8080";

async fn setup() -> Idp {
    let idp = Idp::with(|s| s.issuer = ISSUER.into()).await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    idp
}

async fn claims_of(idp: &Idp, answer: &Page) -> Value {
    assert!(answer.gives_code(), "{answer:?}");
    let (status, tokens) = exchange(idp, "rp", answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    idp.id_token_claims(&tokens)
}

/// The ceremony's options in the page's JSON block.
fn options(page: &Page) -> Value {
    let start = page
        .body
        .find("id=\"passkey-options\">")
        .expect("a passkey ceremony")
        + 21;
    let end = start + page.body[start..].find("</script>").unwrap();
    serde_json::from_str(&page.body[start..end]).expect("the options are JSON")
}

/// What the page's script would post: the authenticator's answer to the page's ceremony.
fn answer(page: &Page, authenticator: &mut impl WebauthnAuthenticator) -> Vec<(String, String)> {
    let origin = Url::parse(ISSUER).unwrap();
    let options = options(page);
    let creating = page.contains("data-ceremony=\"create\"");
    let credential = if creating {
        let options = serde_json::from_value(options).unwrap();
        serde_json::to_string(&authenticator.do_registration(origin, options).unwrap())
    } else {
        let options = serde_json::from_value(options).unwrap();
        serde_json::to_string(&authenticator.do_authentication(origin, options).unwrap())
    }
    .unwrap();
    let form = page.form_to(&page.action_ending("passkey"));
    let (_, mut fields) = form.form();
    fields.retain(|(name, _)| name != "credential");
    fields.push(("credential".into(), credential));
    fields
}

async fn to_second_factor(browser: &mut Browser<'_>, extra: &[(&str, &str)]) -> Page {
    let (_, pin) = browser.open(&authorize("rp", extra)).await;
    assert!(pin.is("pin"), "{}", pin.body);
    let next = browser.submit(&pin, &[("pin", PIN)]).await;
    let page = browser.follow(next).await;
    assert!(page.is("second-factor"), "{page:?}");
    page
}

#[tokio::test]
async fn a_passkey_reaches_the_phishing_resistant_level_and_its_answer_works_once() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let answer_page = browser.sign_in(&authorize("rp", &[]), "alice").await;
    claims_of(&idp, &answer_page).await;
    let mut authenticator = SoftPasskey::new(true);

    // No passkey yet, on a browser now trusted: the page offers to add one.
    let essential = format!(r#"{{"id_token":{{"acr":{{"essential":true,"values":["{PR}"]}}}}}}"#);
    let page = to_second_factor(&mut browser, &[("claims", &essential)]).await;
    assert!(page.contains("data-ceremony=\"create\""), "{}", page.body);
    let fields = answer(&page, &mut authenticator);
    let target = page.action_ending("/add-passkey");
    let done = browser.post_as_is(&target, &fields).await;
    let claims = claims_of(&idp, &done).await;
    assert_eq!(claims["acr"], PR);
    assert_eq!(
        claims["amr"],
        json!(["pin", "hwk", "mfa"]),
        "a key that never leaves its device"
    );
    assert_eq!(idp.count("factors", "kind = 'passkey'"), 1);
    assert_eq!(
        idp.notice("alice@example.com", "A second factor was added")
            .await,
        1
    );

    // Again, fresh: the passkey is asked for; its answer is taken once.
    idp.clock.advance(1);
    let page = to_second_factor(&mut browser, &[("claims", &essential), ("max_age", "0")]).await;
    assert!(page.contains("data-ceremony=\"get\""), "{}", page.body);
    let fields = answer(&page, &mut authenticator);
    let target = page.action_ending("/second-factor/passkey");
    let done = browser.post_as_is(&target, &fields).await;
    assert_eq!(claims_of(&idp, &done).await["acr"], PR);

    idp.clock.advance(1);
    let page = to_second_factor(&mut browser, &[("claims", &essential), ("max_age", "0")]).await;
    // The earlier answer, for the earlier ceremony: that state was taken.
    let target = page.action_ending("/second-factor/passkey");
    let replayed = browser.post_as_is(&target, &fields).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED, "{replayed:?}");
    assert!(
        replayed.contains("could not be checked"),
        "{}",
        replayed.body
    );
}

#[tokio::test]
async fn an_app_does_not_reach_the_phishing_resistant_level_and_an_unknown_browser_adds_no_passkey()
{
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let (login, _) = browser.open(&authorize("rp", &[("acr_values", PR)])).await;
    let pin = browser
        .post(
            &login,
            &[
                ("username", "alice"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    let next = browser.post(pin.to(), &[("pin", PIN)]).await;
    // An unknown browser: its code first, then a passkey may be added.
    assert!(next.to().ends_with("/device"), "{next:?}");
    let early = browser
        .post_as_is(
            &format!("{login}/second-factor/add-passkey"),
            &[("credential".into(), "{}".into())],
        )
        .await;
    assert_ne!(early.status, StatusCode::OK);
    assert_eq!(idp.count("factors", "1 = 1"), 0, "nothing was stored");
}

#[tokio::test]
async fn a_passkey_stands_in_for_the_new_device_code() {
    let idp = setup().await;
    let mut trusted = Browser::new(&idp);
    let answer_page = trusted.sign_in(&authorize("rp", &[]), "alice").await;
    claims_of(&idp, &answer_page).await;
    let mut authenticator = SoftPasskey::new(true);
    let page = to_second_factor(&mut trusted, &[("acr_values", PR)]).await;
    let fields = answer(&page, &mut authenticator);
    let done = trusted
        .post_as_is(&page.action_ending("/add-passkey"), &fields)
        .await;
    assert_eq!(claims_of(&idp, &done).await["acr"], PR);

    // Another browser: the passkey instead of the e-mailed code.
    let mut other = Browser::new(&idp);
    let (login, _) = other.open(&authorize("rp", &[])).await;
    let pin = other
        .post(
            &login,
            &[
                ("username", "alice"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    let next = other.post(pin.to(), &[("pin", PIN)]).await;
    let device = other.follow(next).await;
    assert!(device.is("device-code"), "{device:?}");
    assert!(device.contains("data-ceremony=\"get\""), "{}", device.body);
    let fields = answer(&device, &mut authenticator);
    let done = other
        .post_as_is(&device.action_ending("/device/passkey"), &fields)
        .await;
    let claims = claims_of(&idp, &done).await;
    assert_eq!(claims["acr"], PR);
    assert_eq!(claims["amr"], json!(["pwd", "pin", "hwk", "mfa"]));
    assert_eq!(
        idp.devices_of("id-alice").await,
        2,
        "this browser is trusted now"
    );
}

#[tokio::test]
async fn a_passkey_is_added_from_the_account_page() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    browser.open_account("alice", PIN).await;
    let page = browser.get("/account/factors/passkey").await;
    assert!(page.is("add-passkey"), "{page:?}");
    let mut authenticator = SoftPasskey::new(true);
    let mut fields = answer(&page, &mut authenticator);
    fields.retain(|(name, _)| name != "name");
    fields.push(("name".into(), "Laptop".into()));
    let done = browser
        .post_as_is(&page.action_ending("/account/factors/passkey"), &fields)
        .await;
    assert_eq!(done.status, StatusCode::OK, "{done:?}");
    assert!(done.contains("Your passkey was added"), "{}", done.body);
    assert!(done.contains("Laptop"), "listed with its name");
    assert_eq!(idp.count("factors", "kind = 'passkey'"), 1);
    // The same answer again: its ceremony was taken.
    let again = browser
        .post_as_is(&page.action_ending("/account/factors/passkey"), &fields)
        .await;
    assert_eq!(
        again.status,
        StatusCode::FORBIDDEN,
        "one factor now: aal2 to add another"
    );
    assert_eq!(idp.count("factors", "kind = 'passkey'"), 1);
}

/// A software security key attested by a CA of its own, and that CA in a PEM file (its DER is
/// in the token's serialised form, unpadded base64url).
fn attested_token(dir: &std::path::Path) -> (SoftToken, std::path::PathBuf) {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let (token, _) = SoftToken::new(true).unwrap();
    let saved = serde_json::to_value(&token).unwrap();
    let der = URL_SAFE_NO_PAD
        .decode(saved["ca_cert"].as_str().unwrap())
        .unwrap();
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let file = dir.join("attestation-cas.pem");
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    std::fs::write(&file, pem).unwrap();
    (token, file)
}

#[tokio::test]
async fn with_attestation_cas_only_an_attested_authenticator_is_added_and_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let (mut token, file) = attested_token(dir.path());
    let idp = Idp::with(|s| {
        s.issuer = ISSUER.into();
        s.factors.passkey_attestation_cas = Some(file.clone());
    })
    .await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    let mut browser = Browser::new(&idp);
    browser.open_account("alice", PIN).await;
    // A passkey with no attestation chaining to the file's CA is refused.
    let page = browser.get("/account/factors/passkey").await;
    assert!(page.is("add-passkey"), "{page:?}");
    assert_eq!(options(&page)["publicKey"]["attestation"], "direct");
    let mut fields = answer(&page, &mut SoftPasskey::new(true));
    fields.retain(|(name, _)| name != "name");
    fields.push(("name".into(), "Laptop".into()));
    browser
        .post_as_is(&page.action_ending("/account/factors/passkey"), &fields)
        .await;
    assert_eq!(idp.count("factors", "kind = 'passkey'"), 0);
    // The security key attested by it is added.
    let page = browser.get("/account/factors/passkey").await;
    let mut fields = answer(&page, &mut token);
    fields.retain(|(name, _)| name != "name");
    fields.push(("name".into(), "Security key".into()));
    let done = browser
        .post_as_is(&page.action_ending("/account/factors/passkey"), &fields)
        .await;
    assert_eq!(done.status, StatusCode::OK, "{done:?}");
    assert!(done.contains("Your passkey was added"), "{}", done.body);
    assert_eq!(idp.count("factors", "kind = 'passkey'"), 1);

    // It signs in at the phishing-resistant level.
    idp.clock.advance(1);
    let essential = format!(r#"{{"id_token":{{"acr":{{"essential":true,"values":["{PR}"]}}}}}}"#);
    let page = to_second_factor(&mut browser, &[("claims", &essential), ("max_age", "0")]).await;
    assert!(page.contains("data-ceremony=\"get\""), "{}", page.body);
    let fields = answer(&page, &mut token);
    let done = browser
        .post_as_is(&page.action_ending("/second-factor/passkey"), &fields)
        .await;
    assert_eq!(claims_of(&idp, &done).await["acr"], PR);
}
