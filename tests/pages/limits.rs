//! Per-address abuse limits: beyond its limit, a sign-up, a client registration, or a PIN or
//! code try after too many wrong ones, from one address is refused with 429 and Retry-After,
//! and changes nothing. Right PINs and codes never count, and guesses sent at once get no
//! more than the limit.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{Browser, Idp, PASSWORD, PIN, Page, authorize};

/// The page says "too many" (429) with a `Retry-After` of `seconds` (the clock stood still).
fn refused_with_retry_after(page: &Page, seconds: &str) {
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert_eq!(page.retry_after.as_deref(), Some(seconds), "{page:?}");
}

fn details(username: &str) -> Vec<(&str, &str)> {
    vec![
        ("username", username),
        ("email", "someone@example.com"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ]
}

/// The sign-up form filled in with `username`'s details; the page that answers.
async fn sign_up_details(browser: &mut Browser<'_>, username: &str) -> Page {
    let form = browser.get("/signup").await;
    browser.submit(&form, &details(username)).await
}

/// A browser at the PIN step of `username`'s sign-in to the account page: the PIN page.
async fn at_account_pin(browser: &mut Browser<'_>, username: &str) -> Page {
    let (login, _) = browser.open("/account").await;
    let pin = browser
        .post(&login, &[("username", username), ("password", PASSWORD)])
        .await;
    let page = browser.follow(pin).await;
    assert!(page.is("pin"), "{page:?}");
    page
}

#[tokio::test]
async fn sign_ups_from_one_address_stop_at_the_limit_and_store_nothing() {
    let idp = Idp::with(|s| s.limits.signups_per_hour = 2).await;
    let mut browser = Browser::new(&idp);
    // A form with a mistake costs nothing.
    let form = browser.get("/signup").await;
    let refused = browser
        .submit(&form, &[("username", "x"), ("email", "a@example.com")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    for name in ["ann", "bob"] {
        let sent = sign_up_details(&mut browser, name).await;
        let pin_page = browser.follow(sent).await;
        let done = browser
            .submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
            .await;
        let done = browser.follow(done).await;
        assert!(done.is("signed-up"), "{done:?}");
    }
    let third = sign_up_details(&mut browser, "cat").await;
    refused_with_retry_after(&third, "1800");
    assert!(third.is("error-too-many"), "{}", third.body);
    // Probing whether a username is taken counts alike: past the limit, it is not answered.
    let probe = sign_up_details(&mut browser, "ann").await;
    assert_eq!(
        probe.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        probe.body
    );
    assert!(!probe.contains("taken"), "{}", probe.body);
    assert_eq!(idp.count("users", "TRUE"), 2);
    assert_eq!(idp.count("ephemeral", "kind = 'signup'"), 0);
}

#[tokio::test]
async fn registrations_from_one_address_stop_at_the_limit() {
    // Open registration (no initial access token), where such a limit matters most.
    let idp = Idp::with(|s| {
        s.limits.registrations_per_hour = 2;
        s.registration.require_initial_access_token = false;
    })
    .await;
    let metadata =
        json!({ "client_name": "Budget App", "redirect_uris": ["https://app.example/cb"] });
    let mut answers = Vec::new();
    for _ in 0..3 {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/register")
            .header("content-type", "application/json")
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [198, 51, 100, 1],
                40_000,
            ))))
            .body(axum::body::Body::from(metadata.to_string()))
            .unwrap();
        let (status, headers, _) = idp.call(request).await;
        answers.push((status, headers.get("retry-after").cloned()));
    }
    assert_eq!(answers[0].0, StatusCode::CREATED);
    assert_eq!(answers[1].0, StatusCode::CREATED);
    assert_eq!(answers[2].0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answers[2].1.as_ref().unwrap(), "1800");
    assert_eq!(idp.count("clients", "TRUE"), 2);
}

