//! "Cancel" on every sign-in page a person is asked something on: the relying party hears
//! `access_denied` (with `state` and `iss`, in the request's response mode), and the sign-in
//! is over.

use axum::http::StatusCode;

use crate::page::param;
use crate::support::{Browser, Idp, PASSWORD, PIN, Page, REDIRECT, authorize};

async fn provider(new_device_check: bool) -> Idp {
    let idp = Idp::with(|settings| settings.new_device.enabled = new_device_check).await;
    idp.client("rp", true).await;
    idp.user("ana").await;
    idp
}

/// Presses `page`'s Cancel (the button `<id>-cancel`, posting to the sign-in's cancel path
/// with the page's CSRF token) and checks the relying party's answer in the query.
async fn cancel(idp: &Idp, browser: &mut Browser<'_>, page: &Page, id: &str, login: &str) {
    assert!(page.is(id), "{page:?}");
    assert!(
        page.contains(&format!("id=\"{id}-cancel\"")),
        "{id}: {}",
        page.body
    );
    let action = format!("{login}/cancel");
    // Not without the page's CSRF token.
    let forged = browser.post_as_is(&action, &[]).await;
    assert!(!forged.to().starts_with(REDIRECT), "{forged:?}");
    let answer = browser.submit_to(page, &action, &[]).await;
    let to = answer.to();
    assert!(to.starts_with(REDIRECT), "{id}: {answer:?}");
    assert_eq!(param(to, "error").as_deref(), Some("access_denied"), "{id}");
    assert_eq!(param(to, "state").as_deref(), Some("st"));
    assert_eq!(param(to, "iss").as_deref(), Some(idp.state.issuer()));
    // The sign-in is over: its pages are gone.
    let after = browser.get(login).await;
    assert_ne!(after.status, StatusCode::OK, "{after:?}");
}

/// The login page of a new request, and its path.
async fn login(browser: &mut Browser<'_>, extra: &[(&str, &str)]) -> (String, Page) {
    let (login, page) = browser.open(&authorize("rp", extra)).await;
    assert!(page.is("login"), "{page:?}");
    (login, page)
}

/// The PIN page after the right password.
async fn pin_page(browser: &mut Browser<'_>, extra: &[(&str, &str)]) -> (String, Page) {
    let (login, page) = login(browser, extra).await;
    let next = browser
        .submit(&page, &[("username", "ana"), ("password", PASSWORD)])
        .await;
    let pin = browser.follow(next).await;
    (login, pin)
}

#[tokio::test]
async fn cancel_on_the_pin_page() {
    let idp = provider(false).await;
    let mut browser = Browser::new(&idp);
    let (login, pin) = pin_page(&mut browser, &[]).await;
    assert!(pin.contains("id=\"pin-submit\""));
    cancel(&idp, &mut browser, &pin, "pin", &login).await;
}

#[tokio::test]
async fn cancel_on_the_new_device_page() {
    let idp = provider(true).await;
    let mut browser = Browser::new(&idp);
    let (login, pin) = pin_page(&mut browser, &[]).await;
    let next = browser.submit(&pin, &[("pin", PIN)]).await;
    let device = browser.follow(next).await;
    assert!(device.contains("id=\"device-code-submit\""));
    cancel(&idp, &mut browser, &device, "device-code", &login).await;
}

