//! The PIN's life: lockout that cannot be raced, password guessing slowed without lockout,
//! support unlock, and recovery by a code sent by e-mail or text.

use openidconnect::OAuth2TokenResponse as _;
use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;

use crate::sinks::{Inbox, sms_sink};

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const NEW_PIN: &str = "739184";

struct World {
    idp: TestIdp,
    rp: RelyingParty,
    mail: Inbox,
    texts: Inbox,
}

async fn world() -> World {
    let (webhook, texts) = sms_sink().await;
    let idp = TestIdp::start_with(&[("IDP_SMS_WEBHOOK_URL", &webhook)]).await;
    let mail = idp.mail.clone();
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let out = idp.cli(
        &[
            "user",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--phone",
            "+44 7700 900123",
        ],
        &format!("{PASSWORD}\n{PIN}\n"),
    );
    assert!(out.status.success());
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    World {
        idp,
        rp,
        mail,
        texts,
    }
}

/// Password right, then the PIN page.
async fn at_pin_page(w: &World, browser: &Browser) -> Page {
    let login = browser.open(&w.rp.start(&[], &[], true).url).await;
    let page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(page.is("pin"), "{}", page.body);
    page
}

async fn lock(w: &World, browser: &Browser) -> Page {
    let mut page = at_pin_page(w, browser).await;
    for _ in 0..5 {
        page = browser.submit(&page, &[("pin", "000000")]).await;
    }
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.is("locked-now"));
    page
}

/// Confirms alice's e-mail address (the new-device code of her first sign-in, sent to it,
/// does that) and, for "sms", her phone with the code texted to it.
async fn confirm_contact(w: &World, channel: &str) {
    let browser = Browser::new(&w.idp);
    let account = browser.open_account("alice", PIN).await;
    assert!(
        account.contains("E-mail: alice@example.com — confirmed"),
        "{}",
        account.body
    );
    if channel == "email" {
        return;
    }
    assert!(account.contains("— not confirmed"));
    let code_page = browser.ask_to_confirm_phone(&account).await;
    let code = w
        .texts
        .code("+447700900123", "confirm your phone number", 0)
        .await;
    let wrong = browser
        .submit(
            &code_page,
            &[("code", if code == "000000" { "111111" } else { "000000" })],
        )
        .await;
    assert!(
        wrong.contains("That code is not correct. 4 tries left."),
        "{}",
        wrong.body
    );
    let done = browser.submit(&wrong, &[("code", &code)]).await;
    assert!(
        done.contains("Your phone number is confirmed."),
        "{}",
        done.body
    );
}

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
async fn a_locked_pin_is_recovered_with_a_code_sent_by_email() {
    let w = world().await;
    confirm_contact(&w, "email").await;
    // Tokens issued before: whoever locked the PIN may have known it, so recovery ends them.
    let mut earlier = w.rp.start(&[], &[], true);
    let earlier_tokens =
        w.rp.sign_in(&Browser::new(&w.idp), "alice", &mut earlier)
            .await;
    let earlier_access = earlier_tokens.access_token().secret().clone();
    assert_eq!(
        userinfo_status(&w.idp.issuer, &earlier_access).await,
        StatusCode::OK
    );
    let browser = Browser::new(&w.idp);
    let mut start = w.rp.start(&[], &[], true);
    let login = browser.open(&start.url).await;
    let mut page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    for _ in 0..5 {
        page = browser.submit(&page, &[("pin", "000000")]).await;
    }
    assert!(page.is("locked-now"));
    let recover_link = page.link("/recover");
    let choose = browser.get(&recover_link).await;
    assert!(
        choose.contains("a•••e@example.com"),
        "the address is masked: {}",
        choose.body
    );
    assert!(
        !choose.contains("0123"),
        "an unconfirmed phone is not offered"
    );
    let code_page = browser.submit(&choose, &[("channel", "email")]).await;
    assert!(code_page.is("recovery-code"), "{}", code_page.body);
    let code = w
        .mail
        .code("alice@example.com", "recover your PIN", 0)
        .await;
    let wrong = browser
        .submit(
            &code_page,
            &[("code", if code == "999999" { "888888" } else { "999999" })],
        )
        .await;
    assert!(
        wrong.contains("That code is not correct. 4 tries left."),
        "{}",
        wrong.body
    );
    let new_pin = browser.submit(&wrong, &[("code", &code)]).await;
    assert!(new_pin.is("new-pin"), "{}", new_pin.body);
    let same = browser
        .submit(&new_pin, &[("pin", PIN), ("pin_confirm", PIN)])
        .await;
    assert!(
        same.contains("Choose a PIN you have not used before."),
        "{}",
        same.body
    );
    let done = browser
        .submit(&same, &[("pin", NEW_PIN), ("pin_confirm", NEW_PIN)])
        .await;
    let location = done
        .location
        .expect("back to the relying party that started the sign-in");
    assert!(location.starts_with(REDIRECT));
    let tokens =
        w.rp.exchange(&param(&location, "code").unwrap(), start.verifier.take())
            .await
            .unwrap();
    w.rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    w.mail
        .wait_for("alice@example.com", "Your account was recovered", 0)
        .await;
    w.mail
        .wait_for("alice@example.com", "Your PIN is locked", 0)
        .await;
    assert_eq!(w.idp.count("users", "pin_failures = 0").await, 1);
    assert_eq!(
        userinfo_status(&w.idp.issuer, &earlier_access).await,
        StatusCode::UNAUTHORIZED,
        "tokens issued before the recovery no longer work"
    );
    for kind in [
        "recovery_started",
        "recovery_code_wrong",
        "recovery_completed",
        "pin_locked",
    ] {
        assert_eq!(
            w.idp.count("audit_log", &format!("kind = '{kind}'")).await,
            1,
            "{kind}"
        );
    }
    // A used code does not work twice.
    let replay = browser.get(&format!("{recover_link}/code")).await;
    assert_ne!(replay.status, StatusCode::OK, "the interaction is over");
}

