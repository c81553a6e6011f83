//! Recovery of a locked or forgotten PIN by a code sent by e-mail or text, with the security
//! questions when set.

use openidconnect::OAuth2TokenResponse as _;
use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;

use super::{NEW_PIN, REDIRECT, at_pin_page, confirm_contact, world};
use crate::support::*;

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
