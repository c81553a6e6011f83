//! The account page: a full sign-in first, then every change needs the secret it replaces.

use reqwest::StatusCode;

use crate::sinks::Inbox;
use crate::support::*;

async fn setup() -> (TestIdp, Inbox) {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let mail = idp.mail.clone();
    (idp, mail)
}

#[tokio::test]
async fn the_account_page_needs_password_and_pin() {
    let (idp, _) = setup().await;
    let browser = Browser::new(&idp);
    let first = browser.get("/account").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let login = browser.follow(first).await;
    assert!(login.is("login"));
    let pin = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(pin.is("pin"));
    let account = browser.submit_pin(&pin, PIN).await;
    assert!(
        account.is("account") && account.contains("<strong>alice</strong>"),
        "{}",
        account.body
    );
    assert!(
        account.contains("Signed in at"),
        "recent sign-ins are listed: {}",
        account.body
    );
    assert!(account.contains("this browser"));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_other_sessions() {
    let (idp, mail) = setup().await;
    let other = Browser::new(&idp);
    other.open_account("alice", PIN).await;
    let browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    assert_eq!(idp.count("sessions", "TRUE").await, 2);
    let new = "a brand new passphrase here";

    let wrong = browser
        .submit_to(
            &account,
            "/account/password",
            &[
                ("current_password", "not it at all"),
                ("password", new),
                ("password_confirm", new),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.contains("Your current password is not correct."));
    let weak = browser
        .submit_to(
            &account,
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "qwerty123456"),
                ("password_confirm", "qwerty123456"),
            ],
        )
        .await;
    assert!(weak.contains("too common"), "{}", weak.body);
    let done = browser
        .submit_to(
            &account,
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", new),
                ("password_confirm", new),
            ],
        )
        .await;
    assert!(done.contains("Your password is changed."), "{}", done.body);
    assert_eq!(
        idp.count("sessions", "TRUE").await,
        1,
        "the other session ended"
    );
    mail.wait_for("alice@example.com", "Your password was changed", 0)
        .await;
    let again = other.get("/account").await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "the other browser must sign in again"
    );
}