#[tokio::test]
async fn a_forgotten_pin_is_recovered_with_a_code_sent_by_text() {
    let w = world().await;
    confirm_contact(&w, "sms").await;
    let browser = Browser::new(&w.idp);
    let mut start = w.rp.start(&[], &[], true);
    let pin_page = {
        let login = browser.open(&start.url).await;
        browser
            .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
            .await
    };
    let link = pin_page.link("/recover");
    let choose = browser.get(&link).await;
    assert!(choose.contains("•••• 0123"), "{}", choose.body);
    let code_page = browser.submit(&choose, &[("channel", "sms")]).await;
    let code = w.texts.code("+447700900123", "recover your PIN", 0).await;
    let new_pin = browser.submit(&code_page, &[("code", &code)]).await;
    let done = browser
        .submit(&new_pin, &[("pin", NEW_PIN), ("pin_confirm", NEW_PIN)])
        .await;
    let tokens =
        w.rp.exchange(
            &param(&done.location.unwrap(), "code").unwrap(),
            start.verifier.take(),
        )
        .await
        .unwrap();
    let claims = w.rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(
        amr,
        ["pwd", "pin", "otp", "sms"],
        "the texted recovery code was this sign-in's one-time code"
    );
}

#[tokio::test]
async fn recovery_codes_run_out_and_need_a_confirmed_contact() {
    let w = world().await;
    let browser = Browser::new(&w.idp);
    let pin_page = at_pin_page(&w, &browser).await;
    let link = pin_page.link("/recover");
    let choose = browser.get(&link).await;
    assert!(
        choose.is("recover-no-contact"),
        "no confirmed contact: {}",
        choose.body
    );
    // The CSRF token of the PIN page serves: it belongs to this browser.
    let refused = browser
        .post(&link, &choose_fields(&pin_page, "email"))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "an unconfirmed channel is refused"
    );

    confirm_contact(&w, "email").await;
    let choose = browser.get(&link).await;
    let mut page = browser.submit(&choose, &[("channel", "email")]).await;
    let code = w
        .mail
        .code("alice@example.com", "recover your PIN", 0)
        .await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        page = browser.submit(&page, &[("code", wrong)]).await;
    }
    assert!(page.contains("cannot be tried again"), "{}", page.body);
    let spent = browser.submit(&page, &[("code", &code)]).await;
    assert_eq!(spent.status, StatusCode::GONE);
    assert!(spent.contains("expired or was tried too often"));
    // A new code works.
    let choose = browser.get(&link).await;
    let page = browser.submit(&choose, &[("channel", "email")]).await;
    let code = w
        .mail
        .code("alice@example.com", "recover your PIN", 1)
        .await;
    let new_pin = browser.submit(&page, &[("code", &code)]).await;
    assert!(new_pin.is("new-pin"), "{}", new_pin.body);
}

