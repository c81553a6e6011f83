//! Limits that need the real process: a busy server turning sign-ins away, and support's
//! unlock (the command line) after a person's wrong codes reach their cap. The per-address
//! limits are handler tests (`tests/pages/limits.rs`).

use reqwest::StatusCode;

use crate::support::*;

/// Whether a hash is running now, by the provider's metrics.
async fn hashing(idp: &TestIdp) -> bool {
    let metrics = reqwest::get(format!("{}/metrics", idp.issuer))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics.lines().any(|line| line == "idp_hash_running 1")
}

#[tokio::test]
async fn sign_ins_a_busy_server_turns_away_are_not_counted_as_failures() {
    // One hash at a time, none waiting, and each slow enough to turn several sign-ins away.
    let idp = TestIdp::start_with(&[
        ("IDP_LIMITS__PIN_TRIES_PER_15_MINUTES", "2"),
        ("IDP_HASHING__MAX_CONCURRENT", "1"),
        ("IDP_HASHING__QUEUE_TIMEOUT_SECS", "0"),
        ("IDP_HASHING__MEMORY_KIB", "65536"),
        ("IDP_HASHING__ITERATIONS", "32"),
    ])
    .await;
    idp.create_user("bob");
    idp.create_user("ann");
    let (bob, ann) = (Browser::new(&idp), Browser::new(&idp));
    let (bob_login, ann_login) = (bob.open("/account").await, ann.open("/account").await);
    let bob = std::sync::Arc::new(bob);
    let bob_signs_in = tokio::spawn({
        let bob = bob.clone();
        async move {
            bob.submit(&bob_login, &[("username", "bob"), ("password", PASSWORD)])
                .await
        }
    });
    while !hashing(&idp).await {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // More turned away than the failures a username has free (five) before it must wait.
    for _ in 0..7 {
        let turned_away = ann
            .submit(&ann_login, &[("username", "ann"), ("password", PASSWORD)])
            .await;
        assert_eq!(
            turned_away.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            turned_away.body
        );
        assert_eq!(turned_away.retry_after.as_deref(), Some("30"));
    }
    let bob_at_pin = bob_signs_in.await.unwrap();
    assert!(bob_at_pin.is("pin"), "{}", bob_at_pin.body);
    // Ann is not made to wait for what the server could not do: her next try is checked.
    let ann_at_pin = ann
        .submit(&ann_login, &[("username", "ann"), ("password", PASSWORD)])
        .await;
    assert!(ann_at_pin.is("pin"), "{}", ann_at_pin.body);
    // Nor do PINs turned away count against her address's PIN tries (two here).
    let bob_enters_pin = tokio::spawn(async move { bob.submit_pin(&bob_at_pin, PIN).await });
    while !hashing(&idp).await {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    for _ in 0..3 {
        let turned_away = ann.submit(&ann_at_pin, &[("pin", PIN)]).await;
        assert_eq!(
            turned_away.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            turned_away.body
        );
    }
    bob_enters_pin.await.unwrap();
    let past_pin = ann.submit(&ann_at_pin, &[("pin", PIN)]).await;
    assert!(past_pin.is("device-code"), "{}", past_pin.body);
    assert_eq!(
        idp.count("users", "username = 'ann' AND pin_failures = 0")
            .await,
        1
    );
}

#[tokio::test]
async fn wrong_codes_for_one_person_stop_at_the_cap_however_many_new_codes_are_sent() {
    let idp = TestIdp::start_with(&[("IDP_CODES__MAX_FAILURES", "7")]).await;
    idp.create_user("nia");
    // Each sign-in on a browser the provider does not know sends a new-device code with five
    // tries of its own: five wrong on the first, two on the second make seven in a row.
    for tries in [5, 2] {
        let browser = Browser::new(&idp);
        let pin_page = browser.at_pin_step("nia").await;
        let device = browser.submit(&pin_page, &[("pin", PIN)]).await;
        assert!(device.is("device-code"), "{}", device.body);
        for _ in 0..tries {
            let wrong = browser.submit(&device, &[("code", "000000")]).await;
            assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
        }
    }
    // A fresh code, even typed right, is refused now: the person needs support.
    let browser = Browser::new(&idp);
    let codes_before = browser.device_codes_sent();
    let pin_page = browser.at_pin_step("nia").await;
    let device = browser.submit(&pin_page, &[("pin", PIN)]).await;
    let refused = browser.pass_device_check(device, codes_before).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.is("error-codes-blocked"), "{}", refused.body);
    // Support's unlock clears the count (and, as always, asks for a new PIN).
    let unlocked = idp.cli(&["user", "unlock", "nia"], "");
    assert!(unlocked.status.success());
    assert_eq!(
        idp.count("users", "username = 'nia' AND code_failures = 0")
            .await,
        1
    );
}
