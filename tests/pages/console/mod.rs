//! The consoles: roles given on the command line, the consoles' guard (a role, a session at
//! aal2, a recent sign-in for changes, CSRF), support's journeys (`people`), administrators'
//! (`operations`) and developers' (`developer`).

mod developer;
mod operations;
mod people;

use axum::http::StatusCode;
use idp_core::Clock as _;
use idp_factors::totp;

use crate::support::{Browser, Idp, PIN, Page};

pub(super) const ALICE: &str = "id-alice";
pub(super) const SAM: &str = "id-sam";

pub(super) async fn setup() -> Idp {
    let idp = Idp::start().await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    idp.user("sam").await;
    idp
}

/// Gives (or takes away) `role` as `idp user role` does; its JSON answer.
pub(super) async fn role(idp: &Idp, username: &str, role: &str, grant: bool) -> serde_json::Value {
    idp_server::cli::set_role(&idp.state, username, Some((role, grant)), Some("on call"))
        .await
        .unwrap()
}

/// Signs `sam` in to the account page, adds an authenticator app, and steps up to aal2 at the
/// console: the console's first page and the app's secret.
pub(super) async fn staff_at_aal2(idp: &Idp, browser: &mut Browser<'_>) -> (Page, totp::Secret) {
    at_aal2(idp, browser, "/admin", "admin").await
}

/// [`staff_at_aal2`] at the console at `path`, whose first page is `page`.
pub(super) async fn at_aal2(
    idp: &Idp,
    browser: &mut Browser<'_>,
    path: &str,
    page: &str,
) -> (Page, totp::Secret) {
    let account = browser.open_account("sam", PIN).await;
    assert!(account.contains("id=\"account-roles\""), "{}", account.body);
    assert_eq!(account.link(path), path);
    let add = browser.get("/account/factors/app").await;
    let secret = add.shown_key();
    let code = totp::code_at(&secret, idp.clock.now());
    let done = browser
        .submit(&add, &[("otp", &code), ("name", "phone")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    // The session is at password and PIN: the console offers the step-up.
    let short = browser.get(path).await;
    assert_eq!(short.status, StatusCode::FORBIDDEN);
    assert!(short.is("console-step-up"), "{short:?}");
    idp.clock.advance(30);
    let link = short.link(&format!("{path}/step-up"));
    let first = step_up_to(idp, browser, &link, &secret, (path, page)).await;
    (first, secret)
}

/// Runs the admin console's step-up at `link`: the PIN, then the app's code; the console's
/// page it ends on.
pub(super) async fn step_up(
    idp: &Idp,
    browser: &mut Browser<'_>,
    link: &str,
    secret: &totp::Secret,
) -> Page {
    step_up_to(idp, browser, link, secret, ("/admin", "admin")).await
}

/// [`step_up`] for the console at `path`, whose first page is `page`.
pub(super) async fn step_up_to(
    idp: &Idp,
    browser: &mut Browser<'_>,
    link: &str,
    secret: &totp::Secret,
    (path, page): (&str, &str),
) -> Page {
    let started = browser.get(link).await;
    let pin = browser.follow(started).await;
    assert!(pin.is("pin"), "{pin:?}");
    let next = browser.submit(&pin, &[("pin", PIN)]).await;
    let factor = browser.follow(next).await;
    assert!(factor.is("second-factor"), "{factor:?}");
    let code = totp::code_at(secret, idp.clock.now());
    let answer = browser.submit(&factor, &[("otp", &code)]).await;
    assert_eq!(answer.to(), path, "{answer:?}");
    let first = browser.follow(answer).await;
    assert!(first.is(page), "{first:?}");
    first
}
