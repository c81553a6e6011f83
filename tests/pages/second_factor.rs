//! Levels above password and PIN: after the PIN, a request for `urn:idp:acr:aal2` asks for a
//! second factor; a person with none adds an authenticator app there, on a browser already
//! known to be theirs.

use axum::http::StatusCode;
use idp_core::Clock as _;
use idp_factors::totp;
use idp_server::factors::{self, NewApp};
use idp_server::web::client_info::ClientInfo;
use serde_json::{Value, json};

use crate::page::{param, unescape};
use crate::support::{Browser, Idp, PIN, Page, authorize, exchange};

const AAL2: &str = "urn:idp:acr:aal2";
const DEVICE: &str = "urn:idp:acr:password-pin-device";

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

/// A browser signed in to `rp` as alice (trusted after its new-device code).
async fn signed_in(idp: &Idp) -> Browser<'_> {
    let mut browser = Browser::new(idp);
    let answer = browser.sign_in(&authorize("rp", &[]), "alice").await;
    assert_eq!(claims_of(idp, &answer).await["acr"], DEVICE);
    browser
}

/// From a request for `extra`, the PIN step-up, to the second-factor page.
async fn to_second_factor<'a>(browser: &mut Browser<'a>, extra: &[(&str, &str)]) -> Page {
    let (_, pin) = browser.open(&authorize("rp", extra)).await;
    assert!(pin.is("pin"), "{}", pin.body);
    let next = browser.submit(&pin, &[("pin", PIN)]).await;
    let page = browser.follow(next).await;
    assert!(page.is("second-factor"), "{page:?}");
    page
}

