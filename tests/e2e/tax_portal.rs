//! The sample relying party, `examples/tax-portal`, end to end: sign in, then step up with a
//! fresh PIN to view the transcript.

use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn the_tax_portal_signs_in_and_steps_up_for_the_transcript() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let portal = format!("http://{}", listener.local_addr().unwrap());
    let client = idp.create_client(&[
        "--name",
        "Tax Portal",
        "--redirect-uri",
        &format!("{portal}/callback"),
    ]);
    let config = tax_portal::PortalConfig {
        issuer: idp.issuer.clone(),
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        client_secret: client["client_secret"].as_str().unwrap().to_owned(),
        base_url: portal.clone(),
        transcript_max_age_secs: 300,
    };
    tokio::spawn(async move { tax_portal::serve(config, listener).await });
    let browser = Browser::new(&idp);
    let at = |path: &str| format!("{portal}{path}");

    // Not signed in: a "Sign in" button that leads to the provider.
    let home = browser.get(&at("/")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.contains("Sign in"), "{}", home.body);
    let to_provider = browser
        .get(&at("/login"))
        .await
        .location
        .expect("to the provider");
    assert!(to_provider.starts_with(&idp.issuer));
    let login = browser.open(&to_provider).await;
    assert!(login.contains("Tax Portal"));
    let back = browser
        .sign_in(&login, "alice", PASSWORD, PIN)
        .await
        .location
        .expect("back to the portal");
    assert!(back.starts_with(&at("/callback")), "{back}");
    let after = browser.get(&back).await;
    assert_eq!(after.location.as_deref(), Some("/"));
    let home = browser.get(&at("/")).await;
    assert!(
        home.contains("Signed in as <strong>alice</strong>"),
        "{}",
        home.body
    );

    // The transcript needs a PIN entered for it: a step-up through max_age=0.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let to_step_up = browser
        .get(&at("/transcript"))
        .await
        .location
        .expect("a step-up");
    assert_eq!(to_step_up, "/login?step_up=true");
    let to_provider = browser.get(&at(&to_step_up)).await.location.unwrap();
    assert!(to_provider.contains("max_age=0"), "{to_provider}");
    let pin_page = browser.open(&to_provider).await;
    assert!(pin_page.is("pin"), "PIN only: {}", pin_page.body);
    let back = browser
        .submit(&pin_page, &[("pin", PIN)])
        .await
        .location
        .expect("back to the portal");
    let after = browser.get(&back).await;
    assert_eq!(after.location.as_deref(), Some("/transcript"));
    let transcript = browser.get(&at("/transcript")).await;
    assert!(
        transcript.contains("Tax return transcript for <strong>alice</strong>"),
        "{}",
        transcript.body
    );
}
