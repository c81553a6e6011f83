//! The sample relying party, `examples/tax-portal`, end to end: sign in, then step up with a
//! fresh PIN to view the transcript, with a second factor to file a return, and with a
//! passkey (which nobody can have yet) to change the bank details; and in DPoP mode, with
//! tokens bound to the portal's own key, with and without the provider's DPoP nonces.

use idp_factors::totp;
use reqwest::StatusCode;

use crate::page::unescape;
use crate::support::*;

const AAL2: &str = "urn:idp:acr:aal2";

/// The portal, started against `idp` with a client of its own; its base URL.
async fn start_portal(idp: &TestIdp) -> String {
    start_portal_with(idp, &[], false).await
}

/// The portal, its client registered with `client_flags` too, in DPoP mode when `dpop`.
async fn start_portal_with(idp: &TestIdp, client_flags: &[&str], dpop: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let portal = format!("http://{}", listener.local_addr().unwrap());
    let redirect_uri = format!("{portal}/callback");
    let mut args = vec!["--name", "Tax Portal", "--redirect-uri", &redirect_uri];
    args.extend_from_slice(client_flags);
    let client = idp.create_client(&args);
    let mut config = tax_portal::PortalConfig::new(
        &idp.issuer,
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
        &portal,
    );
    assert_eq!(config.transcript_max_age_secs, 300);
    assert_eq!(config.filing_max_age_secs, 600);
    assert!(!config.dpop, "off unless asked for");
    config.dpop = dpop;
    tokio::spawn(async move { tax_portal::serve(config, listener).await });
    portal
}

/// Signs alice in to the portal with password and PIN (and the new-device code the
/// provider e-mails): she lands on the portal's home page.
async fn sign_in(idp: &TestIdp, browser: &Browser, portal: &str) {
    let after = sign_in_to_callback(idp, browser, portal).await;
    assert_eq!(after.location.as_deref(), Some("/"), "{}", after.body);
}

/// Signs alice in at the provider: the portal's answer at its redirect URI.
async fn sign_in_to_callback(idp: &TestIdp, browser: &Browser, portal: &str) -> Page {
    let to_provider = browser
        .get(&format!("{portal}/login"))
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
    assert!(back.starts_with(&format!("{portal}/callback")), "{back}");
    browser.get(&back).await
}

/// From a portal page that needs more, through its step-up, to the provider's
/// second-factor page (past the PIN, if the provider asks it again).
async fn step_up_to_second_factor(
    browser: &Browser,
    portal: &str,
    path: &str,
    step_up: &str,
    asked: &[&str],
) -> Page {
    let to_step_up = browser
        .get(&format!("{portal}{path}"))
        .await
        .location
        .expect("a step-up");
    assert_eq!(to_step_up, step_up);
    let to_provider = browser
        .get(&format!("{portal}{to_step_up}"))
        .await
        .location
        .expect("to the provider");
    let asked_for = unescape(&percent_decode(&to_provider));
    for part in asked {
        assert!(asked_for.contains(part), "{part} in {asked_for}");
    }
    let mut page = browser.open(&to_provider).await;
    if page.is("pin") {
        page = browser.submit(&page, &[("pin", PIN)]).await;
    }
    assert!(page.is("second-factor"), "{page:?}");
    page
}

