//! Sign-up in a browser: details and password, then the PIN; refusals store nothing.

use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

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
async fn a_new_user_signs_up_then_signs_in_to_a_relying_party() {
    let idp = TestIdp::start().await;
    let browser = Browser::new(&idp);
    let form = browser.get("/signup").await;
    assert_eq!(form.status, StatusCode::OK);
    let pin_page = browser
        .submit(&form, &details("Bea", PASSWORD, PASSWORD))
        .await;
    assert!(pin_page.is("signup-pin"), "{}", pin_page.body);
    assert_eq!(
        idp.count("users", "TRUE").await,
        0,
        "nothing stored before the PIN"
    );
    let done = browser
        .submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.is("signed-up"), "{}", done.body);
    assert_eq!(
        idp.count("users", "username = 'bea' AND pin_hash IS NOT NULL")
            .await,
        1
    );
    assert_eq!(idp.count("ephemeral", "kind = 'signup'").await, 0);

    // A relying party signs the new user in, in a fresh browser, with password and PIN.
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let other = Browser::new(&idp);
    let mut start = rp.start(&[], &[], true);
    let tokens = rp.sign_in(&other, "bea", &mut start).await;
    rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
}

#[tokio::test]
async fn sign_up_started_from_a_login_page_continues_to_the_relying_party() {
    let idp = TestIdp::start().await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&[], &[], true);
    let login = browser.open(&start.url).await;
    let link_start = login
        .body
        .find("/signup?interaction=")
        .expect("a sign-up link");
    let link = &login.body[link_start..];
    let link = link[..link.find('"').unwrap()].replace("&amp;", "&");
    let form = browser.get(&link).await;
    let pin_page = browser
        .submit(&form, &details("bea", PASSWORD, PASSWORD))
        .await;
    let done = browser
        .submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
        .await;
    let location = done.location.expect("back to the relying party");
    assert!(location.starts_with(REDIRECT), "{location}");
    let tokens = rp
        .exchange(&param(&location, "code").unwrap(), start.verifier)
        .await
        .unwrap();
    let claims = rp.verify_id_token(
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
    assert_eq!(amr, ["pwd", "pin"]);
}

#[tokio::test]
async fn weak_or_mismatched_pins_are_refused_and_nothing_is_stored() {
    let idp = TestIdp::start().await;
    let browser = Browser::new(&idp);
    let form = browser.get("/signup").await;
    let pin_page = browser
        .submit(&form, &details("bea", PASSWORD, PASSWORD))
        .await;
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
    assert_eq!(idp.count("users", "TRUE").await, 0);
    let done = browser
        .submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
        .await;
    assert!(done.is("signed-up"));
}

#[tokio::test]
async fn bad_details_and_weak_passwords_are_refused_and_nothing_is_stored() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let browser = Browser::new(&idp);
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
    assert_eq!(idp.count("users", "TRUE").await, 1, "only alice");
    assert_eq!(idp.count("ephemeral", "kind = 'signup'").await, 0);
    // What was typed (but the password) is kept on the form.
    let refused = browser
        .submit(&form, &details("bea", "short pass", "short pass"))
        .await;
    assert!(refused.contains("value=\"bea@example.com\""));
}

#[tokio::test]
async fn the_pin_step_needs_the_first_step() {
    let idp = TestIdp::start().await;
    let browser = Browser::new(&idp);
    let page = browser.get("/signup/pin").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.is("error-signup-expired"));
}