#[tokio::test]
async fn pin_tries_from_one_address_stop_at_the_limit_without_costing_the_account_a_try() {
    let idp = Idp::with(|s| s.limits.pin_tries_per_15_minutes = 2).await;
    idp.user("dora").await;
    let mut browser = Browser::new(&idp);
    let pin_page = at_account_pin(&mut browser, "dora").await;
    for _ in 0..2 {
        let wrong = browser.submit(&pin_page, &[("pin", "135790")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    }
    let refused = browser.submit(&pin_page, &[("pin", PIN)]).await;
    refused_with_retry_after(&refused, "450");
    assert_eq!(
        idp.count("users", "username = 'dora' AND pin_failures = 2"),
        1,
        "the refused try was not counted against the account"
    );
}

#[tokio::test]
async fn code_tries_from_one_address_stop_at_the_limit_without_spending_the_code() {
    let idp = Idp::with(|s| s.limits.code_tries_per_15_minutes = 2).await;
    idp.user("erin").await;
    // A browser the provider does not know: after the PIN it asks for a new-device code.
    let mut browser = Browser::new(&idp);
    let pin_page = at_account_pin(&mut browser, "erin").await;
    let sent = browser.submit(&pin_page, &[("pin", PIN)]).await;
    let device = browser.follow(sent).await;
    assert!(device.is("device-code"), "{}", device.body);
    for _ in 0..2 {
        let wrong = browser.submit(&device, &[("code", "000000")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    }
    // Five tries per code, two spent.
    assert_eq!(idp.count("one_time_codes", "tries_left = 3"), 1);
    let refused = browser.submit(&device, &[("code", "000000")]).await;
    refused_with_retry_after(&refused, "450");
    assert_eq!(
        idp.count("one_time_codes", "tries_left = 3"),
        1,
        "the refused try did not spend the code"
    );
}

#[tokio::test]
async fn recoveries_started_from_one_address_stop_at_the_limit_and_send_nothing() {
    let idp = Idp::with(|s| s.limits.recoveries_per_hour = 2).await;
    for name in ["fay", "gil", "hal"] {
        idp.user(name).await;
    }
    async fn start_recovery(idp: &Idp, name: &str) -> Page {
        let mut browser = Browser::new(idp);
        let pin_page = at_account_pin(&mut browser, name).await;
        let choose = browser.get(&pin_page.link("/recover")).await;
        let sent = browser.submit(&choose, &[("channel", "email")]).await;
        browser.follow(sent).await
    }
    for name in ["fay", "gil"] {
        let page = start_recovery(&idp, name).await;
        assert!(page.is("recovery-code"), "{}", page.body);
    }
    let refused = start_recovery(&idp, "hal").await;
    refused_with_retry_after(&refused, "1800");
    assert_eq!(idp.messages("", "recover your PIN").await, 2);
    assert_eq!(
        idp.count("one_time_codes", "purpose = 'recovery'"),
        2,
        "no code was made for the refused recovery"
    );
}

#[tokio::test]
async fn many_people_behind_one_address_sign_in_while_wrong_pins_from_it_are_throttled() {
    // An office behind one address: more right PINs and right new-device codes than the
    // limits allow wrong ones, and nobody is turned away.
    let idp = Idp::with(|s| {
        s.limits.pin_tries_per_15_minutes = 2;
        s.limits.code_tries_per_15_minutes = 2;
    })
    .await;
    let people = ["ivy", "jon", "kim", "lea", "max"];
    for name in people {
        idp.user(name).await;
    }
    for name in people {
        Browser::new(&idp).open_account(name, PIN).await;
    }
    // Wrong PINs from that address still count: past the limit, even a right one waits.
    let mut browser = Browser::new(&idp);
    let pin_page = at_account_pin(&mut browser, "ivy").await;
    for _ in 0..2 {
        let wrong = browser.submit(&pin_page, &[("pin", "135790")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    }
    let refused = browser.submit(&pin_page, &[("pin", PIN)]).await;
    refused_with_retry_after(&refused, "450");
}

/// A browser at the PIN step of `username`'s sign-in; the PIN page's path.
async fn at_pin(browser: &mut Browser<'_>, username: &str) -> String {
    let (login, _) = browser.open(&authorize("rp", &[])).await;
    let pin = browser
        .post(&login, &[("username", username), ("password", PASSWORD)])
        .await;
    assert!(pin.to().ends_with("/pin"), "{pin:?}");
    pin.to().to_owned()
}

#[tokio::test]
async fn wrong_pins_sent_at_once_from_one_address_get_no_more_than_the_limit() {
    let idp = Idp::with(|s| {
        s.limits.pin_tries_per_15_minutes = 3;
        s.new_device.enabled = false;
    })
    .await;
    idp.client("rp", true).await;
    let names = ["ann", "ben", "cal", "dee", "eve", "fay"];
    let mut browsers = Vec::new();
    let mut pages = Vec::new();
    for name in names {
        idp.user(name).await;
        let mut browser = Browser::new(&idp);
        pages.push(at_pin(&mut browser, name).await);
        browsers.push(browser);
    }
    // Every wrong PIN at once, from the one address: all of them pass a check that only
    // reads the count before any failure is recorded.
    let [a, b, c, d, e, f] = &mut browsers[..] else {
        unreachable!()
    };
    let wrong = [("pin", "000000")];
    let answers = tokio::join!(
        a.post(&pages[0], &wrong),
        b.post(&pages[1], &wrong),
        c.post(&pages[2], &wrong),
        d.post(&pages[3], &wrong),
        e.post(&pages[4], &wrong),
        f.post(&pages[5], &wrong),
    );
    let answers = [
        answers.0, answers.1, answers.2, answers.3, answers.4, answers.5,
    ];
    let checked = answers
        .iter()
        .filter(|p| p.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|p| p.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, refused), (3, 3), "{answers:?}");

    // Right PINs from the same address are not counted: with the allowance used up by
    // failures, they are refused until it drains, then get in, one after another.
    idp.clock.advance(15 * 60);
    let mut in_ = 0;
    for (browser, page) in browsers.iter_mut().zip(&pages) {
        if browser.post(page, &[("pin", PIN)]).await.gives_code() {
            in_ += 1;
        }
    }
    assert_eq!(in_, names.len(), "every right PIN gets in");
}
