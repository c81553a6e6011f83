//! Per-address abuse limits: beyond its limit, a sign-up, a client registration, or a PIN or
//! code try after too many wrong ones, from one address is refused with 429 and Retry-After,
//! and changes nothing. Right PINs and codes never count.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

/// The page says "too many" (429) with a `Retry-After` of `seconds`, less the few seconds the
/// test may have taken since the first try.
fn refused_with_retry_after(page: &Page, seconds: &str) {
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    let most: i64 = seconds.parse().unwrap();
    let wait: i64 = page.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((most - 10..=most).contains(&wait), "{wait}, not {most}");
}

fn details(username: &str) -> Vec<(&str, &str)> {
    vec![
        ("username", username),
        ("email", "someone@example.com"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ]
}

#[tokio::test]
async fn sign_ups_from_one_address_stop_at_the_limit_and_store_nothing() {
    let idp = TestIdp::start_with(&[("IDP_LIMITS__SIGNUPS_PER_HOUR", "2")]).await;
    let browser = Browser::new(&idp);
    // A form with a mistake costs nothing.
    let form = browser.get("/signup").await;
    let refused = browser
        .submit(&form, &[("username", "x"), ("email", "a@example.com")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    for name in ["ann", "bob"] {
        let done = browser.sign_up(name).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    }
    let form = browser.get("/signup").await;
    let third = browser.submit(&form, &details("cat")).await;
    refused_with_retry_after(&third, "1800");
    assert!(third.is("error-too-many"), "{}", third.body);
    // Probing whether a username is taken counts alike: past the limit, it is not answered.
    let form = browser.get("/signup").await;
    let probe = browser.submit(&form, &details("ann")).await;
    assert_eq!(
        probe.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        probe.body
    );
    assert!(!probe.contains("taken"), "{}", probe.body);
    assert_eq!(idp.count("users", "TRUE").await, 2);
    assert_eq!(idp.count("ephemeral", "kind = 'signup'").await, 0);
}

#[tokio::test]
async fn registrations_from_one_address_stop_at_the_limit() {
    // Open registration (no initial access token), where such a limit matters most.
    let idp = TestIdp::start_with(&[
        ("IDP_LIMITS__REGISTRATIONS_PER_HOUR", "2"),
        ("IDP_REGISTRATION__REQUIRE_INITIAL_ACCESS_TOKEN", "false"),
    ])
    .await;
    let http = reqwest::Client::new();
    let metadata =
        json!({ "client_name": "Budget App", "redirect_uris": ["https://app.example/cb"] });
    let before = idp.count("clients", "TRUE").await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = http
            .post(format!("{}/register", idp.issuer))
            .json(&metadata)
            .send()
            .await
            .unwrap();
        statuses.push((
            response.status(),
            response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned()),
        ));
    }
    assert_eq!(statuses[0].0, StatusCode::CREATED);
    assert_eq!(statuses[1].0, StatusCode::CREATED);
    assert_eq!(statuses[2].0, StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = statuses[2].1.as_deref().unwrap().parse().unwrap();
    assert!((1790..=1800).contains(&wait), "{wait}");
    assert_eq!(idp.count("clients", "TRUE").await, before + 2);
}

#[tokio::test]
async fn pin_tries_from_one_address_stop_at_the_limit_without_costing_the_account_a_try() {
    let idp = TestIdp::start_with(&[("IDP_LIMITS__PIN_TRIES_PER_15_MINUTES", "2")]).await;
    idp.create_user("dora");
    let browser = Browser::new(&idp);
    let pin_page = browser.at_pin_step("dora").await;
    for _ in 0..2 {
        let wrong = browser.submit(&pin_page, &[("pin", "135790")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    }
    let refused = browser.submit(&pin_page, &[("pin", PIN)]).await;
    refused_with_retry_after(&refused, "450");
    assert_eq!(
        idp.count("users", "username = 'dora' AND pin_failures = 2")
            .await,
        1,
        "the refused try was not counted against the account"
    );
}

#[tokio::test]
async fn code_tries_from_one_address_stop_at_the_limit_without_spending_the_code() {
    let idp = TestIdp::start_with(&[("IDP_LIMITS__CODE_TRIES_PER_15_MINUTES", "2")]).await;
    idp.create_user("erin");
    // A browser the provider does not know: after the PIN it asks for a new-device code.
    let browser = Browser::new(&idp);
    let pin_page = browser.at_pin_step("erin").await;
    let device = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert!(device.is("device-code"), "{}", device.body);
    for _ in 0..2 {
        let wrong = browser.submit(&device, &[("code", "000000")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    }
    // Five tries per code, two spent.
    assert_eq!(idp.count("one_time_codes", "tries_left = 3").await, 1);
    let refused = browser.submit(&device, &[("code", "000000")]).await;
    refused_with_retry_after(&refused, "450");
    assert_eq!(
        idp.count("one_time_codes", "tries_left = 3").await,
        1,
        "the refused try did not spend the code"
    );
}

#[tokio::test]
async fn recoveries_started_from_one_address_stop_at_the_limit_and_send_nothing() {
    let idp = TestIdp::start_with(&[("IDP_LIMITS__RECOVERIES_PER_HOUR", "2")]).await;
    for name in ["fay", "gil", "hal"] {
        idp.create_user(name);
        // The first sign-in confirms the e-mail address, the channel a recovery code uses.
        Browser::new(&idp).open_account(name, PIN).await;
    }
    let start_recovery = |name: &'static str| {
        let idp = &idp;
        async move {
            let browser = Browser::new(idp);
            let pin_page = browser.at_pin_step(name).await;
            let choose = browser.get(&pin_page.link("/recover")).await;
            browser.submit(&choose, &[("channel", "email")]).await
        }
    };
    for name in ["fay", "gil"] {
        let page = start_recovery(name).await;
        assert!(page.is("recovery-code"), "{}", page.body);
    }
    let refused = start_recovery("hal").await;
    refused_with_retry_after(&refused, "1800");
    assert_eq!(idp.mail.count("recover your PIN"), 2);
    assert_eq!(
        idp.count("one_time_codes", "purpose = 'recovery'").await,
        2,
        "no code was made for the refused recovery"
    );
}

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
async fn many_people_behind_one_address_sign_in_while_wrong_pins_from_it_are_throttled() {
    // An office behind one address: more right PINs and right new-device codes than the
    // limits allow wrong ones, and nobody is turned away.
    let idp = TestIdp::start_with(&[
        ("IDP_LIMITS__PIN_TRIES_PER_15_MINUTES", "2"),
        ("IDP_LIMITS__CODE_TRIES_PER_15_MINUTES", "2"),
    ])
    .await;
    let people = ["ivy", "jon", "kim", "lea", "max"];
    for name in people {
        idp.create_user(name);
    }
    for name in people {
        Browser::new(&idp).open_account(name, PIN).await;
    }
    // Wrong PINs from that address still count: past the limit, even a right one waits.
    let browser = Browser::new(&idp);
    let pin_page = browser.at_pin_step("ivy").await;
    for _ in 0..2 {
        let wrong = browser.submit(&pin_page, &[("pin", "135790")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    }
    let refused = browser.submit(&pin_page, &[("pin", PIN)]).await;
    refused_with_retry_after(&refused, "450");
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
