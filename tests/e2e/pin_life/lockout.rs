//! Lockout that cannot be raced, password guessing slowed without lockout, support unlock,
//! and the lock notice.

use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;

use super::{NEW_PIN, REDIRECT, World, at_pin_page, lock, world};
use crate::sinks::Inbox;
use crate::support::*;

#[tokio::test]
async fn fifty_concurrent_wrong_pins_evaluate_at_most_five_and_lock() {
    let w = world().await;
    let browser = Browser::new(&w.idp);
    let page = at_pin_page(&w, &browser).await;
    let evaluated = concurrent_wrong_pins(&browser, &w.idp.issuer, &page, "000000", 50).await;
    assert_eq!(evaluated, 5, "exactly the allowance was evaluated");
    assert_eq!(w.idp.count("users", "pin_failures = 5").await, 1);
    assert_eq!(w.idp.count("audit_log", "kind = 'pin_wrong'").await, 5);
    assert_eq!(w.idp.count("audit_log", "kind = 'pin_locked'").await, 1);
    // The person is told.
    w.mail
        .wait_for("alice@example.com", "Your PIN is locked", 0)
        .await;
}

#[tokio::test]
async fn wrong_passwords_are_slowed_but_never_lock() {
    let w = world().await;
    let browser = Browser::new(&w.idp);
    let login = browser.open(&w.rp.start(&[], &[], true).url).await;
    let mut throttled = None;
    for _ in 0..8 {
        let page = browser
            .submit(
                &login,
                &[("username", "alice"), ("password", "wrong password!")],
            )
            .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(page);
            break;
        }
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let throttled = throttled.expect("guessing is slowed down");
    assert!(
        throttled.contains("Too many sign-in attempts. Wait"),
        "{}",
        throttled.body
    );
    // Even the right password waits its turn, and nothing was locked.
    let early = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(early.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(w.idp.count("users", "pin_failures = 0").await, 1);
    // An unknown username is slowed the same way.
    let mut unknown_throttled = false;
    for _ in 0..8 {
        let page = browser
            .submit(
                &login,
                &[("username", "nobody"), ("password", "wrong password!")],
            )
            .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            unknown_throttled = true;
            break;
        }
    }
    assert!(unknown_throttled);
    // After the wait, the right password works.
    let wait: u64 = throttled
        .body
        .split("Wait ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(
        wait.max(early_wait(&early)) + 1,
    ))
    .await;
    let page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(page.is("pin"), "{}", page.body);
    assert!(
        w.idp
            .count("audit_log", "kind = 'password_throttled'")
            .await
            >= 2
    );
}

fn early_wait(page: &Page) -> u64 {
    page.body
        .split("Wait ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

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
