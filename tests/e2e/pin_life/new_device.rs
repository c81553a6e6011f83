//! The code a browser the provider does not know needs after the PIN, and what it proves.

use openidconnect::core::CoreJwsSigningAlgorithm;

use super::{REDIRECT, world};
use crate::support::*;

#[tokio::test]
async fn a_new_browser_needs_a_code_after_the_pin_and_is_trusted_after() {
    let w = world().await;
    let browser = Browser::new(&w.idp);
    let mut start = w.rp.start(&[], &[], true);
    let login = browser.open(&start.url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let check = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert!(check.is("device-code"), "{}", check.body);
    assert!(
        check.contains("a•••e@example.com"),
        "where the code went, masked"
    );
    assert!(
        check.location.is_none(),
        "no code for the relying party yet"
    );
    let code = w.mail.code("alice@example.com", DEVICE_CODE, 0).await;
    let wrong = browser
        .submit(
            &check,
            &[("code", if code == "000000" { "111111" } else { "000000" })],
        )
        .await;
    assert!(
        wrong.contains("That code is not correct. 4 tries left."),
        "{}",
        wrong.body
    );
    // A new code replaces the old one.
    let resend = wrong.form().0 + "/resend";
    let resent = browser.submit_to(&wrong, &resend, &[]).await;
    assert!(resent.is("device-code"));
    let code = w.mail.code("alice@example.com", DEVICE_CODE, 1).await;
    let done = browser.submit(&resent, &[("code", &code)]).await;
    let location = done.location.expect("back to the relying party");
    let tokens =
        w.rp.exchange(&param(&location, "code").unwrap(), start.verifier.take())
            .await
            .unwrap();
    let claims = w.rp.verify_id_token(
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
    assert_eq!(amr, ["pwd", "pin", "otp"]);
    w.mail
        .wait_for("alice@example.com", "New sign-in to your account", 0)
        .await;
    assert_eq!(w.idp.count("devices", "TRUE").await, 1);

    // The same browser, signing in again, is trusted: no code.
    let mut again = w.rp.start(&[], &[("prompt", "login")], true);
    let login = browser.open(&again.url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let done = browser.submit(&pin_page, &[("pin", PIN)]).await;
    let location = done
        .location
        .expect("straight back: the browser is trusted");
    let tokens =
        w.rp.exchange(&param(&location, "code").unwrap(), again.verifier.take())
            .await
            .unwrap();
    let claims = w.rp.verify_id_token(
        &tokens,
        &again.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(amr, ["pwd", "pin"]);

    // Forgotten on the account page, it needs a code again.
    let account = browser.open("/account").await;
    assert!(account.is("account"));
    let forgotten = browser
        .submit_to(&account, "/account/devices/forget", &[])
        .await;
    assert!(
        forgotten.contains("That device is forgotten"),
        "{}",
        forgotten.body
    );
    let login = browser
        .open(&w.rp.start(&[], &[("prompt", "login")], true).url)
        .await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let check = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert!(check.is("device-code"));
}

#[tokio::test]
async fn the_new_device_check_can_be_turned_off() {
    let idp = TestIdp::start_with(&[("IDP_NEW_DEVICE__ENABLED", "false")]).await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let done = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert!(done.location.is_some_and(|l| l.starts_with(REDIRECT)));
    assert_eq!(idp.mail.count(DEVICE_CODE), 0);
}