fn choose_fields(page: &Page, channel: &str) -> Vec<(String, String)> {
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .unwrap_or_default();
    vec![("csrf".into(), csrf), ("channel".into(), channel.into())]
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

#[tokio::test]
async fn a_new_browser_needs_a_code_after_the_pin_and_is_trusted_after() {
    let w = world().await;
    let browser = Browser::new(&w.idp);
    let mut start = w.rp.start(&[], &[], true);
    let login = browser.open(&start.url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let check = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert!(check.is("device-code"), "{}", check.body);
    assert!(
        check.contains("a•••e@example.com"),
        "where the code went, masked"
    );
    assert!(
        check.location.is_none(),
        "no code for the relying party yet"
    );
    let code = w.mail.code("alice@example.com", DEVICE_CODE, 0).await;
    let wrong = browser
        .submit(
            &check,
            &[("code", if code == "000000" { "111111" } else { "000000" })],
        )
        .await;
    assert!(
        wrong.contains("That code is not correct. 4 tries left."),
        "{}",
        wrong.body
    );
    // A new code replaces the old one.
    let resend = wrong.form().0 + "/resend";
    let resent = browser.submit_to(&wrong, &resend, &[]).await;
    assert!(resent.is("device-code"));
    let code = w.mail.code("alice@example.com", DEVICE_CODE, 1).await;
    let done = browser.submit(&resent, &[("code", &code)]).await;
    let location = done.location.expect("back to the relying party");
    let tokens =
        w.rp.exchange(&param(&location, "code").unwrap(), start.verifier.take())
            .await
            .unwrap();
    let claims = w.rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(amr, ["pwd", "pin", "otp"]);
    w.mail
        .wait_for("alice@example.com", "New sign-in to your account", 0)
        .await;
    assert_eq!(w.idp.count("devices", "TRUE").await, 1);

    // The same browser, signing in again, is trusted: no code.
    let mut again = w.rp.start(&[], &[("prompt", "login")], true);
    let login = browser.open(&again.url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let done = browser.submit(&pin_page, &[("pin", PIN)]).await;
    let location = done
        .location
        .expect("straight back: the browser is trusted");
    let tokens =
        w.rp.exchange(&param(&location, "code").unwrap(), again.verifier.take())
            .await
            .unwrap();
    let claims = w.rp.verify_id_token(
        &tokens,
        &again.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(amr, ["pwd", "pin"]);

    // Forgotten on the account page, it needs a code again.
    let account = browser.open("/account").await;
    assert!(account.is("account"));
    let forgotten = browser
        .submit_to(&account, "/account/devices/forget", &[])
        .await;
    assert!(
        forgotten.contains("That device is forgotten"),
        "{}",
        forgotten.body
    );
    let login = browser
        .open(&w.rp.start(&[], &[("prompt", "login")], true).url)
        .await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let check = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert!(check.is("device-code"));
}

#[tokio::test]
async fn the_new_device_check_can_be_turned_off() {
    let idp = TestIdp::start_with(&[("IDP_NEW_DEVICE__ENABLED", "false")]).await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let done = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert!(done.location.is_some_and(|l| l.starts_with(REDIRECT)));
    assert_eq!(idp.mail.count(DEVICE_CODE), 0);
}

#[tokio::test]
async fn with_security_questions_set_recovery_needs_the_answers_too() {
    let w = world().await;
    let browser = Browser::new(&w.idp);
    let account = browser.open_account("alice", PIN).await;
    let set = |password: &'static str, q2: &'static str| {
        vec![
            ("current_password", password),
            ("question_1", "first_pet"),
            ("answer_1", "Rex"),
            ("question_2", q2),
            ("answer_2", "St. Mary's School"),
        ]
    };
    let wrong_password = browser
        .submit_to(
            &account,
            "/account/questions",
            &set("not my password", "first_school"),
        )
        .await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    let twice = browser
        .submit_to(&account, "/account/questions", &set(PASSWORD, "first_pet"))
        .await;
    assert!(
        twice.contains("Choose two different questions."),
        "{}",
        twice.body
    );
    assert_eq!(
        w.idp.count("users", "security_questions IS NULL").await,
        1,
        "nothing stored yet"
    );
    let saved = browser
        .submit_to(
            &account,
            "/account/questions",
            &set(PASSWORD, "first_school"),
        )
        .await;
    assert!(
        saved.contains("Your security questions are saved."),
        "{}",
        saved.body
    );
    assert_eq!(
        w.idp
            .count(
                "users",
                "security_questions LIKE '%argon2id%' AND security_questions NOT LIKE '%Rex%'"
            )
            .await,
        1
    );

    // Recovery now asks the questions with the code.
    let other = Browser::new(&w.idp);
    let pin_page = at_pin_page(&w, &other).await;
    let choose = other.get(&pin_page.link("/recover")).await;
    let code_page = other.submit(&choose, &[("channel", "email")]).await;
    assert!(
        code_page.contains("What was the name of your first pet?"),
        "{}",
        code_page.body
    );
    let code = w
        .mail
        .code("alice@example.com", "recover your PIN", 0)
        .await;
    let wrong = other
        .submit(
            &code_page,
            &[
                ("code", &code),
                ("answer_1", "Max"),
                ("answer_2", "St Marys School"),
            ],
        )
        .await;
    assert!(
        wrong.contains("The code or an answer is not correct. 4 tries left."),
        "{}",
        wrong.body
    );
    let right = other
        .submit(
            &wrong,
            &[
                ("code", &code),
                ("answer_1", " rex "),
                ("answer_2", "st marys school"),
            ],
        )
        .await;
    assert!(
        right.is("new-pin"),
        "answers match whatever their case and punctuation: {}",
        right.body
    );

    // And they can be removed.
    let account = browser.get("/account").await;
    let removed = browser
        .submit_to(
            &account,
            "/account/questions",
            &[("remove", "1"), ("current_password", PASSWORD)],
        )
        .await;
    assert!(
        removed.contains("Your security questions are removed."),
        "{}",
        removed.body
    );
    assert_eq!(w.idp.count("users", "security_questions IS NULL").await, 1);
    assert_eq!(
        w.idp
            .count("audit_log", "kind = 'security_questions_changed'")
            .await,
        2
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let idp = TestIdp::start_with(&[("IDP_CODES__LIFETIME_SECS", "1")]).await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let check = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert!(check.is("device-code"));
    let code = idp.mail.code("alice@example.com", DEVICE_CODE, 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let late = browser.submit(&check, &[("code", &code)]).await;
    assert_eq!(late.status, StatusCode::GONE);
    assert!(late.contains("This code has expired"), "{}", late.body);
    assert_eq!(idp.count("devices", "TRUE").await, 0, "nothing trusted");
    assert_eq!(idp.count("sessions", "TRUE").await, 0, "no session");
}

#[tokio::test]
async fn proofs_do_not_carry_over_when_another_user_signs_in_on_the_same_page() {
    let w = world().await;
    // Mallory has an account of her own, with an address she reads.
    let out = w.idp.cli(
        &[
            "user",
            "create",
            "--username",
            "mallory",
            "--email",
            "mallory@example.com",
        ],
        &format!("{PASSWORD}\n{PIN}\n"),
    );
    assert!(out.status.success());
    let browser = Browser::new(&w.idp);
    let login = browser.open(&w.rp.start(&[], &[], true).url).await;
    let pin_page = browser
        .submit(&login, &[("username", "mallory"), ("password", PASSWORD)])
        .await;
    let check = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert!(check.is("device-code"));
    let code = w.mail.code("mallory@example.com", DEVICE_CODE, 0).await;
    // She knows alice's password, but not her PIN: the password step again, as alice ...
    let again = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(again.is("pin"), "{}", again.body);
    // ... and then her own code on the device page: refused, alice's PIN was never given.
    let (action, mut fields) = check.form();
    fields.push(("code".into(), code));
    let refused = browser.post(&action, &fields).await;
    assert!(
        refused
            .location
            .as_deref()
            .is_some_and(|to| to.ends_with("/pin")),
        "back to alice's PIN step: {:?} {}",
        refused.location,
        refused.body
    );
    assert_eq!(w.idp.count("sessions", "TRUE").await, 0);
    assert_eq!(
        w.idp
            .count(
                "users",
                "username = 'alice' AND email = 'alice@example.com'"
            )
            .await,
        1
    );
    assert_eq!(w.idp.count("devices", "TRUE").await, 0);
}
