//! Sign-up refusals: weak or mismatched PINs, bad details and weak passwords are refused with
//! what was wrong, and nothing is stored; the PIN step needs the first step.

use axum::http::StatusCode;

use crate::support::{Browser, Idp, PASSWORD, PIN};

fn details<'a>(username: &'a str, password: &'a str, confirm: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", username),
        ("email", "bea@example.com"),
        ("phone", "+44 7700 900123"),
        ("password", password),
        ("password_confirm", confirm),
    ]
}

#[tokio::test]
async fn weak_or_mismatched_pins_are_refused_and_nothing_is_stored() {
    let idp = Idp::start().await;
    let mut browser = Browser::new(&idp);
    let form = browser.get("/signup").await;
    let details = browser
        .submit(&form, &details("bea", PASSWORD, PASSWORD))
        .await;
    let pin_page = browser.follow(details).await;
    assert!(pin_page.is("signup-pin"), "{pin_page:?}");
    let cases = [
        ("123456", "123456", "Digits in a row"),
        ("987654", "987654", "Digits in a row"),
        ("111111", "111111", "Repeated digits"),
        ("121212", "121212", "Repeated digits"),
        ("250390", "250390", "A date or a year"),
        ("199004", "199004", "A date or a year"),
        ("770090", "770090", "part of your phone number"),
        ("159753", "159753", "most common"),
        ("12345", "12345", "6 to 12 digits"),
        ("48a916", "48a916", "numbers only"),
        ("482916", "482917", "not the same"),
    ];
    for (pin, confirm, message) in cases {
        let refused = browser
            .submit(&pin_page, &[("pin", pin), ("pin_confirm", confirm)])
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{pin}");
        assert!(refused.contains(message), "{pin}: {}", refused.body);
    }
    assert_eq!(idp.count("users", "TRUE"), 0);
    let done = browser
        .submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
        .await;
    let done = browser.follow(done).await;
    assert!(done.is("signed-up"), "{done:?}");
    // The page has an address of its own: its language switch shows it again, in Spanish,
    // and it leads on to the account.
    let spanish = browser.get(&done.link("lang=es")).await;
    assert!(spanish.is("signed-up"), "{spanish:?}");
    assert!(spanish.contains("Su cuenta está lista"), "{spanish:?}");
    assert_eq!(spanish.link("/account"), "/account");
    // Without the session it made, the address leads to the sign-in.
    let stranger = Browser::new(&idp).get("/signed-up").await;
    assert_eq!(stranger.to(), "/account");
}

#[tokio::test]
async fn bad_details_and_weak_passwords_are_refused_and_nothing_is_stored() {
    let idp = Idp::start().await;
    idp.user("alice").await;
    let mut browser = Browser::new(&idp);
    let form = browser.get("/signup").await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            details("bea", "short pass", "short pass"),
            "at least 12 characters",
        ),
        (
            details("bea", "Password2024!", "Password2024!"),
            "too common",
        ),
        (
            details("bea", PASSWORD, "correct horse battery stapler"),
            "The two passwords are not the same.",
        ),
        (
            details("bea", "bea is my name!!", "bea is my name!!"),
            "may not contain your username",
        ),
        (
            details("ALICE", PASSWORD, PASSWORD),
            "That username is taken.",
        ),
        (details("b", PASSWORD, PASSWORD), "3 to 32 characters"),
        (details("<script>", PASSWORD, PASSWORD), "letters, digits"),
        (
            vec![
                ("username", "bea"),
                ("email", "not-an-email"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
            "e-mail address",
        ),
        (
            vec![
                ("username", "bea"),
                ("email", "b@example.com"),
                ("phone", "07700"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
            "country code",
        ),
    ];
    for (fields, message) in cases {
        let refused = browser.submit(&form, &fields).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{message}");
        assert!(refused.contains(message), "{message}: {}", refused.body);
        assert!(!refused.contains(PASSWORD), "the password is never echoed");
    }
    assert_eq!(idp.count("users", "TRUE"), 1, "only alice");
    assert_eq!(idp.count("ephemeral", "kind = 'signup'"), 0);
    // What was typed (but the password) is kept on the form.
    let refused = browser
        .submit(&form, &details("bea", "short pass", "short pass"))
        .await;
    assert!(refused.contains("value=\"bea@example.com\""));
}

#[tokio::test]
async fn the_pin_step_needs_the_first_step() {
    let idp = Idp::start().await;
    let mut browser = Browser::new(&idp);
    let page = browser.get("/signup/pin").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.is("error-signup-expired"));
}
