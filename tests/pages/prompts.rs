//! `prompt=consent`, `prompt=select_account`, `id_token_hint` and `display` at the
//! authorization endpoint (OpenID Connect Core §3.1.2.1).

use axum::http::StatusCode;

use crate::page::param;
use crate::support::{Browser, Idp, PASSWORD, PIN, REDIRECT, authorize, exchange};

async fn setup() -> Idp {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.client("budget", false).await;
    idp.client("tax", true).await;
    idp.user("alice").await;
    idp.user("bob").await;
    idp
}

/// Signs `username` in to `client` in `browser` (allowing on the consent page when asked);
/// the ID token issued.
async fn id_token(idp: &Idp, browser: &mut Browser<'_>, client: &str, username: &str) -> String {
    let answer = browser.sign_in(&authorize(client, &[]), username).await;
    let mut answer = browser.follow(answer).await;
    if answer.is("consent") {
        answer = browser.submit(&answer, &[("decision", "allow")]).await;
    }
    let (status, tokens) = exchange(idp, client, &answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens["id_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn prompt_consent_asks_a_person_who_already_consented() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    id_token(&idp, &mut browser, "budget", "alice").await;
    // Remembered: no page without the prompt.
    assert!(browser.get(&authorize("budget", &[])).await.gives_code());
    for prompt in ["consent", "login consent"] {
        let (at, page) = browser
            .open(&authorize("budget", &[("prompt", prompt)]))
            .await;
        let page = if page.is("login") {
            let pin = browser
                .post(&at, &[("username", "alice"), ("password", PASSWORD)])
                .await;
            let next = browser.post(pin.to(), &[("pin", PIN)]).await;
            browser.follow(next).await
        } else {
            page
        };
        assert!(page.is("consent"), "{prompt}: {page:?}");
        let done = browser.submit(&page, &[("decision", "allow")]).await;
        assert!(done.gives_code(), "{prompt}: {done:?}");
    }
    // A first-party client is asked too when the relying party says so.
    let (_, page) = browser
        .open(&authorize("tax", &[("prompt", "consent")]))
        .await;
    assert!(page.is("consent"), "{page:?}");
}

#[tokio::test]
async fn prompt_select_account_shows_the_sign_in_page_and_none_combines_with_nothing() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    id_token(&idp, &mut browser, "tax", "alice").await;
    assert!(browser.get(&authorize("tax", &[])).await.gives_code());
    let (at, page) = browser
        .open(&authorize("tax", &[("prompt", "select_account")]))
        .await;
    assert!(page.is("login"), "{page:?}");
    // Choosing another account: Bob signs in on Alice's browser.
    let pin = browser
        .post(&at, &[("username", "bob"), ("password", PASSWORD)])
        .await;
    let done = browser.post(pin.to(), &[("pin", PIN)]).await;
    assert!(done.gives_code(), "{done:?}");
    for prompt in ["none consent", "select_account none"] {
        let page = browser.get(&authorize("tax", &[("prompt", prompt)])).await;
        assert_eq!(
            param(page.to(), "error").as_deref(),
            Some("invalid_request"),
            "{prompt}"
        );
    }
}

#[tokio::test]
async fn an_id_token_hint_of_the_same_person_reuses_the_session() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let hint = id_token(&idp, &mut browser, "tax", "alice").await;
    // Expired by now, and still a hint (it names a past sign-in).
    idp.clock.advance(2 * 3600);
    for prompt in [None, Some("none")] {
        let mut extra = vec![("id_token_hint", hint.as_str())];
        extra.extend(prompt.map(|p| ("prompt", p)));
        let page = browser.get(&authorize("tax", &extra)).await;
        assert!(page.gives_code(), "{prompt:?}: {page:?}");
    }
}

#[tokio::test]
async fn another_persons_hint_is_login_required_or_the_sign_in_page() {
    let idp = setup().await;
    let mut bobs = Browser::new(&idp);
    let bobs_hint = id_token(&idp, &mut bobs, "tax", "bob").await;
    let mut browser = Browser::new(&idp);
    id_token(&idp, &mut browser, "tax", "alice").await;

    let silent = browser
        .get(&authorize(
            "tax",
            &[("id_token_hint", &bobs_hint), ("prompt", "none")],
        ))
        .await;
    let to = silent.to();
    assert!(to.starts_with(REDIRECT), "{silent:?}");
    assert_eq!(param(to, "error").as_deref(), Some("login_required"));
    assert_eq!(param(to, "state").as_deref(), Some("st"));
    assert!(param(to, "code").is_none());

    // Without prompt=none Alice's session is not reused: the sign-in page, where Bob signs in.
    let (at, page) = browser
        .open(&authorize("tax", &[("id_token_hint", &bobs_hint)]))
        .await;
    assert!(page.is("login"), "{page:?}");
    let pin = browser
        .post(&at, &[("username", "bob"), ("password", PASSWORD)])
        .await;
    let done = browser.post(pin.to(), &[("pin", PIN)]).await;
    let (status, tokens) = exchange(&idp, "tax", &done).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        idp.id_token_claims(&tokens)["sub"],
        idp.id_token_claims(&serde_json::json!({ "id_token": bobs_hint }))["sub"]
    );
}

#[tokio::test]
async fn a_hint_this_provider_did_not_issue_to_the_client_is_invalid_request() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let hint = id_token(&idp, &mut browser, "tax", "alice").await;
    let (head, rest) = hint.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    // The same signature over other claims: the subject changed.
    let claims = serde_json::json!({ "iss": idp.state.issuer(), "sub": "bob", "aud": "tax", "exp": 4_000_000_000u64 });
    let forged_claims = base64_url(claims.to_string().as_bytes());
    let forged = format!("{head}.{forged_claims}.{signature}");
    for (client, bad) in [
        ("tax", forged.as_str()),
        ("tax", "not-a-jwt"),
        // Alice's real ID token, but issued to another client.
        ("budget", hint.as_str()),
    ] {
        let page = browser
            .get(&authorize(client, &[("id_token_hint", bad)]))
            .await;
        let to = page.to();
        assert!(to.starts_with(REDIRECT), "{page:?}");
        assert_eq!(
            param(to, "error").as_deref(),
            Some("invalid_request"),
            "{client} {bad}"
        );
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn display_values_are_accepted_and_unknown_ones_refused() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    for display in ["page", "popup", "touch", "wap"] {
        let (_, page) = browser
            .open(&authorize("tax", &[("display", display)]))
            .await;
        assert!(page.is("login"), "{display}: {page:?}");
    }
    let page = browser.get(&authorize("tax", &[("display", "tv")])).await;
    assert_eq!(
        param(page.to(), "error").as_deref(),
        Some("invalid_request")
    );
    // claims_locales is accepted (and claims keep the one language they are stored in).
    let (_, page) = browser
        .open(&authorize("tax", &[("claims_locales", "es fr")]))
        .await;
    assert!(page.is("login"), "{page:?}");
}

#[tokio::test]
async fn ui_locales_picks_the_sign_in_pages_language() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let (_, page) = browser
        .open(&authorize("tax", &[("ui_locales", "fr-CA es")]))
        .await;
    assert!(page.is("login"), "{page:?}");
    assert!(page.contains("<html lang=\"es\">"), "{}", page.body);
}
