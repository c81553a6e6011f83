//! Sign-up in a browser, then a sign-in at a relying party (the refusals are in the handler
//! tests, `tests/pages/signup.rs`).

use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn details<'a>(username: &'a str, password: &'a str, confirm: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", username),
        ("email", "bea@example.com"),
        ("phone", "+44 7700 900123"),
        ("password", password),
        ("password_confirm", confirm),
    ]
}

#[tokio::test]
async fn a_new_user_signs_up_then_signs_in_to_a_relying_party() {
    let idp = TestIdp::start().await;
    let browser = Browser::new(&idp);
    let form = browser.get("/signup").await;
    assert_eq!(form.status, StatusCode::OK);
    let pin_page = browser
        .submit(&form, &details("Bea", PASSWORD, PASSWORD))
        .await;
    assert!(pin_page.is("signup-pin"), "{}", pin_page.body);
    assert_eq!(
        idp.count("users", "TRUE").await,
        0,
        "nothing stored before the PIN"
    );
    let done = browser
        .submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.is("signed-up"), "{}", done.body);
    assert_eq!(
        idp.count("users", "username = 'bea' AND pin_hash IS NOT NULL")
            .await,
        1
    );
    assert_eq!(idp.count("ephemeral", "kind = 'signup'").await, 0);

    // A relying party signs the new user in, in a fresh browser, with password and PIN.
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let other = Browser::new(&idp);
    let mut start = rp.start(&[], &[], true);
    let tokens = rp.sign_in(&other, "bea", &mut start).await;
    rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
}

#[tokio::test]
async fn sign_up_started_from_a_login_page_continues_to_the_relying_party() {
    let idp = TestIdp::start().await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&[], &[], true);
    let login = browser.open(&start.url).await;
    let link_start = login
        .body
        .find("/signup?interaction=")
        .expect("a sign-up link");
    let link = &login.body[link_start..];
    let link = link[..link.find('"').unwrap()].replace("&amp;", "&");
    let form = browser.get(&link).await;
    let pin_page = browser
        .submit(&form, &details("bea", PASSWORD, PASSWORD))
        .await;
    let done = browser
        .submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
        .await;
    let location = done.location.expect("back to the relying party");
    assert!(location.starts_with(REDIRECT), "{location}");
    let tokens = rp
        .exchange(&param(&location, "code").unwrap(), start.verifier)
        .await
        .unwrap();
    let claims = rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(amr, ["pwd", "pin"]);
}
