//! The authorization endpoint and the sign-in pages refusing what they must refuse, and
//! changing nothing when they do.

use axum::http::StatusCode;

use crate::page::param;
use crate::support::{Browser, Idp, PASSWORD, PIN, REDIRECT, authorize};

/// A provider with the relying party `rp` (first party, public: PKCE) and alice.
async fn setup() -> Idp {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    idp
}

/// `url` with parameter `name` replaced by `value`, or removed.
fn replace_param(url: &str, name: &str, value: Option<&str>) -> String {
    let (path, query) = url.split_once('?').unwrap();
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    if let Some(value) = value {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    format!("{path}?{}", serde_urlencoded::to_string(&pairs).unwrap())
}

#[tokio::test]
async fn an_unknown_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let start = authorize("rp", &[]);
    let cases = [
        replace_param(&start, "client_id", Some("no-such-client")),
        replace_param(&start, "client_id", None),
        replace_param(
            &start,
            "redirect_uri",
            Some("https://attacker.example/callback"),
        ),
        replace_param(&start, "redirect_uri", Some(&format!("{REDIRECT}/"))),
        replace_param(&start, "redirect_uri", Some(&format!("{REDIRECT}?x=1"))),
        replace_param(&start, "redirect_uri", Some(&REDIRECT.to_ascii_uppercase())),
        replace_param(&start, "redirect_uri", None),
        format!("{start}&redirect_uri=https%3A%2F%2Fattacker.example%2F"),
    ];
    for url in cases {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{url}");
        assert!(page.location.is_none(), "never redirects: {url}");
        assert!(page.is("error-authorize-refused"), "{url}: {page:?}");
    }
    assert_eq!(idp.count("ephemeral", "TRUE"), 0, "nothing was stored");
}

#[tokio::test]
async fn bad_requests_from_a_known_client_go_back_with_an_error() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let start = authorize("rp", &[]);
    let cases = [
        (
            replace_param(&start, "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            replace_param(&start, "response_type", None),
            "invalid_request",
        ),
        (
            replace_param(&start, "scope", Some("profile email")),
            "invalid_scope",
        ),
        (
            replace_param(&start, "code_challenge_method", Some("plain")),
            "invalid_request",
        ),
        (
            replace_param(&start, "code_challenge_method", None),
            "invalid_request",
        ),
        (
            replace_param(&start, "code_challenge", Some("too-short")),
            "invalid_request",
        ),
        (
            replace_param(&start, "prompt", Some("none login")),
            "invalid_request",
        ),
        (
            replace_param(&start, "prompt", Some("consent create")),
            "invalid_request",
        ),
        (
            replace_param(&start, "max_age", Some("-1")),
            "invalid_request",
        ),
        (
            replace_param(&start, "request", Some("eyJhbGciOiJub25lIn0.e30.")),
            "invalid_request_object",
        ),
        (
            replace_param(&start, "request_uri", Some("https://127.0.0.1:9/r")),
            "invalid_request_uri",
        ),
        (
            replace_param(&start, "response_mode", Some("fragment")),
            "invalid_request",
        ),
        (format!("{start}&nonce=second"), "invalid_request"),
        (
            replace_param(&start, "nonce", Some(&"n".repeat(600))),
            "invalid_request",
        ),
    ];
    for (url, error) in cases {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{url}");
        let location = page.to();
        assert!(location.starts_with(REDIRECT), "{location}");
        assert_eq!(param(location, "error").as_deref(), Some(error), "{url}");
        assert_eq!(param(location, "state").as_deref(), Some("st"));
        assert_eq!(param(location, "iss").as_deref(), Some(idp.state.issuer()),);
        assert!(param(location, "code").is_none());
    }
    assert_eq!(idp.count("ephemeral", "TRUE"), 0, "nothing was stored");
}

