//! Two-step sign-in on the account page: adding an authenticator app, making saved codes,
//! renaming and removing a factor, and the level a session needs to add one.

use axum::http::StatusCode;
use idp_core::Clock as _;
use idp_factors::totp;
use serde_json::Value;

use crate::page::unescape;
use crate::support::{Browser, Idp, PIN, Page, authorize, exchange};

const AAL2: &str = "urn:idp:acr:aal2";
const ALICE: &str = "id-alice";

async fn setup() -> Idp {
    let idp = Idp::start().await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    idp
}

async fn claims_of(idp: &Idp, answer: &Page) -> Value {
    assert!(answer.gives_code(), "{answer:?}");
    let (status, tokens) = exchange(idp, "rp", answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    idp.id_token_claims(&tokens)
}

/// The text of the two-step sign-in section of the account page.
fn section(page: &Page) -> &str {
    let start = page
        .body
        .find("id=\"factors\"")
        .unwrap_or_else(|| panic!("no factors section: {}", page.body));
    let rest = &page.body[start..];
    &rest[..rest.find("</details>").unwrap_or(rest.len())]
}

/// Adds an app from the account page of a browser allowed to; its secret.
async fn add_app(idp: &Idp, browser: &mut Browser<'_>, name: &str) -> totp::Secret {
    let add = browser.get("/account/factors/app").await;
    assert!(add.is("add-app"), "{add:?}");
    let secret = add.shown_key();
    let code = totp::code_at(&secret, idp.clock.now());
    let done = browser
        .submit(&add, &[("otp", &code), ("name", name)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.contains("Your authenticator app is added"),
        "{}",
        done.body
    );
    secret
}

/// From a request for aal2 (with `extra`), the PIN step-up, to the second-factor page.
async fn to_second_factor(browser: &mut Browser<'_>, extra: &[(&str, &str)]) -> Page {
    let mut params = vec![("acr_values", AAL2)];
    params.extend_from_slice(extra);
    let (_, pin) = browser.open(&authorize("rp", &params)).await;
    assert!(pin.is("pin"), "{pin:?}");
    let next = browser.submit(&pin, &[("pin", PIN)]).await;
    let page = browser.follow(next).await;
    assert!(page.is("second-factor"), "{page:?}");
    page
}

async fn factor_ids(idp: &Idp) -> Vec<String> {
    let factors = idp.state.stores.factors.list_factors(ALICE).await.unwrap();
    factors.into_iter().map(|f| f.id).collect()
}

#[tokio::test]
async fn an_app_is_added_from_the_account_page_with_its_first_code() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    let factors = section(&account);
    assert!(factors.contains("Off"), "{factors}");
    assert!(factors.contains("No authenticator app yet."), "{factors}");
    let link = account.link("/account/factors/app");

    let add = browser.get(&link).await;
    assert!(add.is("add-app"), "{add:?}");
    assert!(add.contains("<svg"), "a QR code drawn on the page");
    assert!(
        unescape(&add.body).contains("otpauth://totp/"),
        "{}",
        add.body
    );
    assert!(!add.contains("type=\"hidden\" name=\"secret\""));
    let secret = add.shown_key();
    // Reloading keeps the same key: it waits server-side.
    let again = browser.get(&link).await;
    assert_eq!(again.shown_key().base32(), secret.base32());

    let wrong = browser.submit(&add, &[("otp", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.contains("That code is not right"), "{}", wrong.body);
    assert_eq!(idp.count("factors", "TRUE"), 0);

    let code = totp::code_at(&secret, idp.clock.now());
    let done = browser
        .submit(&wrong, &[("otp", &code), ("name", "Work phone")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.is("account"));
    assert!(
        done.contains("Your authenticator app is added"),
        "{}",
        done.body
    );
    assert_eq!(idp.count("factors", "kind = 'app'"), 1);
    assert_eq!(
        idp.notice("alice@example.com", "A second factor was added")
            .await,
        1
    );
    let factors = section(&done);
    assert!(factors.contains("<strong>Work phone</strong>"), "{factors}");
    assert!(factors.contains("Authenticator app"), "{factors}");
    assert!(factors.contains("On"), "{factors}");

    // The app signs in at aal2; the code that bound it is spent.
    idp.clock.advance(30);
    let page = to_second_factor(&mut browser, &[]).await;
    let code = totp::code_at(&secret, idp.clock.now());
    let answer = browser.submit(&page, &[("otp", &code)]).await;
    assert_eq!(claims_of(&idp, &answer).await["acr"], AAL2);

    // A new name, and the list says it.
    let account = browser.get("/account").await;
    let id = &factor_ids(&idp).await[0];
    let renamed = browser
        .submit_to(
            &account,
            "/account/factors/rename",
            &[("id", id), ("name", "Old phone")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert!(section(&renamed).contains("<strong>Old phone</strong>"));
    assert_eq!(idp.count("audit_log", "kind = 'factor_renamed'"), 1);
}

#[tokio::test]
async fn saved_codes_are_shown_once_work_once_and_new_ones_end_the_old() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    assert!(section(&account).contains("None made."));
    let shown = browser
        .submit_to(&account, "/account/factors/saved-codes", &[])
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert!(shown.is("saved-codes"), "{shown:?}");
    assert!(shown.contains("Print these codes or write them down"));
    let codes = shown.saved_codes();
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert_eq!(idp.count("recovery_codes", "used_at IS NULL"), 10);
    let account = browser.get("/account").await;
    assert!(
        section(&account).contains("10 codes left"),
        "{}",
        account.body
    );

    // One signs in at aal2, once; the person is told.
    let page = to_second_factor(&mut browser, &[]).await;
    assert!(page.contains("name=\"recovery_code\""), "{}", page.body);
    let answer = browser.submit(&page, &[("recovery_code", &codes[0])]).await;
    assert_eq!(claims_of(&idp, &answer).await["acr"], AAL2);
    assert_eq!(
        idp.notice("alice@example.com", "A saved recovery code was used")
            .await,
        1
    );
    idp.clock.advance(60);
    let page = to_second_factor(&mut browser, &[("max_age", "0")]).await;
    let again = browser.submit(&page, &[("recovery_code", &codes[0])]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.contains("already used"), "{}", again.body);
    let answer = browser
        .submit(&again, &[("recovery_code", &codes[1])])
        .await;
    assert_eq!(claims_of(&idp, &answer).await["acr"], AAL2);

    // The session is at aal2 now: new codes may be made, and the old ones end.
    let account = browser.get("/account").await;
    let factors = section(&account);
    assert!(factors.contains("8 codes left"), "{factors}");
    assert!(factors.contains("stops your current ones"), "{factors}");
    let shown = browser
        .submit_to(&account, "/account/factors/saved-codes", &[])
        .await;
    let new_codes = shown.saved_codes();
    assert_eq!(new_codes.len(), 10);
    assert_eq!(idp.count("recovery_codes", "used_at IS NULL"), 10);
    idp.clock.advance(60);
    let page = to_second_factor(&mut browser, &[("max_age", "0")]).await;
    let old = browser.submit(&page, &[("recovery_code", &codes[2])]).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{}", old.body);
    let answer = browser
        .submit(&old, &[("recovery_code", &new_codes[0])])
        .await;
    assert_eq!(claims_of(&idp, &answer).await["acr"], AAL2);
}

#[tokio::test]
async fn one_who_has_a_factor_steps_up_before_adding_another() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    browser.open_account("alice", PIN).await;
    let secret = add_app(&idp, &mut browser, "Phone").await;

    // This session is at the device level: enough for a first factor, not for another.
    let account = browser.get("/account").await;
    let factors = section(&account);
    assert!(!factors.contains("/account/factors/app"), "{factors}");
    assert!(
        !factors.contains("action=\"/account/factors/saved-codes\""),
        "{factors}"
    );
    let step_up = account.link("/account/step-up");
    assert!(step_up.contains("acr=urn%3Aidp%3Aacr%3Aaal2"), "{step_up}");

    let page = browser.get("/account/factors/app").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.contains("sign in again first"), "{}", page.body);
    let codes = browser.post("/account/factors/saved-codes", &[]).await;
    assert_eq!(codes.status, StatusCode::FORBIDDEN);
    assert!(!codes.is("saved-codes"), "no codes shown");
    let bind = browser
        .post(
            "/account/factors/app",
            &[("otp", "123456"), ("name", "Mine")],
        )
        .await;
    assert_eq!(bind.status, StatusCode::FORBIDDEN);
    assert_eq!(idp.count("recovery_codes", "TRUE"), 0);
    assert_eq!(idp.count("factors", "TRUE"), 1);

    // Signing in again with the app (the PIN, then its code) comes back here, at aal2.
    let (_, pin) = browser.open(&step_up).await;
    assert!(pin.is("pin"), "{pin:?}");
    let next = browser.submit(&pin, &[("pin", PIN)]).await;
    let page = browser.follow(next).await;
    assert!(page.is("second-factor"), "{page:?}");
    idp.clock.advance(30);
    let code = totp::code_at(&secret, idp.clock.now());
    let back = browser.submit(&page, &[("otp", &code)]).await;
    assert_eq!(back.to(), "/account", "{back:?}");
    let account = browser.follow(back).await;
    assert!(account.is("account"), "{account:?}");
    assert!(section(&account).contains("/account/factors/app"));
    let codes = browser
        .submit_to(&account, "/account/factors/saved-codes", &[])
        .await;
    assert!(codes.is("saved-codes"), "{codes:?}");
    add_app(&idp, &mut browser, "Tablet").await;
    assert_eq!(idp.count("factors", "TRUE"), 2);
}

#[tokio::test]
async fn a_factor_is_removed_with_the_pin() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    browser.open_account("alice", PIN).await;
    let secret = add_app(&idp, &mut browser, "Phone").await;
    let id = factor_ids(&idp).await.remove(0);

    // Removing takes what adding another would: a session at aal2 (else a stolen password
    // and PIN could remove the person's app and bind their own).
    let account = browser.get("/account").await;
    assert!(!section(&account).contains("/account/factors/remove"));
    let early = browser
        .post("/account/factors/remove", &[("id", &id), ("pin", PIN)])
        .await;
    assert_eq!(early.status, StatusCode::FORBIDDEN);
    assert_eq!(idp.count("factors", "TRUE"), 1);
    let (_, pin) = browser.open(&account.link("/account/step-up")).await;
    let next = browser.submit(&pin, &[("pin", PIN)]).await;
    let page = browser.follow(next).await;
    idp.clock.advance(30);
    let code = totp::code_at(&secret, idp.clock.now());
    let back = browser.submit(&page, &[("otp", &code)]).await;
    let account = browser.follow(back).await;
    assert!(account.is("account"), "{account:?}");

    let wrong = browser
        .submit_to(
            &account,
            "/account/factors/remove",
            &[("id", &id), ("pin", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.contains("Your current PIN is not correct"),
        "{}",
        wrong.body
    );
    assert!(wrong.contains("id=\"factors\" open>"), "its section open");
    assert_eq!(idp.count("factors", "TRUE"), 1);
    assert_eq!(idp.count("audit_log", "kind = 'pin_wrong'"), 1);

    let unknown = browser
        .submit_to(
            &account,
            "/account/factors/remove",
            &[("id", "nobodys"), ("pin", PIN)],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let done = browser
        .submit_to(
            &account,
            "/account/factors/remove",
            &[("id", &id), ("pin", PIN)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.contains("That second factor is removed"));
    assert_eq!(idp.count("factors", "TRUE"), 0);
    assert_eq!(
        idp.notice("alice@example.com", "A second factor was removed")
            .await,
        1
    );
    assert_eq!(idp.count("audit_log", "kind = 'factor_removed'"), 1);
    assert!(section(&done).contains("No authenticator app yet."));
}
