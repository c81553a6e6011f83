//! The authorization endpoint and the sign-in pages refusing what they must refuse, and
//! changing nothing when they do.

use reqwest::StatusCode;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn setup(public: bool) -> (TestIdp, RelyingParty) {
    let idp = TestIdp::start().await;
    let mut args = vec!["--name", "Tax Portal", "--redirect-uri", REDIRECT];
    if public {
        args.push("--public");
    }
    let client = idp.create_client(&args);
    idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    (idp, rp)
}

fn replace_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    let mut query = parsed.query_pairs_mut();
    query.clear();
    for (k, v) in &pairs {
        query.append_pair(k, v);
    }
    if let Some(value) = value {
        query.append_pair(name, value);
    }
    drop(query);
    parsed.to_string()
}

#[tokio::test]
async fn an_unknown_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let (idp, rp) = setup(false).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&[], &[], true);
    let cases = [
        replace_param(&start.url, "client_id", Some("no-such-client")),
        replace_param(&start.url, "client_id", None),
        replace_param(
            &start.url,
            "redirect_uri",
            Some("https://attacker.example/callback"),
        ),
        replace_param(
            &start.url,
            "redirect_uri",
            Some("http://127.0.0.1:9/callback/"),
        ),
        replace_param(
            &start.url,
            "redirect_uri",
            Some("http://127.0.0.1:9/callback?x=1"),
        ),
        replace_param(
            &start.url,
            "redirect_uri",
            Some("http://127.0.0.1:9/CALLBACK"),
        ),
        replace_param(&start.url, "redirect_uri", None),
        format!(
            "{}&redirect_uri={}",
            start.url, "https%3A%2F%2Fattacker.example%2F"
        ),
    ];
    for url in cases {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{url}");
        assert!(page.location.is_none(), "never redirects: {url}");
        assert!(page.is("error-authorize-refused"));
    }
    assert_eq!(
        idp.count("ephemeral", "TRUE").await,
        0,
        "nothing was stored"
    );
}

#[tokio::test]
async fn bad_requests_from_a_known_client_go_back_with_an_error() {
    let (idp, rp) = setup(false).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&[], &[], true);
    let cases = [
        (
            replace_param(&start.url, "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            replace_param(&start.url, "response_type", None),
            "invalid_request",
        ),
        (
            replace_param(&start.url, "scope", Some("profile email")),
            "invalid_scope",
        ),
        (
            replace_param(&start.url, "code_challenge_method", Some("plain")),
            "invalid_request",
        ),
        (
            replace_param(&start.url, "code_challenge_method", None),
            "invalid_request",
        ),
        (
            replace_param(&start.url, "code_challenge", Some("too-short")),
            "invalid_request",
        ),
        (
            replace_param(&start.url, "prompt", Some("none login")),
            "invalid_request",
        ),
        (
            replace_param(&start.url, "prompt", Some("consent")),
            "invalid_request",
        ),
        (
            replace_param(&start.url, "max_age", Some("-1")),
            "invalid_request",
        ),
        (
            replace_param(&start.url, "request", Some("eyJhbGciOiJub25lIn0.e30.")),
            "request_not_supported",
        ),
        (
            replace_param(&start.url, "request_uri", Some("https://rp.example/r")),
            "request_uri_not_supported",
        ),
        (
            replace_param(&start.url, "response_mode", Some("fragment")),
            "invalid_request",
        ),
        (format!("{}&nonce=second", start.url), "invalid_request"),
        (
            replace_param(&start.url, "nonce", Some(&"n".repeat(600))),
            "invalid_request",
        ),
    ];
    for (url, error) in cases {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{url}");
        let location = page.location.unwrap();
        assert!(location.starts_with(REDIRECT), "{location}");
        assert_eq!(param(&location, "error").as_deref(), Some(error), "{url}");
        assert_eq!(
            param(&location, "state").as_deref(),
            Some(start.state.secret().as_str())
        );
        assert_eq!(
            param(&location, "iss").as_deref(),
            Some(idp.issuer.as_str())
        );
        assert!(param(&location, "code").is_none());
    }
    assert_eq!(
        idp.count("ephemeral", "TRUE").await,
        0,
        "nothing was stored"
    );
}