#[tokio::test]
async fn a_person_without_a_factor_adds_an_app_and_reaches_aal2() {
    let idp = setup().await;
    let mut browser = signed_in(&idp).await;
    let page = to_second_factor(&mut browser, &[("acr_values", AAL2)]).await;
    assert!(
        page.contains("You have no second factor yet"),
        "{}",
        page.body
    );
    assert!(!page.contains("name=\"otp\""), "no app to ask a code of");

    let (_, add) = browser.open(&page.link("/add-app")).await;
    assert!(add.is("add-app"), "{add:?}");
    assert!(add.contains("<svg"), "a QR code drawn on the page");
    assert!(
        unescape(&add.body).contains("otpauth://totp/"),
        "{}",
        add.body
    );
    let secret = add.shown_key();
    // Reloading keeps the same key.
    let (_, again) = browser.open(&page.link("/add-app")).await;
    assert_eq!(again.shown_key().base32(), secret.base32());

    let wrong = browser.submit(&add, &[("otp", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.contains("That code is not right"), "{}", wrong.body);

    let code = totp::code_at(&secret, idp.clock.now());
    let answer = browser
        .submit(&wrong, &[("otp", &code), ("name", "Work phone")])
        .await;
    let claims = claims_of(&idp, &answer).await;
    assert_eq!(claims["acr"], AAL2);
    assert_eq!(claims["amr"], json!(["pin", "otp", "mfa"]));
    assert_eq!(
        idp.notice("alice@example.com", "A second factor was added")
            .await,
        1
    );
    assert_eq!(idp.count("factors", "kind = 'app'"), 1);

    // The session now answers a request for aal2 without asking anything.
    let answer = browser.get(&authorize("rp", &[("acr_values", AAL2)])).await;
    assert_eq!(claims_of(&idp, &answer).await["acr"], AAL2);

    // A fresh aal2 sign-in asks the app; the code that bound it is spent (also a second
    // later, in the next time step, which the app's clock skew allows), and so is every code
    // once used.
    idp.clock.advance(1);
    let page = to_second_factor(&mut browser, &[("acr_values", AAL2), ("max_age", "0")]).await;
    assert!(page.contains("name=\"otp\""), "{}", page.body);
    assert!(
        !page.contains("/add-app"),
        "one who has a factor cannot add another here"
    );
    let replay = browser.submit(&page, &[("otp", &code)]).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.contains("already used"), "{}", replay.body);
    idp.clock.advance(30);
    let code = totp::code_at(&secret, idp.clock.now());
    let answer = browser.submit(&replay, &[("otp", &code)]).await;
    assert_eq!(claims_of(&idp, &answer).await["acr"], AAL2);
}

#[tokio::test]
async fn declining_ends_an_essential_request_and_lowers_a_voluntary_one() {
    let idp = setup().await;
    let mut browser = signed_in(&idp).await;

    let page = to_second_factor(&mut browser, &[("acr_values", AAL2)]).await;
    let answer = browser
        .submit_to(&page, &page.action_ending("/decline"), &[])
        .await;
    let claims = claims_of(&idp, &answer).await;
    assert_eq!(claims["acr"], DEVICE, "a voluntary level not reached");
    assert_eq!(claims["amr"], json!(["pin"]));

    let essential = r#"{"id_token":{"acr":{"essential":true,"values":["urn:idp:acr:aal2"]}}}"#;
    let page = to_second_factor(&mut browser, &[("claims", essential)]).await;
    let answer = browser
        .submit_to(&page, &page.action_ending("/decline"), &[])
        .await;
    assert_eq!(
        param(answer.to(), "error").as_deref(),
        Some("unmet_authentication_requirements"),
        "{answer:?}"
    );
    assert_eq!(param(answer.to(), "state").as_deref(), Some("st"));
}

#[tokio::test]
async fn a_new_browser_passes_its_code_before_a_factor_can_be_added() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let (login, _) = browser
        .open(&authorize("rp", &[("acr_values", AAL2)]))
        .await;
    let pin = browser
        .post(
            &login,
            &[
                ("username", "alice"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    let next = browser.post(pin.to(), &[("pin", PIN)]).await;
    assert!(next.to().ends_with("/device"), "{next:?}");
    // The second-factor page is not reachable before the code.
    let early = browser.get(&format!("{login}/second-factor/add-app")).await;
    assert!(early.to().ends_with("/device"), "{early:?}");
    let code = idp.code_sent_to("alice@example.com").await.unwrap();
    let after = browser.post(next.to(), &[("code", &code)]).await;
    let page = browser.follow(after).await;
    assert!(page.is("second-factor"), "{page:?}");
    assert!(unescape(&page.body).contains("/add-app"), "{}", page.body);
}

/// Alice binds an authenticator app (as the account page does); its key.
async fn give_app(idp: &Idp) -> totp::Secret {
    let user = idp
        .state
        .stores
        .users
        .find_user("id-alice")
        .await
        .unwrap()
        .unwrap();
    let app = NewApp::generate();
    let code = totp::code_at(&app.secret, idp.clock.now());
    let from = ClientInfo::default();
    assert!(
        app.bind(&idp.state, &user, "Phone", &code, &from)
            .await
            .unwrap()
    );
    // The confirming code's step is spent: the next code comes from the next step.
    idp.clock.advance(30);
    app.secret
}

/// Alice's saved recovery codes, made as the account page makes them.
async fn give_saved_codes(idp: &Idp) -> Vec<String> {
    let user = idp
        .state
        .stores
        .users
        .find_user("id-alice")
        .await
        .unwrap()
        .unwrap();
    factors::new_saved_codes(&idp.state, &user, &ClientInfo::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_app_code_stands_in_for_the_new_device_code() {
    let idp = setup().await;
    let secret = give_app(&idp).await;
    let mut browser = Browser::new(&idp);
    let (login, _) = browser.open(&authorize("rp", &[])).await;
    let pin = browser
        .post(
            &login,
            &[
                ("username", "alice"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    let next = browser.post(pin.to(), &[("pin", PIN)]).await;
    let device = browser.follow(next).await;
    assert!(device.is("device-code"), "{device:?}");
    let app = device.action_ending("/device/app");
    let wrong = browser.submit_to(&device, &app, &[("otp", "123456")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let code = totp::code_at(&secret, idp.clock.now());
    let answer = browser.submit_to(&wrong, &app, &[("otp", &code)]).await;
    let claims = claims_of(&idp, &answer).await;
    assert_eq!(claims["acr"], AAL2, "the app made it a second factor");
    assert_eq!(claims["amr"], json!(["pwd", "pin", "otp", "mfa"]));
    // The browser is trusted now: the next sign-in asks no code.
    assert_eq!(idp.devices_of("id-alice").await, 1);
}

#[tokio::test]
async fn a_saved_code_reaches_aal2_once_and_opens_a_locked_pin() {
    let idp = setup().await;
    let codes = give_saved_codes(&idp).await;
    assert_eq!(codes.len(), 10);
    let mut browser = signed_in(&idp).await;

    let page = to_second_factor(&mut browser, &[("acr_values", AAL2)]).await;
    assert!(!page.contains("name=\"otp\""), "no app");
    // Typed as people type: lower case, spaces for hyphens.
    let typed = codes[0].to_lowercase().replace('-', " ");
    let answer = browser.submit(&page, &[("recovery_code", &typed)]).await;
    let claims = claims_of(&idp, &answer).await;
    assert_eq!(claims["acr"], AAL2);
    assert_eq!(claims["amr"], json!(["pin", "otp", "mfa"]));
    assert_eq!(
        idp.notice("alice@example.com", "A saved recovery code was used")
            .await,
        1
    );

    idp.clock.advance(1);
    let page = to_second_factor(&mut browser, &[("acr_values", AAL2), ("max_age", "0")]).await;
    let again = browser.submit(&page, &[("recovery_code", &codes[0])]).await;
    assert_eq!(
        again.status,
        StatusCode::UNAUTHORIZED,
        "a saved code works once"
    );
    assert!(again.contains("already used"), "{}", again.body);

    // A locked PIN: a saved code proves it is Alice, after her password.
    let mut other = Browser::new(&idp);
    let (login, _) = other.open(&authorize("rp", &[])).await;
    let sent = other
        .post(
            &login,
            &[
                ("username", "alice"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    let mut pin = other.follow(sent).await;
    for _ in 0..5 {
        pin = other.submit(&pin, &[("pin", "000000")]).await;
    }
    assert!(pin.is("locked-now"), "{pin:?}");
    let (_, choose) = other.open(&format!("{login}/recover")).await;
    assert!(choose.is("recover-choose"), "{choose:?}");
    assert!(
        choose.contains("value=\"recovery_code\""),
        "{}",
        choose.body
    );
    let wrong = other
        .submit(
            &choose,
            &[("channel", "recovery_code"), ("recovery_code", &codes[0])],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let next = other
        .submit(
            &wrong,
            &[("channel", "recovery_code"), ("recovery_code", &codes[1])],
        )
        .await;
    let new_pin = other.follow(next).await;
    assert!(new_pin.is("new-pin"), "{new_pin:?}");
    let answer = other
        .submit(&new_pin, &[("pin", "274958"), ("pin_confirm", "274958")])
        .await;
    let claims = claims_of(&idp, &answer).await;
    assert_eq!(claims["amr"], json!(["pwd", "pin", "otp"]));
    assert_eq!(
        idp.notice("alice@example.com", "Your account was recovered")
            .await,
        1
    );
}

#[tokio::test]
async fn a_texted_code_counts_for_aal2_only_where_the_operator_allows() {
    for allowed in [false, true] {
        let idp = Idp::with(|s| s.factors.texted_codes_count = allowed).await;
        idp.client("rp", true).await;
        idp.user("alice").await;
        let phone = "+447700900123";
        let users = &idp.state.stores.users;
        users
            .set_phone("id-alice", Some(phone), true)
            .await
            .unwrap();
        let mut browser = signed_in(&idp).await;
        let page = to_second_factor(&mut browser, &[("acr_values", AAL2)]).await;
        let text = unescape(&page.body).contains("/second-factor/text\"");
        assert_eq!(text, allowed, "{}", page.body);
        if !allowed {
            continue;
        }
        let asked = browser
            .submit_to(&page, &page.action_ending("/text"), &[])
            .await;
        let page = browser.follow(asked).await;
        assert!(page.contains("We texted a 6-digit code"), "{}", page.body);
        // A new-device code e-mailed for another sign-in (it replaces the texted one) does
        // not count as the text.
        let mut other = Browser::new(&idp);
        let (login, _) = other.open(&authorize("rp", &[])).await;
        let pin = other
            .post(
                &login,
                &[
                    ("username", "alice"),
                    ("password", crate::support::PASSWORD),
                ],
            )
            .await;
        other.post(pin.to(), &[("pin", PIN)]).await;
        let emailed = idp.code_sent_to("alice@example.com").await.unwrap();
        let refused = browser
            .submit_to(&page, &page.action_ending("/texted"), &[("code", &emailed)])
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{refused:?}");
        idp.clock.advance(1);
        let asked = browser
            .submit_to(&refused, &refused.action_ending("/text"), &[])
            .await;
        let page = browser.follow(asked).await;
        let code = idp.code_sent_to(phone).await.unwrap();
        let answer = browser
            .submit_to(&page, &page.action_ending("/texted"), &[("code", &code)])
            .await;
        let claims = claims_of(&idp, &answer).await;
        assert_eq!(claims["acr"], AAL2);
        assert_eq!(claims["amr"], json!(["pin", "otp", "sms", "mfa"]));
    }
}

/// Security questions never raise a level, and the operator may turn them off: recovery then
/// asks the code alone.
#[tokio::test]
async fn security_questions_are_asked_in_recovery_only_where_the_operator_keeps_them() {
    for kept in [true, false] {
        let idp = Idp::with(|s| s.factors.security_questions = kept).await;
        idp.client("rp", true).await;
        idp.user("alice").await;
        let state = &idp.state;
        let question = idp_core::security_questions::QUESTIONS[0].0.to_owned();
        let answer = idp_core::security_questions::SecurityAnswer {
            question,
            answer_hash: state.pins.hash_keyed("rex").await.unwrap(),
        };
        let users = &state.stores.users;
        users
            .set_security_questions("id-alice", &[answer])
            .await
            .unwrap();
        let mut browser = Browser::new(&idp);
        let (login, _) = browser.open(&authorize("rp", &[])).await;
        browser
            .post(
                &login,
                &[
                    ("username", "alice"),
                    ("password", crate::support::PASSWORD),
                ],
            )
            .await;
        let (_, choose) = browser.open(&format!("{login}/recover")).await;
        let sent = browser.submit(&choose, &[("channel", "email")]).await;
        let code_page = browser.follow(sent).await;
        assert_eq!(
            code_page.contains("name=\"answer_1\""),
            kept,
            "{}",
            code_page.body
        );
        let code = idp.code_sent_to("alice@example.com").await.unwrap();
        let answered = browser.submit(&code_page, &[("code", &code)]).await;
        let next = browser.follow(answered).await;
        assert_eq!(next.is("new-pin"), !kept, "{next:?}");
        // The account page offers them only where they are kept.
        let mut own = Browser::new(&idp);
        let account = own.open_account("alice", PIN).await;
        assert_eq!(account.contains("id=\"questions\""), kept);
        let set = own
            .post(
                "/account/questions",
                &[("current_password", crate::support::PASSWORD)],
            )
            .await;
        assert_eq!(set.status == StatusCode::FORBIDDEN, !kept, "{set:?}");
    }
}
