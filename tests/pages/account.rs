//! The account page: a full sign-in first, then every change needs the secret it replaces.

use axum::http::StatusCode;

use idp_core::clock::Clock as _;

use crate::support::{Browser, Idp, PASSWORD, PIN};

async fn setup() -> Idp {
    let idp = Idp::start().await;
    idp.user("alice").await;
    idp
}

const NEW_PASSWORD: &str = "a brand new passphrase here";
const CHROME_ON_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// The text of the page's section headed by `id`, up to the next section.
fn section<'p>(page: &'p crate::support::Page, id: &str) -> &'p str {
    let start = page
        .body
        .find(&format!("<h2 id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id}: {}", page.body));
    let rest = &page.body[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn the_account_page_names_devices_and_says_when_in_words() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    browser.extra.push(("user-agent", CHROME_ON_WINDOWS.into()));
    let account = browser.open_account("alice", PIN).await;
    let signed_in = idp.clock.now().to_string();
    assert!(
        !account.contains(&signed_in),
        "no Unix times: {}",
        account.body
    );
    assert!(!account.contains("Mozilla/5.0"), "no raw user agents");
    let sessions = section(&account, "sessions");
    assert!(
        sessions.contains("<strong>Chrome on Windows</strong>"),
        "{sessions}"
    );
    assert!(sessions.contains("just now"), "{sessions}");
    assert!(section(&account, "activity").contains("Chrome on Windows"));
    // The notice of the new device names it the same way.
    let notice = "on a new device: Chrome on Windows";
    assert_eq!(idp.notice("alice@example.com", notice).await, 1);

    idp.clock.advance(5 * 60 + 20);
    let later = browser.get("/account").await;
    assert!(
        section(&later, "sessions").contains("Signed in: <time datetime=\""),
        "{}",
        later.body
    );
    assert!(section(&later, "sessions").contains("5 minutes ago"));
    // The date and time itself, for whoever hovers over the words.
    assert!(section(&later, "sessions").contains(" (UTC)\">5 minutes ago</time>"));
    assert!(section(&later, "activity").contains("5 minutes ago"));
    assert!(section(&later, "apps").contains("None."));

    idp.clock.advance(3 * 3600);
    let spanish = browser.get("/account?lang=es").await;
    let sesiones = section(&spanish, "sessions");
    assert!(sesiones.contains("Chrome en Windows"), "{sesiones}");
    assert!(sesiones.contains("hace 3 horas"), "{sesiones}");

    // Another browser, unnamed: a plain "Unknown browser".
    let mut other = Browser::new(&idp);
    other.open_account("alice", PIN).await;
    let both = browser.get("/account?lang=en").await;
    assert!(section(&both, "sessions").contains("<strong>Unknown browser</strong>"));
}