#[tokio::test]
async fn changing_the_pin_needs_the_current_one() {
    let (idp, mail) = setup().await;
    let browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    let weak = browser
        .submit_to(
            &account,
            "/account/pin",
            &[
                ("current_pin", PIN),
                ("pin", "111111"),
                ("pin_confirm", "111111"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        idp.count("users", "pin_failures = 0").await,
        1,
        "a weak new PIN costs no try"
    );
    let wrong = browser
        .submit_to(
            &account,
            "/account/pin",
            &[
                ("current_pin", "000000"),
                ("pin", "739184"),
                ("pin_confirm", "739184"),
            ],
        )
        .await;
    assert!(
        wrong.contains("Your current PIN is not correct. 4 tries left."),
        "{}",
        wrong.body
    );
    let same = browser
        .submit_to(
            &account,
            "/account/pin",
            &[("current_pin", PIN), ("pin", PIN), ("pin_confirm", PIN)],
        )
        .await;
    assert!(
        same.contains("different from your current one"),
        "{}",
        same.body
    );
    let done = browser
        .submit_to(
            &account,
            "/account/pin",
            &[
                ("current_pin", PIN),
                ("pin", "739184"),
                ("pin_confirm", "739184"),
            ],
        )
        .await;
    assert!(done.contains("Your PIN is changed."), "{}", done.body);
    mail.wait_for("alice@example.com", "Your PIN was changed", 0)
        .await;
    let fresh = Browser::new(&idp);
    fresh.open_account("alice", "739184").await;
}

#[tokio::test]
async fn a_new_email_address_counts_once_its_code_comes_back() {
    let (idp, mail) = setup().await;
    let browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    let bad = browser
        .submit_to(
            &account,
            "/account/contact",
            &[
                ("channel", "email"),
                ("value", "not an address"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let code_page = browser
        .submit_to(
            &account,
            "/account/contact",
            &[
                ("channel", "email"),
                ("value", "alice@new.example"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        idp.count("users", "email = 'alice@example.com'").await,
        1,
        "unchanged until confirmed"
    );
    let code = mail
        .code("alice@new.example", "confirm your e-mail address", 0)
        .await;
    let done = browser.submit(&code_page, &[("code", &code)]).await;
    assert!(
        done.contains("Your e-mail address is confirmed."),
        "{}",
        done.body
    );
    assert_eq!(
        idp.count(
            "users",
            "email = 'alice@new.example' AND email_verified = TRUE"
        )
        .await,
        1
    );
    mail.wait_for("alice@example.com", "Your contact details were changed", 0)
        .await;
}

#[tokio::test]
async fn another_session_can_be_signed_out() {
    let (idp, _) = setup().await;
    let phone = Browser::new(&idp);
    phone.open_account("alice", PIN).await;
    let browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    let other_sid = {
        let marker = account.body.find("this browser").unwrap();
        let (before, after) = account.body.split_at(marker);
        let sids: Vec<&str> = before
            .split("name=\"sid\" value=\"")
            .skip(1)
            .chain(after.split("name=\"sid\" value=\"").skip(1))
            .map(|s| s.split('"').next().unwrap())
            .collect();
        let this = after
            .split("name=\"sid\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        sids.into_iter().find(|s| *s != this).unwrap().to_owned()
    };
    let done = browser
        .submit_to(&account, "/account/sessions/end", &[("sid", &other_sid)])
        .await;
    assert!(
        done.contains("That session is signed out."),
        "{}",
        done.body
    );
    assert_eq!(phone.get("/account").await.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);
}

#[tokio::test]
async fn account_forms_without_the_csrf_token_change_nothing() {
    let (idp, _) = setup().await;
    let browser = Browser::new(&idp);
    browser.open_account("alice", PIN).await;
    for (action, fields) in [
        (
            "/account/password",
            vec![
                ("current_password", PASSWORD),
                ("password", "another fine passphrase"),
                ("password_confirm", "another fine passphrase"),
            ],
        ),
        (
            "/account/pin",
            vec![
                ("current_pin", PIN),
                ("pin", "739184"),
                ("pin_confirm", "739184"),
            ],
        ),
        (
            "/account/contact",
            vec![("channel", "email"), ("value", "x@example.com")],
        ),
    ] {
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            browser.post(action, &fields).await.status,
            StatusCode::FORBIDDEN,
            "{action}"
        );
    }
    let fresh = Browser::new(&idp);
    fresh.open_account("alice", PIN).await;
}

#[tokio::test]
async fn contact_codes_need_the_password_are_rationed_and_their_tries_cannot_be_raced() {
    let (idp, mail) = setup().await;
    let browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    let no_password = browser
        .submit_to(
            &account,
            "/account/contact",
            &[
                ("channel", "email"),
                ("value", "x@new.example"),
                ("current_password", "wrong password"),
            ],
        )
        .await;
    assert_eq!(no_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(mail.count("confirm your e-mail address"), 0, "nothing sent");

    let code_page = browser
        .submit_to(
            &account,
            "/account/contact",
            &[
                ("channel", "email"),
                ("value", "x@new.example"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    let code = mail
        .code("x@new.example", "confirm your e-mail address", 0)
        .await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (action, mut fields) = code_page.form();
    fields.push(("code".into(), wrong.into()));
    let guesses = (0..30).map(|_| {
        let (http, url, fields) = (
            browser.http.clone(),
            format!("{}{action}", idp.issuer),
            fields.clone(),
        );
        tokio::spawn(
            async move { Page::read(http.post(url).form(&fields).send().await.unwrap()).await },
        )
    });
    let mut checked = 0;
    for guess in guesses {
        let answer = guess.await.unwrap();
        // A code checked and wrong: the code page again, saying so.
        if answer.is("contact-code") && answer.status == StatusCode::UNAUTHORIZED {
            checked += 1;
        }
    }
    assert_eq!(
        checked, 5,
        "five tries, however many guesses arrive at once"
    );
    let late = browser.submit(&code_page, &[("code", &code)]).await;
    assert!(
        late.contains("expired or was tried too often"),
        "{}",
        late.body
    );

    // Codes are rationed per user: the new-device code of the sign-in counted, and so do these.
    let mut refused = None;
    for _ in 0..12 {
        let page = browser
            .submit_to(
                &account,
                "/account/contact",
                &[
                    ("channel", "email"),
                    ("value", ""),
                    ("current_password", PASSWORD),
                ],
            )
            .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(page);
            break;
        }
    }
    let refused = refused.expect("the hourly limit is reached");
    assert!(refused.contains("several codes in the last hour"));
    assert_eq!(mail.count("code to"), 10, "ten codes in all, then none");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_address_is_recorded() {
    let spoofer = TestIdp::start().await;
    spoofer.create_user("alice");
    let browser = Browser::with_headers(&spoofer, &[("x-forwarded-for", "203.0.113.9")]);
    let account = browser.open_account("alice", PIN).await;
    assert!(
        !account.contains("203.0.113.9"),
        "the header is ignored from a client"
    );
    assert!(account.contains("from 127.0.0.1"));

    let idp = TestIdp::start_with(&[("IDP_TRUSTED_PROXIES", "[\"127.0.0.1\"]")]).await;
    idp.create_user("alice");
    let browser = Browser::with_headers(&idp, &[("x-forwarded-for", "203.0.113.9")]);
    let account = browser.open_account("alice", PIN).await;
    assert!(account.contains("from 203.0.113.9"), "{}", account.body);
    assert_eq!(
        idp.count(
            "audit_log",
            "kind = 'sign_in_succeeded' AND ip = '203.0.113.9'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn wrong_current_passwords_on_the_account_page_are_throttled_like_sign_in() {
    let (idp, _mail) = setup().await;
    let browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    // Guesses until the wait is long enough (8 s) that the next request surely falls in it,
    // however slow this machine: each wait is sat out, and the next guess doubles it.
    let mut throttled = None;
    for _ in 0..20 {
        let answer = browser
            .submit_to(
                &account,
                "/account/password",
                &[
                    ("current_password", "a guess at the password"),
                    ("password", "a brand new passphrase here"),
                    ("password_confirm", "a brand new passphrase here"),
                ],
            )
            .await;
        if answer.status != StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
            continue;
        }
        assert!(
            answer.contains("Too many sign-in attempts"),
            "{}",
            answer.body
        );
        let seconds: u64 = answer
            .body
            .split("Wait ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("the wait is said");
        if seconds >= 8 {
            throttled = Some(answer);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(seconds + 1)).await;
    }
    throttled.expect("guesses are slowed after a few failures, more and more");
    // Even the right password waits now; nothing was changed.
    let right = browser
        .submit_to(
            &account,
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "a brand new passphrase here"),
                ("password_confirm", "a brand new passphrase here"),
            ],
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(idp.count("audit_log", "kind = 'password_changed'").await, 0);
}
