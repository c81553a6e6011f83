//! Consent for third-party clients: asked once, remembered, withdrawn on the account page,
//! refused with `access_denied`.

use axum::http::StatusCode;

use crate::page::param;
use crate::support::{Browser, Idp, authorize, exchange};

async fn setup() -> Idp {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.client("budget", false).await;
    idp.user("alice").await;
    idp
}

#[tokio::test]
async fn consent_is_asked_once_remembered_and_can_be_withdrawn() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let asked = [("scope", "openid email offline_access")];
    let signed_in = browser.sign_in(&authorize("budget", &asked), "alice").await;
    let consent = browser.follow(signed_in).await;
    assert!(consent.is("consent"), "{consent:?}");
    assert!(
        consent.contains("See your e-mail address")
            && consent.contains("Keep access while you are not using it"),
        "{}",
        consent.body
    );
    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    let (status, tokens) = exchange(&idp, "budget", &done).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Remembered: the same scopes again need no page.
    let again = browser.get(&authorize("budget", &[])).await;
    assert!(again.gives_code(), "{again:?}");
    // A new scope asks again.
    let phone = [("scope", "openid phone")];
    let (_, more) = browser.open(&authorize("budget", &phone)).await;
    assert!(more.contains("See your phone number"), "{}", more.body);
    // prompt=none cannot ask.
    let silent = browser
        .get(&authorize(
            "budget",
            &[("scope", "openid phone"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(
        param(silent.to(), "error").as_deref(),
        Some("consent_required")
    );

    // Withdrawn on the account page: the refresh token dies and the page is asked again.
    let account = browser.get("/account").await;
    assert!(account.contains("Client budget"), "{}", account.body);
    let withdrawn = browser
        .submit_to(&account, "/account/consents/withdraw", &[])
        .await;
    assert!(withdrawn.contains("Access withdrawn"), "{}", withdrawn.body);
    let (_, _, body) = idp
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", "budget"),
            ],
        )
        .await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let (_, asked) = browser.open(&authorize("budget", &[])).await;
    assert!(asked.is("consent"), "{asked:?}");
}

#[tokio::test]
async fn refusing_consent_sends_access_denied() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    let signed_in = browser.sign_in(&authorize("budget", &[]), "alice").await;
    let consent = browser.follow(signed_in).await;
    let denied = browser.submit(&consent, &[("decision", "deny")]).await;
    let location = denied.to();
    assert_eq!(param(location, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(location, "state").as_deref(), Some("st"));
    assert_eq!(idp.count("consents", "TRUE"), 0);
    // Without this browser's CSRF token, the form does nothing.
    let (_, consent) = browser.open(&authorize("budget", &[])).await;
    let (action, _) = consent.form();
    let forged = browser
        .post_as_is(&action, &[("decision".into(), "allow".into())])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(idp.count("consents", "TRUE"), 0);
}