#[tokio::test]
async fn the_account_page_groups_its_sections_and_opens_one_form_at_a_time() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    let order: Vec<usize> = ["security", "contact", "sessions", "activity", "apps"]
        .iter()
        .map(|id| account.body.find(&format!("<h2 id=\"{id}\"")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    let security = section(&account, "security");
    for form in ["/account/password", "/account/pin", "/account/questions"] {
        assert!(security.contains(&format!("action=\"{form}\"")), "{form}");
    }
    assert!(section(&account, "contact").contains("action=\"/account/contact\""));
    // The name and address are kept with the contact details.
    assert!(section(&account, "contact").contains("action=\"/account/profile\""));
    // Every change form folded, in one exclusive group; none open on arrival.
    assert_eq!(account.body.matches("<details name=\"account\"").count(), 6);
    assert!(!account.body.contains(" open>"), "{}", account.body);

    // A refused change comes back with its form open, and only that one.
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
    assert_eq!(wrong.body.matches(" open>").count(), 1);
    assert!(wrong.contains("id=\"pin-section\" open>"), "{}", wrong.body);
    let password = browser
        .submit_to(
            &account,
            "/account/password",
            &[
                ("current_password", "not it"),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(password.contains("id=\"password-section\" open>"));
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
    assert!(done.contains("Your PIN is changed."));
    assert!(!done.body.contains(" open>"), "a done change folds again");
}

#[tokio::test]
async fn the_account_page_needs_password_and_pin() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let first = browser.get("/account").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let login = browser.follow(first).await;
    assert!(login.is("login"), "{login:?}");
    let account = browser.open_account("alice", PIN).await;
    assert!(
        account.contains("<strong>alice</strong>"),
        "{}",
        account.body
    );
    assert!(
        account.contains("<strong>Signed in</strong>"),
        "recent sign-ins are listed: {}",
        account.body
    );
    assert!(account.contains("this browser"));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_other_sessions() {
    let idp = setup().await;
    let mut other = Browser::new(&idp);
    other.open_account("alice", PIN).await;
    let mut browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    assert_eq!(idp.count("sessions", "TRUE"), 2);
    let change = |current: &'static str, new: &'static str| {
        [
            ("current_password", current),
            ("password", new),
            ("password_confirm", new),
        ]
    };

    let wrong = browser
        .submit_to(
            &account,
            "/account/password",
            &change("not it at all", NEW_PASSWORD),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.contains("Your current password is not correct."));
    let weak = browser
        .submit_to(
            &account,
            "/account/password",
            &change(PASSWORD, "qwerty123456"),
        )
        .await;
    assert!(weak.contains("too common"), "{}", weak.body);
    let done = browser
        .submit_to(
            &account,
            "/account/password",
            &change(PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert!(done.contains("Your password is changed."), "{}", done.body);
    assert_eq!(idp.count("sessions", "TRUE"), 1, "the other session ended");
    assert_eq!(
        idp.notice("alice@example.com", "Your password was changed")
            .await,
        1
    );
    let again = other.get("/account").await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "the other browser must sign in again"
    );
}

#[tokio::test]
async fn changing_the_pin_needs_the_current_one() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    let change = |current: &'static str, new: &'static str| {
        [("current_pin", current), ("pin", new), ("pin_confirm", new)]
    };
    let weak = browser
        .submit_to(&account, "/account/pin", &change(PIN, "111111"))
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        idp.count("users", "pin_failures = 0"),
        1,
        "a weak new PIN costs no try"
    );
    let wrong = browser
        .submit_to(&account, "/account/pin", &change("000000", "739184"))
        .await;
    assert!(
        wrong.contains("Your current PIN is not correct. 4 tries left."),
        "{}",
        wrong.body
    );
    let same = browser
        .submit_to(&account, "/account/pin", &change(PIN, PIN))
        .await;
    assert!(
        same.contains("different from your current one"),
        "{}",
        same.body
    );
    let done = browser
        .submit_to(&account, "/account/pin", &change(PIN, "739184"))
        .await;
    assert!(done.contains("Your PIN is changed."), "{}", done.body);
    assert_eq!(
        idp.notice("alice@example.com", "Your PIN was changed")
            .await,
        1
    );
    Browser::new(&idp).open_account("alice", "739184").await;
}

#[tokio::test]
async fn a_new_email_address_counts_once_its_code_comes_back() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    let contact = |value: &'static str| {
        [
            ("channel", "email"),
            ("value", value),
            ("current_password", PASSWORD),
        ]
    };
    let bad = browser
        .submit_to(&account, "/account/contact", &contact("not an address"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let sent = browser
        .submit_to(&account, "/account/contact", &contact("alice@new.example"))
        .await;
    let code_page = browser.follow(sent).await;
    assert_eq!(
        idp.count("users", "email = 'alice@example.com'"),
        1,
        "unchanged until confirmed"
    );
    let code = idp.code_sent_to("alice@new.example").await.unwrap();
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
        ),
        1
    );
    assert_eq!(
        idp.notice("alice@example.com", "Your contact details were changed")
            .await,
        1
    );
}

