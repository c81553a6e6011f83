//! Support unlock from the command line, and the lock notice in the outbox listed by it (the
//! lockout itself and password slowing are handler tests, `tests/pages/pin_life.rs`).

use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;

use super::{NEW_PIN, REDIRECT, World, at_pin_page, lock, world};
use crate::sinks::Inbox;
use crate::support::*;

#[tokio::test]
async fn support_unlock_makes_the_user_choose_a_new_pin() {
    let w = world().await;
    lock(&w, &Browser::new(&w.idp)).await;
    let out = w.idp.cli(&["user", "unlock", "alice"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        w.idp
            .count("audit_log", "kind = 'pin_unlocked' AND actor = 'cli'")
            .await,
        1
    );
    let missing = w.idp.cli(&["user", "unlock", "nobody"], "");
    assert!(!missing.status.success());

    let browser = Browser::new(&w.idp);
    let mut start = w.rp.start(&[], &[], true);
    let login = browser.open(&start.url).await;
    let new_pin = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(new_pin.is("new-pin"), "{}", new_pin.body);
    let weak = browser
        .submit(&new_pin, &[("pin", "123456"), ("pin_confirm", "123456")])
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    let codes_before = browser.device_codes_sent();
    let device_check = browser
        .submit(&weak, &[("pin", NEW_PIN), ("pin_confirm", NEW_PIN)])
        .await;
    assert!(
        device_check.is("device-code"),
        "a new browser still needs its code"
    );
    let done = browser.pass_device_check(device_check, codes_before).await;
    let code = param(&done.location.expect("back to the relying party"), "code").unwrap();
    let tokens = w.rp.exchange(&code, start.verifier.take()).await.unwrap();
    w.rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    w.mail
        .wait_for("alice@example.com", "Your PIN was changed", 0)
        .await;
    // The new PIN is the PIN from now on.
    let other = Browser::new(&w.idp);
    let page = at_pin_page(&w, &other).await;
    let wrong_old = other.submit(&page, &[("pin", PIN)]).await;
    assert!(wrong_pin_counted(&wrong_old));
}

#[tokio::test]
async fn without_smtp_notifications_go_to_the_outbox() {
    let idp = TestIdp::start_with_outbox().await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let w = World {
        idp,
        rp,
        mail: Inbox::default(),
        texts: Inbox::default(),
    };
    lock(&w, &Browser::new(&w.idp)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = w.idp.cli(&["outbox", "list"], "");
        assert!(out.status.success());
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(message) = list.as_array().unwrap().first() {
            assert_eq!(message["channel"], "email");
            assert_eq!(message["to"], "alice@example.com");
            assert_eq!(message["subject"], "Your PIN is locked");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the notice reaches the outbox"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