#[tokio::test]
async fn cancel_on_the_second_factor_page() {
    let idp = provider(true).await;
    let mut browser = Browser::new(&idp);
    // Signed in on a browser now known, then a request for a second factor: the PIN again,
    // then the second-factor page.
    assert!(
        browser
            .sign_in(&authorize("rp", &[]), "ana")
            .await
            .gives_code()
    );
    let (pin_path, pin) = browser
        .open(&authorize("rp", &[("acr_values", "urn:idp:acr:aal2")]))
        .await;
    assert!(pin.is("pin"), "{pin:?}");
    let login = pin_path.strip_suffix("/pin").unwrap().to_owned();
    let next = browser.submit(&pin, &[("pin", PIN)]).await;
    let factor = browser.follow(next).await;
    cancel(&idp, &mut browser, &factor, "second-factor", &login).await;
    // Again, this time from the page that adds an authenticator app there.
    let (pin_path, pin) = browser
        .open(&authorize("rp", &[("acr_values", "urn:idp:acr:aal2")]))
        .await;
    let login = pin_path.strip_suffix("/pin").unwrap().to_owned();
    let next = browser.submit(&pin, &[("pin", PIN)]).await;
    let factor = browser.follow(next).await;
    let add_app = browser.get(&factor.link("/add-app")).await;
    assert!(add_app.contains("id=\"add-app-submit\""));
    cancel(&idp, &mut browser, &add_app, "add-app", &login).await;
}

#[tokio::test]
async fn cancel_on_the_pin_recovery_page() {
    let idp = provider(false).await;
    let mut browser = Browser::new(&idp);
    let (login, _) = pin_page(&mut browser, &[]).await;
    let (_, recover) = browser.open(&format!("{login}/recover")).await;
    assert!(recover.contains("id=\"recover-choose-submit\""));
    cancel(&idp, &mut browser, &recover, "recover-choose", &login).await;
}

#[tokio::test]
async fn cancel_on_the_forgotten_password_pages() {
    let idp = provider(false).await;
    let mut browser = Browser::new(&idp);
    let (login, _) = login(&mut browser, &[]).await;
    let (_, username) = browser.open(&format!("{login}/forgot-password")).await;
    assert!(username.contains("id=\"reset-username-submit\""));
    cancel(&idp, &mut browser, &username, "reset-username", &login).await;
    // The next page of a reset, once a username is given.
    let (login, _) = self::login(&mut browser, &[]).await;
    let (_, username) = browser.open(&format!("{login}/forgot-password")).await;
    let next = browser.submit(&username, &[("username", "ana")]).await;
    let channel = browser.follow(next).await;
    cancel(&idp, &mut browser, &channel, "reset-choose", &login).await;
}

#[tokio::test]
async fn cancel_answers_in_the_requests_response_mode() {
    let idp = provider(false).await;
    let mut browser = Browser::new(&idp);
    let (login, pin) = pin_page(&mut browser, &[("response_mode", "form_post")]).await;
    let answer = browser
        .submit_to(&pin, &format!("{login}/cancel"), &[])
        .await;
    assert!(answer.is("form-post"), "{answer:?}");
    assert_eq!(answer.hidden("error").as_deref(), Some("access_denied"));
    assert_eq!(answer.hidden("state").as_deref(), Some("st"));
    let (_, fields) = answer.form();
    assert!(fields.iter().any(|(name, _)| name == "iss"));
}

#[tokio::test]
async fn cancel_on_the_recovery_code_and_new_pin_pages() {
    let idp = provider(false).await;
    let mut browser = Browser::new(&idp);
    // The PIN recovery's code, sent by e-mail.
    async fn code_page(browser: &mut Browser<'_>) -> (String, Page) {
        let (login, _) = pin_page(browser, &[]).await;
        let (_, choose) = browser.open(&format!("{login}/recover")).await;
        let next = browser.submit(&choose, &[("channel", "email")]).await;
        (login, browser.follow(next).await)
    }
    let (login, code) = code_page(&mut browser).await;
    assert!(code.contains("id=\"recovery-code-submit\""));
    cancel(&idp, &mut browser, &code, "recovery-code", &login).await;
    // Past the code, at the choice of a new PIN.
    let (login, code) = code_page(&mut browser).await;
    let sent = idp.code_sent_to("ana@example.com").await.unwrap();
    let next = browser.submit(&code, &[("code", &sent)]).await;
    let new_pin = browser.follow(next).await;
    assert!(new_pin.contains("id=\"new-pin-submit\""), "{new_pin:?}");
    cancel(&idp, &mut browser, &new_pin, "new-pin", &login).await;
}