#[tokio::test]
async fn a_public_client_must_use_pkce() {
    let (idp, rp) = setup(true).await;
    let browser = Browser::new(&idp);
    let start = rp.start(&[], &[], false);
    let location = browser.get(&start.url).await.location.unwrap();
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(
        param(&location, "error_description")
            .unwrap()
            .contains("PKCE")
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_username_look_the_same() {
    let (idp, rp) = setup(false).await;
    let browser = Browser::new(&idp);
    let login = browser.open(&rp.start(&[], &[], true).url).await;
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
    assert!(wrong.contains("That username or password is not correct."));
    assert_eq!(
        unknown.body.replace("mallory", "alice"),
        wrong.body,
        "same page but for the echoed username"
    );
    // Wrong passwords never lock the PIN or anything else.
    assert_eq!(idp.count("users", "pin_failures > 0").await, 0);
    let done = browser.sign_in(&login, "alice", PASSWORD, PIN).await;
    assert!(param(&done.location.unwrap(), "code").is_some());
}

#[tokio::test]
async fn a_wrong_pin_says_how_many_tries_are_left_and_letters_do_not_count() {
    let (idp, rp) = setup(false).await;
    let browser = Browser::new(&idp);
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;

    let wrong = browser.submit(&pin_page, &[("pin", "000000")]).await;
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
        idp.count("users", "pin_failures = 1").await,
        1,
        "letters took no try"
    );

    let done = browser.submit_pin(&password_in_pin, PIN).await;
    assert!(param(&done.location.unwrap(), "code").is_some());
    assert_eq!(
        idp.count("users", "pin_failures = 0").await,
        1,
        "a correct PIN resets the count"
    );
}

#[tokio::test]
async fn five_wrong_pins_lock_the_pin() {
    let (idp, rp) = setup(false).await;
    let browser = Browser::new(&idp);
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    let mut page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
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
    assert!(locked.is("locked-now"));

    // Even the right PIN, in a new sign-in, meets the lock.
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(pin_page.is("locked"), "{}", pin_page.body);
    let (action, fields) = page.form();
    let mut fields = fields;
    fields.push(("pin".into(), PIN.into()));
    let answer = browser.post(&action, &fields).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.location.is_none());
    assert_eq!(
        idp.count("sessions", "TRUE").await,
        0,
        "no session was started"
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let (idp, rp) = setup(false).await;
    let browser = Browser::new(&idp);
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    let (action, _) = login.form();
    let fields = vec![
        ("username".to_owned(), "alice".to_owned()),
        ("password".to_owned(), PASSWORD.to_owned()),
    ];
    let refused = browser.post(&action, &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let forged = vec![
        ("csrf".to_owned(), "forged".to_owned()),
        fields[0].clone(),
        fields[1].clone(),
    ];
    assert_eq!(
        browser.post(&action, &forged).await.status,
        StatusCode::FORBIDDEN
    );
    let pin_url = format!("{action}/pin");
    let pin_page = browser.get(&pin_url).await;
    assert_eq!(
        pin_page.location.as_deref().map(|to| action.ends_with(to)),
        Some(true),
        "no password step was recorded: back to the password page"
    );
    assert_eq!(pin_page.status, StatusCode::SEE_OTHER,);
}

#[tokio::test]
async fn a_sign_in_started_in_one_browser_cannot_be_continued_in_another() {
    let (idp, rp) = setup(false).await;
    let victim = Browser::new(&idp);
    let first = victim.get(&rp.start(&[], &[], true).url).await;
    let login_path = first.location.unwrap();
    let attacker = Browser::new(&idp);
    let page = attacker.get(&login_path).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.is("error-expired"));
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let (idp, rp) = setup(false).await;
    let browser = Browser::new(&idp);
    let response = browser
        .http
        .get(rp.start(&[], &[], true).url)
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let response = browser
        .http
        .get(format!("{}{location}", idp.issuer))
        .send()
        .await
        .unwrap();
    let headers = response.headers();
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