fn percent_decode(url: &str) -> String {
    url::form_urlencoded::parse(url.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn unix_now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

#[tokio::test]
async fn the_tax_portal_signs_in_and_steps_up_for_the_transcript() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let portal = start_portal(&idp).await;
    let browser = Browser::new(&idp);
    let at = |path: &str| format!("{portal}{path}");

    // Not signed in: a "Sign in" button that leads to the provider.
    let home = browser.get(&at("/")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.contains("Sign in"), "{}", home.body);
    sign_in(&idp, &browser, &portal).await;
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

#[tokio::test]
async fn filing_a_return_steps_up_to_a_second_factor_and_declining_files_nothing() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let portal = start_portal(&idp).await;
    let browser = Browser::new(&idp);
    let at = |path: &str| format!("{portal}{path}");
    sign_in(&idp, &browser, &portal).await;
    let home = browser.get(&at("/")).await;
    assert!(home.contains("not filed yet"), "{}", home.body);
    assert!(
        home.contains("password, PIN and a verified device"),
        "{}",
        home.body
    );

    // Password and PIN are not enough to file: a step-up asking for aal2, recently.
    let second_factor = step_up_to_second_factor(
        &browser,
        &portal,
        "/file",
        "/login?step_up=file",
        &[&format!("acr_values={AAL2}"), "max_age=600"],
    )
    .await;

    // Alice declines ("I can't use any of these"): the provider answers at a lower acr, and
    // the portal explains instead of filing.
    let back = browser
        .submit_to(
            &second_factor,
            &second_factor.action_ending("/decline"),
            &[],
        )
        .await
        .location
        .expect("back to the portal");
    assert!(back.starts_with(&at("/callback")), "{back}");
    assert!(back.contains("code="), "a voluntary level: a code, {back}");
    let after = browser.get(&back).await;
    assert_eq!(after.location.as_deref(), Some("/file/not-filed"));
    let explained = browser.get(&at("/file/not-filed")).await;
    assert_eq!(explained.status, StatusCode::OK);
    assert!(
        explained.contains("Your return was not filed"),
        "{}",
        explained.body
    );
    assert!(
        explained.contains("Filing a return needs a second factor"),
        "{}",
        explained.body
    );
    let home = browser.get(&at("/")).await;
    assert!(home.contains("not filed yet"), "{}", home.body);
    // The form cannot be had, nor posted to, at the lower level.
    assert_eq!(
        browser.get(&at("/file")).await.location.as_deref(),
        Some("/login?step_up=file")
    );
    let posted = browser
        .http
        .post(at("/file"))
        .form(&[("form_token", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        posted.headers()["location"].to_str().unwrap(),
        "/login?step_up=file"
    );
    assert!(browser.get(&at("/")).await.contains("not filed yet"));

    // Trying again, alice, who has no second factor, adds an authenticator app at the
    // prompt and files.
    let again = explained.link("/login?step_up=file");
    let second_factor = step_up_to_second_factor(
        &browser,
        &portal,
        "/file",
        &again,
        &[&format!("acr_values={AAL2}")],
    )
    .await;
    let add = browser.open(&second_factor.link("/add-app")).await;
    assert!(add.is("add-app"), "{add:?}");
    let secret = add.shown_key();
    let code = totp::code_at(&secret, unix_now());
    let back = browser
        .submit(&add, &[("otp", &code), ("name", "Phone")])
        .await
        .location
        .expect("back to the portal");
    let after = browser.get(&back).await;
    assert_eq!(after.location.as_deref(), Some("/file"));
    let form = browser.get(&at("/file")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.contains("File your 2025 return"), "{}", form.body);
    let (target, fields) = form.form();
    assert_eq!(target, "/file");
    let filed = browser.post(&at(&target), &fields).await;
    assert_eq!(filed.status, StatusCode::OK);
    assert!(
        filed.contains("Your 2025 return is filed"),
        "{}",
        filed.body
    );
    assert!(
        filed.contains("password, PIN and a second factor"),
        "the level in words: {}",
        filed.body
    );
    assert!(filed.contains("one-time code"), "{}", filed.body);
    assert!(
        filed.contains(&format!("<code>{AAL2}</code>")),
        "{}",
        filed.body
    );
    let home = browser.get(&at("/")).await;
    assert!(!home.contains("not filed yet"), "{}", home.body);
}

#[tokio::test]
async fn changing_bank_details_without_a_passkey_is_explained() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let portal = start_portal(&idp).await;
    let browser = Browser::new(&idp);
    let at = |path: &str| format!("{portal}{path}");
    sign_in(&idp, &browser, &portal).await;

    // The bank details need a passkey, asked as an essential acr claim.
    let second_factor = step_up_to_second_factor(
        &browser,
        &portal,
        "/bank",
        "/login?step_up=bank",
        &[
            r#"claims={"id_token":{"acr":{"essential":true,"values":["urn:idp:acr:aal2-phishing-resistant"]}}}"#,
            "max_age=600",
        ],
    )
    .await;
    // Nobody can have a passkey in this build: alice can only decline, which ends the
    // essential request with an error at the portal's redirect URI.
    let back = browser
        .submit_to(
            &second_factor,
            &second_factor.action_ending("/decline"),
            &[],
        )
        .await
        .location
        .expect("back to the portal");
    assert!(back.starts_with(&at("/callback")), "{back}");
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("unmet_authentication_requirements"),
        "{back}"
    );
    let after = browser.get(&back).await;
    assert_eq!(after.location.as_deref(), Some("/bank/not-changed"));
    let explained = browser.get(&at("/bank/not-changed")).await;
    assert_eq!(explained.status, StatusCode::OK);
    assert!(
        explained.contains("Your bank details were not changed"),
        "{}",
        explained.body
    );
    assert!(
        explained.contains("Changing where refunds are paid needs a passkey"),
        "{}",
        explained.body
    );
    assert_eq!(
        explained.link("/account"),
        format!("{}/account", idp.issuer)
    );
    assert!(!explained.contains("unmet_authentication_requirements"));
    // Still no form to change them.
    assert_eq!(
        browser.get(&at("/bank")).await.location.as_deref(),
        Some("/login?step_up=bank")
    );

    // Any other error answer is explained in words, the raw answer folded away.
    let refused = browser
        .get(&at("/callback?error=access_denied&state=unknown"))
        .await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(refused.contains("Sign-in failed"), "{}", refused.body);
    assert!(
        refused.contains("The sign-in was cancelled, or the provider refused it."),
        "{}",
        refused.body
    );
}

/// A portal in DPoP mode, whose client must send proofs, signs alice in: the token endpoint
/// took its proof, UserInfo its DPoP-bound token and proof (her name comes from there), and
/// the home page says the tokens are bound.
async fn signs_in_with_dpop(idp: &TestIdp) {
    let subject = idp.create_user("alice");
    assert_ne!(
        subject, "alice",
        "so the name on the page can only come from UserInfo"
    );
    let portal = start_portal_with(idp, &["--dpop-bound-access-tokens"], true).await;
    let browser = Browser::new(idp);
    sign_in(idp, &browser, &portal).await;
    let home = browser.get(&format!("{portal}/")).await;
    assert!(
        home.contains("Signed in as <strong>alice</strong>"),
        "the name from UserInfo: {}",
        home.body
    );
    assert!(home.contains("DPoP-bound"), "{}", home.body);
    assert!(!home.contains("bearer tokens"), "{}", home.body);
}

#[tokio::test]
async fn the_tax_portal_in_dpop_mode_binds_its_tokens_and_without_it_is_refused() {
    let idp = TestIdp::start().await;
    signs_in_with_dpop(&idp).await;

    // The same kind of client, but a portal that sends no proofs: the provider refuses to
    // exchange the code, and the portal says why.
    let portal = start_portal_with(&idp, &["--dpop-bound-access-tokens"], false).await;
    let refused = sign_in_to_callback(&idp, &Browser::new(&idp), &portal).await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(refused.contains("Sign-in failed"), "{}", refused.body);
    assert!(
        refused.contains("the provider answered invalid_dpop_proof"),
        "{}",
        refused.body
    );

    // A portal without DPoP says its tokens are bearer tokens.
    let portal = start_portal(&idp).await;
    let browser = Browser::new(&idp);
    sign_in(&idp, &browser, &portal).await;
    let home = browser.get(&format!("{portal}/")).await;
    assert!(
        home.contains("bearer tokens, not bound to a key"),
        "{}",
        home.body
    );
}

#[tokio::test]
async fn the_tax_portal_in_dpop_mode_uses_the_nonce_the_provider_asks_for() {
    // Every proof must carry a nonce of the provider: the portal's first has none, is
    // answered `use_dpop_nonce`, and goes again with the nonce given.
    let idp = TestIdp::start_with(&[("IDP_DPOP__NONCES", "true")]).await;
    signs_in_with_dpop(&idp).await;
}
