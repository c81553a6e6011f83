//! Dynamic registration's defaults and display metadata (RFC 7591 §2, OpenID Connect Dynamic
//! Registration §2): RS256 ID tokens unless asked otherwise; the logo and links checked,
//! echoed, and shown on the sign-in and consent pages with the logo allowed by the page's
//! Content-Security-Policy alone; initial access tokens good for several registrations.

use axum::http::{StatusCode, header};
use serde_json::{Value, json};

use crate::page::unescape;
use crate::support::{Browser, Idp, PASSWORD, REDIRECT, authorize};

async fn initial_token(idp: &Idp, uses: u32) -> String {
    let made = idp_server::cli::create_registration_token(&idp.state, "1h", uses)
        .await
        .unwrap();
    made["initial_access_token"].as_str().unwrap().to_owned()
}

async fn register(idp: &Idp, token: &str, body: &Value) -> (StatusCode, Value) {
    idp.json_request("POST", "/register", Some(token), Some(body))
        .await
}

fn with_links() -> Value {
    json!({
        "client_name": "Budget App",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "logo_uri": "https://cdn.budget.example:8443/logo.png",
        "client_uri": "https://budget.example/",
        "policy_uri": "https://budget.example/privacy",
        "tos_uri": "https://budget.example/terms",
    })
}

fn csp(browser: &Browser<'_>) -> String {
    let policy = browser.headers.get(header::CONTENT_SECURITY_POLICY);
    policy.unwrap().to_str().unwrap().to_owned()
}

#[tokio::test]
async fn registration_defaults_to_rs256_and_echoes_the_links() {
    let idp = Idp::start().await;
    let token = initial_token(&idp, 2).await;
    let (status, client) = register(&idp, &token, &with_links()).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(client["id_token_signed_response_alg"], "RS256");
    for (name, value) in with_links().as_object().unwrap() {
        assert_eq!(&client[name], value, "{name}");
    }
    // RFC 7592's read says the same.
    let id = client["client_id"].as_str().unwrap();
    let access = client["registration_access_token"].as_str().unwrap();
    let (status, read) = idp
        .json_request("GET", &format!("/register/{id}"), Some(access), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["id_token_signed_response_alg"], "RS256");
    assert_eq!(read["policy_uri"], "https://budget.example/privacy");
    // Named, the algorithm stays the client's choice.
    let es = json!({ "redirect_uris": [REDIRECT], "id_token_signed_response_alg": "ES256" });
    let (_, client) = register(&idp, &token, &es).await;
    assert_eq!(client["id_token_signed_response_alg"], "ES256");
}

#[tokio::test]
async fn unsafe_links_are_refused_and_nothing_is_stored() {
    let idp = Idp::start().await;
    let token = initial_token(&idp, 1).await;
    let long = format!("https://budget.example/{}", "a".repeat(2100));
    for field in ["logo_uri", "client_uri", "policy_uri", "tos_uri"] {
        for bad in [
            "http://budget.example/x",
            "javascript:alert(1)",
            "data:image/png;base64,iVBORw0KGgo=",
            "https://bank.example@budget.example/x",
            "https://budget.example/x#top",
            "/relative",
            "https://budget.example/\u{202E}gnp.x",
            long.as_str(),
        ] {
            let mut metadata = with_links();
            metadata[field] = json!(bad);
            let (status, answer) = register(&idp, &token, &metadata).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field} {bad}");
            assert_eq!(answer["error"], "invalid_client_metadata", "{field} {bad}");
        }
    }
    assert_eq!(idp.count("clients", "TRUE"), 0);
    // The token was not spent by the refusals.
    let (status, _) = register(&idp, &token, &with_links()).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_sign_in_and_consent_pages_show_the_logo_and_links_and_allow_that_logo_only() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.user("alice").await;
    let token = initial_token(&idp, 1).await;
    let (_, client) = register(&idp, &token, &with_links()).await;
    let id = client["client_id"].as_str().unwrap();
    let mut browser = Browser::new(&idp);

    let (at, login) = browser.open(&authorize(id, &[])).await;
    assert!(login.is("login"), "{login:?}");
    for shown in [
        r#"<img src="https://cdn.budget.example:8443/logo.png" alt="Logo of Budget App""#,
        r#"<a href="https://budget.example/" target="_blank" rel="noopener noreferrer">Budget App</a>"#,
        r#"<a href="https://budget.example/privacy" target="_blank" rel="noopener noreferrer" id="client-policy">Privacy policy</a>"#,
        r#"<a href="https://budget.example/terms" target="_blank" rel="noopener noreferrer" id="client-tos">Terms of service</a>"#,
    ] {
        assert!(
            unescape(&login.body).contains(shown),
            "{shown} in {}",
            login.body
        );
    }
    let policy = csp(&browser);
    assert!(
        policy.contains("img-src 'self' https://cdn.budget.example:8443;"),
        "{policy}"
    );
    assert!(policy.contains("default-src 'none'") && !policy.contains("script-src"));

    let pin = browser
        .post(&at, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    // A page that shows no logo allows none.
    browser.get(pin.to()).await;
    assert!(
        csp(&browser).contains("img-src 'self';"),
        "{}",
        csp(&browser)
    );
    let next = browser
        .post(pin.to(), &[("pin", crate::support::PIN)])
        .await;
    let consent = browser.follow(next).await;
    assert!(consent.is("consent"), "{consent:?}");
    assert!(consent.contains(r#"alt="Logo of Budget App""#));
    assert!(consent.contains("Terms of service") && consent.contains("Privacy policy"));
    assert!(csp(&browser).contains("img-src 'self' https://cdn.budget.example:8443;"));

    // In Spanish too.
    let (_, login) = browser
        .open(&authorize(id, &[("prompt", "login"), ("ui_locales", "es")]))
        .await;
    assert!(login.contains("Política de privacidad"), "{}", login.body);
    assert!(login.contains("Condiciones del servicio"));
    assert!(login.contains(r#"alt="Logotipo de Budget App""#));
}

#[tokio::test]
async fn a_page_shows_no_link_stored_unchecked() {
    // Put in the database by hand (or before the checks): never shown, never allowed.
    let idp = Idp::start().await;
    idp.confidential_client_with("rp", |client| {
        client.metadata.links.logo_uri = Some("http://tracker.example/pixel.gif".into());
        client.metadata.links.client_uri = Some("javascript:alert(1)".into());
    })
    .await;
    let mut browser = Browser::new(&idp);
    let (_, login) = browser.open(&authorize("rp", &[])).await;
    assert!(login.is("login"), "{login:?}");
    assert!(!login.contains("tracker.example") && !login.contains("javascript:"));
    assert!(!login.contains("<img"));
    assert!(csp(&browser).contains("img-src 'self';"));
}

#[tokio::test]
async fn a_reusable_initial_access_token_is_counted_down_and_ends_with_its_expiry() {
    let idp = Idp::start().await;
    let metadata = json!({ "redirect_uris": [REDIRECT] });
    let token = initial_token(&idp, 2).await;
    for _ in 0..2 {
        let (status, _) = register(&idp, &token, &metadata).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, used_up) = register(&idp, &token, &metadata).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(used_up["error"], "invalid_token");

    // Uses left, but expired: refused alike.
    let token = initial_token(&idp, 5).await;
    let (status, _) = register(&idp, &token, &metadata).await;
    assert_eq!(status, StatusCode::CREATED);
    idp.clock.advance(3600);
    let (status, expired) = register(&idp, &token, &metadata).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired, used_up);
    assert_eq!(idp.count("clients", "TRUE"), 3);
}
