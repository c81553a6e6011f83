//! Per-address limits on PIN tries: failures count, right PINs do not, and guesses sent at
//! once get no more than the limit.

use axum::http::StatusCode;

use crate::support::{Browser, Idp, PASSWORD, PIN, authorize};

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
