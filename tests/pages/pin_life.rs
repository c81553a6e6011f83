//! The PIN's life in one process: fifty wrong PINs at once evaluate five and lock it; wrong
//! passwords are slowed but never lock; a new-device code expires; and proofs never carry
//! over to another person who signs in on the same page.

use axum::http::StatusCode;

use crate::support::{Browser, Idp, PASSWORD, PIN, Page, authorize};

async fn setup(adjust: impl FnOnce(&mut idp_server::config::Settings)) -> Idp {
    let idp = Idp::with(adjust).await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    idp
}

/// Password right, then the PIN page.
async fn at_pin_page(browser: &mut Browser<'_>, username: &str) -> (String, Page) {
    let (login, _) = browser.open(&authorize("rp", &[])).await;
    let sent = browser
        .post(&login, &[("username", username), ("password", PASSWORD)])
        .await;
    let page = browser.follow(sent).await;
    assert!(page.is("pin"), "{page:?}");
    (login, page)
}

/// Whether `answer` to a wrong PIN says it was checked and counted: the PIN page again, or
/// the lock page of the PIN that locked it.
fn wrong_pin_counted(answer: &Page) -> bool {
    (answer.is("pin") && answer.status == StatusCode::UNAUTHORIZED) || answer.is("locked-now")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_wrong_pins_evaluate_at_most_five_and_lock() {
    // No per-address limit (0): the person's own allowance is what stops the guesses. And no
    // guess is turned away for a busy machine (a hash waits its turn however long): each is
    // either evaluated or meets the lock.
    let idp = setup(|s| {
        s.limits.pin_tries_per_15_minutes = 0;
        s.hashing.queue_timeout_secs = 600;
    })
    .await;
    let mut browser = Browser::new(&idp);
    let (_, page) = at_pin_page(&mut browser, "alice").await;
    let (action, mut fields) = page.form();
    fields.push(("pin".into(), "000000".into()));
    let attempts = (0..50).map(|_| {
        let mut copy = browser.clone();
        let (action, fields) = (action.clone(), fields.clone());
        async move { copy.post_as_is(&action, &fields).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let mut evaluated = 0;
    for answer in answers {
        if wrong_pin_counted(&answer) {
            evaluated += 1;
        } else {
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{answer:?}");
            assert!(answer.is("locked"), "{answer:?}");
        }
    }
    assert_eq!(evaluated, 5, "exactly the allowance was evaluated");
    assert_eq!(idp.count("users", "pin_failures = 5"), 1);
    assert_eq!(idp.count("audit_log", "kind = 'pin_wrong'"), 5);
    assert_eq!(idp.count("audit_log", "kind = 'pin_locked'"), 1);
    // The person is told.
    assert_eq!(
        idp.notice("alice@example.com", "Your PIN is locked").await,
        1
    );
}

/// The seconds a "too many" page says to wait.
fn wait_of(page: &Page) -> i64 {
    page.body
        .split("Wait ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no wait said: {page:?}"))
}

#[tokio::test]
async fn wrong_passwords_are_slowed_but_never_lock() {
    let idp = setup(|_| {}).await;
    let mut browser = Browser::new(&idp);
    let (login, _) = browser.open(&authorize("rp", &[])).await;
    let guess = |username: &'static str| [("username", username), ("password", "wrong password!")];
    let mut throttled = None;
    for _ in 0..8 {
        let page = browser.post(&login, &guess("alice")).await;
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
    let right = [("username", "alice"), ("password", PASSWORD)];
    let early = browser.post(&login, &right).await;
    assert_eq!(early.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(idp.count("users", "pin_failures = 0"), 1);
    // An unknown username is slowed the same way.
    let mut unknown_throttled = false;
    for _ in 0..8 {
        let page = browser.post(&login, &guess("nobody")).await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            unknown_throttled = true;
            break;
        }
    }
    assert!(unknown_throttled);
    // After the wait, the right password works.
    idp.clock
        .advance(wait_of(&throttled).max(wait_of(&early)) + 1);
    let page = browser.post(&login, &right).await;
    assert!(page.to().ends_with("/pin"), "{page:?}");
    assert!(idp.count("audit_log", "kind = 'password_throttled'") >= 2);
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let idp = setup(|s| s.codes.lifetime_secs = 1).await;
    let mut browser = Browser::new(&idp);
    let (_, pin_page) = at_pin_page(&mut browser, "alice").await;
    let sent = browser.submit(&pin_page, &[("pin", PIN)]).await;
    let check = browser.follow(sent).await;
    assert!(check.is("device-code"), "{check:?}");
    let code = idp.code_sent_to("alice@example.com").await.unwrap();
    idp.clock.advance(2);
    let late = browser.submit(&check, &[("code", &code)]).await;
    assert_eq!(late.status, StatusCode::GONE);
    assert!(late.contains("This code has expired"), "{}", late.body);
    assert_eq!(idp.count("devices", "TRUE"), 0, "nothing trusted");
    assert_eq!(idp.count("sessions", "TRUE"), 0, "no session");
}

#[tokio::test]
async fn proofs_do_not_carry_over_when_another_user_signs_in_on_the_same_page() {
    let idp = setup(|_| {}).await;
    // Mallory has an account of her own, with an address she reads.
    idp.user("mallory").await;
    let mut browser = Browser::new(&idp);
    let (login, pin_page) = at_pin_page(&mut browser, "mallory").await;
    let sent = browser.submit(&pin_page, &[("pin", PIN)]).await;
    let check = browser.follow(sent).await;
    assert!(check.is("device-code"), "{check:?}");
    let code = idp.code_sent_to("mallory@example.com").await.unwrap();
    // She knows alice's password, but not her PIN: the password step again, as alice ...
    let again = browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(again.to().ends_with("/pin"), "{again:?}");
    // ... and then her own code on the device page: refused, alice's PIN was never given.
    let refused = browser.submit(&check, &[("code", &code)]).await;
    assert!(
        refused.to().ends_with("/pin"),
        "back to alice's PIN step: {refused:?}"
    );
    assert_eq!(idp.count("sessions", "TRUE"), 0);
    assert_eq!(
        idp.count(
            "users",
            "username = 'alice' AND email = 'alice@example.com'"
        ),
        1
    );
    assert_eq!(idp.count("devices", "TRUE"), 0);
}

/// On Redis (`IDP_TEST_REDIS_URL`), where an attempt's two counts (the username's and the
/// address's) are taken in one step and given back in one: the free failures, then a wait;
/// an attempt refused to wait is not counted (the wait does not grow); the right password
/// after the wait clears the username's failures, so the next wrong one is free again.
#[tokio::test]
async fn wrong_passwords_are_slowed_alike_on_redis() {
    let Ok(redis) = std::env::var("IDP_TEST_REDIS_URL") else {
        eprintln!("skipped: IDP_TEST_REDIS_URL is not set");
        return;
    };
    let prefix = format!("pin-life-{}:", idp_core::random::random_token(6));
    let idp = setup(move |s| {
        s.redis_url = Some(redis);
        s.redis_key_prefix = prefix;
    })
    .await;
    let mut browser = Browser::new(&idp);
    let (login, _) = browser.open(&authorize("rp", &[])).await;
    let wrong = [("username", "alice"), ("password", "wrong password!")];
    for _ in 0..5 {
        let page = browser.post(&login, &wrong).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{page:?}");
    }
    for _ in 0..3 {
        let page = browser.post(&login, &wrong).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{page:?}");
        assert_eq!(wait_of(&page), 1, "a refused attempt is given back");
    }
    idp.clock.advance(2);
    let right = [("username", "alice"), ("password", PASSWORD)];
    let page = browser.post(&login, &right).await;
    assert!(page.to().ends_with("/pin"), "{page:?}");
    let mut other = Browser::new(&idp);
    let (login, _) = other.open(&authorize("rp", &[])).await;
    let page = other.post(&login, &wrong).await;
    assert_eq!(
        page.status,
        StatusCode::UNAUTHORIZED,
        "the username's failures were cleared: {page:?}"
    );
    assert_eq!(idp.count("audit_log", "kind = 'password_throttled'"), 3);
}
