//! The four assurance levels as a relying party on the `openidconnect` crate sees them:
//! discovery names them lowest first, each sign-in's ID token carries exactly the `acr` and
//! `amr` it reached, an authenticator app's code is taken once, and the phishing-resistant
//! level asked for as essential, by a person with no passkey, ends in
//! `unmet_authentication_requirements`.

use idp_factors::totp;
use openidconnect::core::{CoreIdTokenClaims, CoreJwsSigningAlgorithm};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const L1: &str = "urn:idp:acr:password-pin";
const L2: &str = "urn:idp:acr:password-pin-device";
const AAL2: &str = "urn:idp:acr:aal2";
const PR: &str = "urn:idp:acr:aal2-phishing-resistant";

async fn setup(env: &[(&str, &str)]) -> (TestIdp, RelyingParty) {
    let idp = TestIdp::start_with(env).await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    (idp, rp)
}

/// The relying party's view of the answer `done` brings: the ID token's `acr` and `amr`.
async fn acr_and_amr(rp: &RelyingParty, done: Page, start: AuthStart) -> (String, Vec<String>) {
    let location = done.location.clone().unwrap_or_else(|| panic!("{done:?}"));
    let code = param(&location, "code").unwrap_or_else(|| panic!("no code: {location}"));
    let tokens = rp
        .exchange(&code, start.verifier)
        .await
        .expect("code exchange");
    let claims: CoreIdTokenClaims = rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    let acr = claims.auth_context_ref().expect("acr").to_string();
    let amr = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|m| m.to_string())
        .collect();
    (acr, amr)
}

/// The id of the first factor the account page lists in its removal form.
fn factor_id(account: &Page) -> String {
    let form = account.form_to("/account/factors/remove");
    let start = form
        .body
        .find("<option value=\"")
        .expect("a factor to remove")
        + 15;
    form.body[start..start + form.body[start..].find('"').unwrap()].to_owned()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Password and PIN for a request with `extra`, in `browser`: the page after the PIN (the
/// new-device code passed where asked).
async fn password_and_pin(
    rp: &RelyingParty,
    browser: &Browser,
    extra: &[(&str, &str)],
) -> (AuthStart, Page) {
    let start = rp.start(&["openid"], extra, true);
    let login = browser.open(&start.url).await;
    let after = browser.sign_in(&login, "alice", PASSWORD, PIN).await;
    (start, after)
}

#[tokio::test]
async fn each_level_gives_exactly_its_acr_and_amr() {
    // The new-device check off, so that the first level is reachable on a new browser.
    let (idp, rp) = setup(&[("IDP_NEW_DEVICE__ENABLED", "false")]).await;
    let discovery: Value = reqwest::get(format!("{}/.well-known/openid-configuration", idp.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["acr_values_supported"],
        serde_json::json!([L1, L2, AAL2, PR])
    );

    let browser = Browser::new(&idp);
    let (start, done) = password_and_pin(&rp, &browser, &[("acr_values", L1)]).await;
    assert_eq!(
        acr_and_amr(&rp, done, start).await,
        (L1.into(), vec!["pwd".into(), "pin".into()])
    );

    // The device level checks the browser even with the operator's check off.
    let (start, done) =
        password_and_pin(&rp, &browser, &[("acr_values", L2), ("prompt", "login")]).await;
    let got = acr_and_amr(&rp, done, start).await;
    assert_eq!(
        got,
        (L2.into(), vec!["pwd".into(), "pin".into(), "otp".into()])
    );

    // aal2: Alice has no factor yet, and this browser is trusted now: she adds an app.
    let (start, page) =
        password_and_pin(&rp, &browser, &[("acr_values", AAL2), ("prompt", "login")]).await;
    assert!(page.is("second-factor"), "{page:?}");
    let add = browser.get(&page.link("/add-app")).await;
    assert!(add.is("add-app"), "{add:?}");
    let secret = add.shown_key();
    let first = totp::code_at(&secret, now());
    let done = browser
        .submit(&add, &[("otp", &first), ("name", "Phone")])
        .await;
    let got = acr_and_amr(&rp, done, start).await;
    assert_eq!(
        got,
        (
            AAL2.into(),
            vec!["pwd".into(), "pin".into(), "otp".into(), "mfa".into()]
        )
    );

    // Again: the code already used is refused; the app's next code (one step of skew) is not.
    let (start, page) =
        password_and_pin(&rp, &browser, &[("acr_values", AAL2), ("prompt", "login")]).await;
    assert!(page.is("second-factor"), "{page:?}");
    let replayed = browser.submit(&page, &[("otp", &first)]).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED, "{replayed:?}");
    assert!(replayed.contains("already used"), "{}", replayed.body);
    let next = totp::code_at(&secret, now() + 30);
    let done = browser.submit(&replayed, &[("otp", &next)]).await;
    assert_eq!(acr_and_amr(&rp, done, start).await.0, AAL2);

    // Saved codes, made on the account page of this session (at aal2): one reaches aal2, once.
    let account = browser.get("/account").await;
    assert!(account.is("account"), "{account:?}");
    let made = browser
        .submit_to(&account, "/account/factors/saved-codes", &[])
        .await;
    assert!(made.is("saved-codes"), "{made:?}");
    let codes = made.saved_codes();
    assert_eq!(codes.len(), 10);
    let (start, page) =
        password_and_pin(&rp, &browser, &[("acr_values", AAL2), ("prompt", "login")]).await;
    let done = browser
        .submit_to(
            &page,
            &page.action_ending("/second-factor"),
            &[("recovery_code", &codes[0])],
        )
        .await;
    let got = acr_and_amr(&rp, done, start).await;
    assert_eq!(
        got,
        (
            AAL2.into(),
            vec!["pwd".into(), "pin".into(), "otp".into(), "mfa".into()]
        )
    );
    let (_, page) =
        password_and_pin(&rp, &browser, &[("acr_values", AAL2), ("prompt", "login")]).await;
    let again = browser
        .submit_to(
            &page,
            &page.action_ending("/second-factor"),
            &[("recovery_code", &codes[0])],
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNAUTHORIZED,
        "a saved code works once: {again:?}"
    );

    // Removing the app needs the PIN (this session is at aal2, from the saved code).
    let account = browser.get("/account").await;
    let app_id = factor_id(&account);
    let wrong = browser
        .submit_to(
            &account,
            "/account/factors/remove",
            &[("id", &app_id), ("pin", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
    assert_eq!(idp.count("factors", "kind = 'app'").await, 1);
    let removed = browser
        .submit_to(
            &account,
            "/account/factors/remove",
            &[("id", &app_id), ("pin", PIN)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{removed:?}");
    assert_eq!(idp.count("factors", "kind = 'app'").await, 0);

    // The phishing-resistant level, essential, for a person with no passkey: unmet.
    let essential = format!(r#"{{"id_token":{{"acr":{{"essential":true,"values":["{PR}"]}}}}}}"#);
    let (start, page) = password_and_pin(
        &rp,
        &browser,
        &[("claims", &essential), ("prompt", "login")],
    )
    .await;
    assert!(page.is("second-factor"), "{page:?}");
    assert!(
        !page.contains("name=\"otp\""),
        "an app does not reach this level"
    );
    let decline = page.action_ending("/decline");
    let answer = browser.submit_to(&page, &decline, &[]).await;
    let location = answer.location.expect("back to the relying party");
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(start.state.secret().as_str())
    );
}