#[tokio::test]
async fn another_session_can_be_signed_out() {
    let idp = setup().await;
    let mut phone = Browser::new(&idp);
    phone.open_account("alice", PIN).await;
    let mut browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    // Each session's form carries its sid; this browser's is the one marked "this browser".
    let sids: Vec<String> = account
        .body
        .split("name=\"sid\" value=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    let marker = account.body.find("this browser").unwrap();
    let this = account.body[marker..]
        .split("name=\"sid\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let other_sid = sids.iter().find(|s| *s != this).unwrap();
    let done = browser
        .submit_to(&account, "/account/sessions/end", &[("sid", other_sid)])
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
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
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
        let answer = browser.post_as_is(action, &fields).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{action}");
    }
    Browser::new(&idp).open_account("alice", PIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_codes_need_the_password_are_rationed_and_their_tries_cannot_be_raced() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    let contact = |password: &'static str| {
        [
            ("channel", "email"),
            ("value", "x@new.example"),
            ("current_password", password),
        ]
    };
    let no_password = browser
        .submit_to(&account, "/account/contact", &contact("wrong password"))
        .await;
    assert_eq!(no_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        idp.messages("", "confirm your e-mail address").await,
        0,
        "nothing sent"
    );

    let sent = browser
        .submit_to(&account, "/account/contact", &contact(PASSWORD))
        .await;
    let code_page = browser.follow(sent).await;
    let code = idp.code_sent_to("x@new.example").await.unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (action, mut fields) = code_page.form();
    fields.push(("code".into(), wrong.into()));
    // Thirty wrong guesses at once, from copies of this browser.
    let guesses = (0..30).map(|_| {
        let mut copy = browser.clone();
        let (action, fields) = (action.clone(), fields.clone());
        async move { copy.post_as_is(&action, &fields).await }
    });
    let answers = futures_util::future::join_all(guesses).await;
    // A code checked and wrong: the code page again, saying so.
    let checked = answers
        .iter()
        .filter(|a| a.is("contact-code") && a.status == StatusCode::UNAUTHORIZED)
        .count();
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
        let again = [
            ("channel", "email"),
            ("value", ""),
            ("current_password", PASSWORD),
        ];
        let page = browser
            .submit_to(&account, "/account/contact", &again)
            .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(page);
            break;
        }
    }
    let refused = refused.expect("the hourly limit is reached");
    assert!(refused.contains("several codes in the last hour"));
    assert_eq!(
        idp.messages("", "code to").await,
        10,
        "ten codes in all, then none"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_address_is_recorded() {
    let spoofer = setup().await;
    let mut browser = Browser::new(&spoofer);
    browser
        .extra
        .push(("x-forwarded-for", "198.51.100.9".into()));
    let account = browser.open_account("alice", PIN).await;
    assert!(
        !account.contains("198.51.100.9"),
        "the header is ignored from a client"
    );
    let peer = browser.address.ip().to_string();
    assert!(
        account.contains(&format!("from {peer}")),
        "{}",
        account.body
    );

    let proxy = browser.address.ip();
    let idp = Idp::with(|s| s.trusted_proxies = vec![proxy]).await;
    idp.user("alice").await;
    let mut browser = Browser::new(&idp);
    browser
        .extra
        .push(("x-forwarded-for", "198.51.100.9".into()));
    let account = browser.open_account("alice", PIN).await;
    assert!(account.contains("from 198.51.100.9"), "{}", account.body);
    assert_eq!(
        idp.count(
            "audit_log",
            "kind = 'sign_in_succeeded' AND ip = '198.51.100.9'"
        ),
        1
    );
}

#[tokio::test]
async fn wrong_current_passwords_on_the_account_page_are_throttled_like_sign_in() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let account = browser.open_account("alice", PIN).await;
    let change = |current: &'static str| {
        [
            ("current_password", current),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ]
    };
    // Guesses until the wait grows to 8 s: each wait is sat out on the clock, and the next
    // guess doubles it.
    let mut throttled = None;
    for _ in 0..20 {
        let answer = browser
            .submit_to(
                &account,
                "/account/password",
                &change("a guess at the password"),
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
        let seconds: i64 = answer
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
        idp.clock.advance(seconds + 1);
    }
    throttled.expect("guesses are slowed after a few failures, more and more");
    // Even the right password waits now; nothing was changed.
    let right = browser
        .submit_to(&account, "/account/password", &change(PASSWORD))
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(idp.count("audit_log", "kind = 'password_changed'"), 0);
}
