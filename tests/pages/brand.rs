//! The operator's brand: the service's name, logo, accent colour and support contact on every
//! page and in messages; the help page's way to support; links back to the start.

use axum::http::StatusCode;

use crate::support::{Browser, Idp, PASSWORD, authorize};

#[tokio::test]
async fn the_pages_and_messages_carry_the_operators_name_logo_colour_and_support() {
    let logo_dir = tempfile::tempdir().unwrap();
    let logo = logo_dir.path().join("logo.svg");
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>"#;
    std::fs::write(&logo, svg).unwrap();
    let idp = Idp::with(|s| {
        s.brand.name = "Tax Office".into();
        s.brand.logo_file = Some(logo.clone());
        s.brand.accent_colour = "#2a5d2a".into();
        s.brand.support_email = "help@tax.example".into();
        s.brand.support_phone = "+44 20 7946 0000".into();
        s.brand.support_hours = "Monday to Friday, 8:00 to 18:00".into();
        s.limits.pin_tries_per_15_minutes = 0;
    })
    .await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    let mut browser = Browser::new(&idp);

    let help = browser.get("/help").await;
    assert!(help.is("help"));
    assert!(
        help.contains("<title>Help with signing in – Tax Office</title>"),
        "{help:?}"
    );
    assert!(help.contains(r#"<img src="/static/logo""#));
    assert!(help.contains("mailto:help@tax.example"));
    assert!(help.contains("tel:+442079460000"));
    assert!(help.contains("Monday to Friday, 8:00 to 18:00"));
    assert!(
        !help.contains(r#"href="/help""#),
        "no link from help to itself"
    );

    let style = browser.get("/static/style.css").await;
    assert!(style.contains("--accent: #2a5d2a"), "{}", style.body);
    let served = browser.get("/static/logo").await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.body, svg);

    // A message from a request signs off with the support contact: here, the PIN's lock.
    let (login, _) = browser.open(&authorize("rp", &[])).await;
    let pin = browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    for _ in 0..5 {
        browser.post(pin.to(), &[("pin", "000000")]).await;
    }
    assert_eq!(idp.notice("alice@example.com", "help@tax.example").await, 1);
}

#[tokio::test]
async fn without_a_brand_the_pages_say_who_to_ask_and_lead_back_to_the_start() {
    let idp = Idp::start().await;
    let mut browser = Browser::new(&idp);
    let help = browser.get("/help").await;
    assert!(
        help.contains("<title>Help with signing in – Sign-in</title>"),
        "{help:?}"
    );
    assert!(help.contains("Contact the organisation that runs this service"));
    assert!(!help.contains("/static/logo"));
    assert!(help.contains(r#"href="/""#), "a way back to the start");
    assert_eq!(
        browser.get("/static/logo").await.status,
        StatusCode::NOT_FOUND
    );
    let signup = browser.get("/signup").await;
    assert_eq!(
        signup.link("/account"),
        "/account",
        "already have an account?"
    );
}