#[tokio::test]
async fn a_public_client_must_use_pkce() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let without = replace_param(
        &replace_param(&authorize("rp", &[]), "code_challenge", None),
        "code_challenge_method",
        None,
    );
    let page = browser.get(&without).await;
    let location = page.to();
    assert_eq!(param(location, "error").as_deref(), Some("invalid_request"));
    assert!(
        param(location, "error_description")
            .unwrap()
            .contains("PKCE")
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_username_look_the_same() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let (_, login) = browser.open(&authorize("rp", &[])).await;
    let wrong = browser
        .submit(
            &login,
            &[("username", "alice"), ("password", "not the password")],
        )
        .await;
    let unknown = browser
        .submit(
            &login,
            &[("username", "mallory"), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, wrong.status);
    assert!(wrong.is("login"), "{wrong:?}");
    assert_eq!(
        unknown.body.replace("mallory", "alice"),
        wrong.body,
        "same page but for the echoed username"
    );
    // Wrong passwords never lock the PIN or anything else.
    assert_eq!(idp.count("users", "pin_failures > 0"), 0);
    let pin = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let done = browser.post(pin.to(), &[("pin", PIN)]).await;
    assert!(done.gives_code(), "{done:?}");
}

#[tokio::test]
async fn a_wrong_pin_says_how_many_tries_are_left_and_letters_do_not_count() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let (login, _) = browser.open(&authorize("rp", &[])).await;
    let pin = browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let pin_path = pin.to().to_owned();

    let wrong = browser.post(&pin_path, &[("pin", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.contains("That PIN is not correct. 4 tries left."),
        "{}",
        wrong.body
    );
    assert!(wrong.location.is_none());

    let password_in_pin = browser.submit(&wrong, &[("pin", PASSWORD)]).await;
    assert_eq!(password_in_pin.status, StatusCode::BAD_REQUEST);
    assert!(password_in_pin.contains("Your PIN is numbers only."));
    assert_eq!(
        idp.count("users", "pin_failures = 1"),
        1,
        "letters took no try"
    );

    let done = browser.submit(&password_in_pin, &[("pin", PIN)]).await;
    assert!(done.gives_code(), "{done:?}");
    assert_eq!(
        idp.count("users", "pin_failures = 0"),
        1,
        "a correct PIN resets the count"
    );
}

#[tokio::test]
async fn five_wrong_pins_lock_the_pin() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let (login, _) = browser.open(&authorize("rp", &[])).await;
    let pin = browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let pin_path = pin.to().to_owned();
    let mut page = browser.get(&pin_path).await;
    for left in (1..5).rev() {
        page = browser.submit(&page, &[("pin", "000000")]).await;
        let expected = if left == 1 {
            "1 try left.".to_owned()
        } else {
            format!("{left} tries left.")
        };
        assert!(page.contains(&expected), "{}", page.body);
    }
    let locked = browser.submit(&page, &[("pin", "000000")]).await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    assert!(locked.is("locked-now"), "{locked:?}");

    // Even the right PIN, in a new sign-in, meets the lock.
    let (login, _) = browser.open(&authorize("rp", &[])).await;
    let pin = browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let pin_page = browser.get(pin.to()).await;
    assert!(pin_page.is("locked"), "{}", pin_page.body);
    let answer = browser.submit(&page, &[("pin", PIN)]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.location.is_none());
    assert_eq!(idp.count("sessions", "TRUE"), 0, "no session was started");
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let (_, login) = browser.open(&authorize("rp", &[])).await;
    let (action, _) = login.form();
    let fields = vec![
        ("username".to_owned(), "alice".to_owned()),
        ("password".to_owned(), PASSWORD.to_owned()),
    ];
    let refused = browser.post_as_is(&action, &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let forged = vec![
        ("csrf".to_owned(), "forged".to_owned()),
        fields[0].clone(),
        fields[1].clone(),
    ];
    let refused = browser.post_as_is(&action, &forged).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let pin_page = browser.get(&format!("{action}/pin")).await;
    assert_eq!(pin_page.status, StatusCode::SEE_OTHER);
    assert!(
        action.ends_with(pin_page.to()),
        "no password step was recorded: back to the password page, not {}",
        pin_page.to()
    );
}

#[tokio::test]
async fn a_sign_in_started_in_one_browser_cannot_be_continued_in_another() {
    let idp = setup().await;
    let mut victim = Browser::new(&idp);
    let first = victim.get(&authorize("rp", &[])).await;
    let login_path = first.to().to_owned();
    let mut attacker = Browser::new(&idp);
    let page = attacker.get(&login_path).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.is("error-expired"), "{page:?}");
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let first = browser.get(&authorize("rp", &[])).await;
    let cookie = browser.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    browser.get(first.to()).await;
    let headers = &browser.headers;
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
}
