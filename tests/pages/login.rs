//! The sign-in steps under the sign-in rules: a session never stands in for the password in
//! recovery, a consent step leads only to its code, an unlock is followed by the password.

use axum::http::StatusCode;

use crate::support::{Browser, Idp, PASSWORD, PIN, authorize};

const NEW_PIN: &str = "739154";

/// A browser signed in to `rp` as alice, and alice's id.
async fn signed_in(idp: &Idp) -> (Browser<'_>, String) {
    idp.client("rp", true).await;
    let alice = idp.user("alice").await;
    let mut browser = Browser::new(idp);
    let answer = browser.sign_in(&authorize("rp", &[]), "alice").await;
    assert!(answer.gives_code(), "{answer:?}");
    (browser, alice)
}

#[tokio::test]
async fn the_password_page_leads_to_the_pin_page_and_the_pin_to_the_code() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    let mut browser = Browser::new(&idp);
    let (login, page) = browser.open(&authorize("rp", &[])).await;
    assert!(page.is("login"), "{page:?}");
    let wrong = browser
        .post(
            &login,
            &[("username", "alice"), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let pin = browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(pin.to(), format!("{login}/pin"));
    let letters = browser.post(pin.to(), &[("pin", "hunter2")]).await;
    assert_eq!(letters.status, StatusCode::BAD_REQUEST);
    assert!(letters.contains("numbers only"), "{letters:?}");
    let answer = browser.post(pin.to(), &[("pin", PIN)]).await;
    assert!(answer.gives_code(), "{answer:?}");
    // The interaction is spent: its pages are gone.
    assert_eq!(browser.get(pin.to()).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_session_never_stands_in_for_the_password_to_recover_a_pin() {
    // Finding 1a: signed in, the relying party asks max_age=0, and "Forgot PIN?" must not
    // lead to an e-mailed code and a new PIN without the password.
    let idp = Idp::start().await;
    let (mut browser, alice) = signed_in(&idp).await;
    let pin_before = idp.pin_hash_of(&alice).await;
    idp.clock.advance(120);
    let (pin_page, page) = browser.open(&authorize("rp", &[("max_age", "0")])).await;
    assert!(pin_page.ends_with("/pin") && page.is("pin"), "{page:?}");
    let base = pin_page.trim_end_matches("/pin").to_owned();
    let recover = format!("{base}/recover");

    let forgot = browser.get(&recover).await;
    assert_eq!(forgot.to(), base, "the password first: {forgot:?}");
    let posted = browser.post(&recover, &[("channel", "email")]).await;
    let chosen = browser
        .post(
            &format!("{base}/new-pin"),
            &[("pin", NEW_PIN), ("pin_confirm", NEW_PIN)],
        )
        .await;
    assert!(!posted.gives_code() && !chosen.gives_code());
    assert_eq!(
        idp.recovery_codes_sent().await,
        0,
        "no code without the password"
    );
    assert_eq!(
        idp.pin_hash_of(&alice).await,
        pin_before,
        "the PIN is unchanged"
    );

    // With the password, recovery goes on.
    let after = browser
        .post(&base, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(after.to(), recover, "{after:?}");
    let sent = browser.post(&recover, &[("channel", "email")]).await;
    assert_eq!(sent.to(), format!("{recover}/code"));
    assert_eq!(idp.recovery_codes_sent().await, 1);
}

#[tokio::test]
async fn a_consent_step_leads_only_to_its_code_and_ends_with_its_session() {
    // Finding 1b: an interaction opened for consent reached the PIN step and recovery, and
    // outlived a sign-out.
    let idp = Idp::start().await;
    let (mut browser, alice) = signed_in(&idp).await;
    idp.client("third", false).await;
    let (consent, page) = browser.open(&authorize("third", &[])).await;
    assert!(consent.ends_with("/consent"), "{consent} {page:?}");
    let base = consent.trim_end_matches("/consent").to_owned();
    for step in ["pin", "recover", "new-pin", "device"] {
        let page = browser.get(&format!("{base}/{step}")).await;
        assert_eq!(page.to(), consent, "{step}: {page:?}");
    }
    let pin = browser.post(&format!("{base}/pin"), &[("pin", PIN)]).await;
    assert!(!pin.gives_code(), "{pin:?}");

    browser.sign_out().await;
    assert_eq!(idp.sessions_of(&alice).await, 0);
    for step in ["consent", "pin", "recover"] {
        let page = browser.get(&format!("{base}/{step}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{step}: {page:?}");
    }
    let pin = browser.post(&format!("{base}/pin"), &[("pin", PIN)]).await;
    let allowed = browser.post(&consent, &[("decision", "allow")]).await;
    assert!(!pin.gives_code() && !allowed.gives_code());
    assert_eq!(
        idp.sessions_of(&alice).await,
        0,
        "no session from a dead step"
    );
}

#[tokio::test]
async fn after_an_unlock_the_new_pin_comes_after_the_password() {
    // Finding 1c: five wrong step-up PINs lock the PIN; after support's unlock, a step-up or
    // consent interaction led to "choose a new PIN" without the password.
    let idp = Idp::start().await;
    let (mut browser, alice) = signed_in(&idp).await;
    idp.client("third", false).await;
    idp.clock.advance(120);
    let (pin_page, _) = browser.open(&authorize("rp", &[("max_age", "0")])).await;
    for _ in 0..5 {
        browser.post(&pin_page, &[("pin", "000000")]).await;
    }
    let locked = browser.get(&pin_page).await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN, "{locked:?}");
    idp_server::cli::unlock_user(&idp.state, "alice")
        .await
        .unwrap();
    assert_eq!(
        idp.sessions_of(&alice).await,
        0,
        "an unlock ends every session"
    );

    let base = pin_page.trim_end_matches("/pin").to_owned();
    let old = browser
        .post(
            &format!("{base}/new-pin"),
            &[("pin", NEW_PIN), ("pin_confirm", NEW_PIN)],
        )
        .await;
    assert!(!old.gives_code(), "{old:?}");
    for client in ["rp", "third"] {
        let (at, page) = browser.open(&authorize(client, &[])).await;
        assert!(page.is("login"), "{client}: {at} {page:?}");
        let chosen = browser
            .post(
                &format!("{at}/new-pin"),
                &[("pin", NEW_PIN), ("pin_confirm", NEW_PIN)],
            )
            .await;
        assert_eq!(chosen.to(), at, "{client}: the password first: {chosen:?}");
    }
    assert_eq!(
        idp.pin_hash_of(&alice).await,
        None,
        "no PIN without the password"
    );

    // The password alone (perhaps the one that locked the PIN) does not choose it either:
    // with a confirmed contact, a code sent to it comes first, as in recovery.
    let (at, _) = browser.open(&authorize("rp", &[])).await;
    let choose = browser
        .post(&at, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(choose.to(), format!("{at}/recover"), "{choose:?}");
    let early = browser
        .post(
            &format!("{at}/new-pin"),
            &[("pin", NEW_PIN), ("pin_confirm", NEW_PIN)],
        )
        .await;
    assert_eq!(early.to(), choose.to(), "no PIN before the code: {early:?}");
    assert_eq!(idp.pin_hash_of(&alice).await, None);
    let sent = browser.post(choose.to(), &[("channel", "email")]).await;
    let code = idp.code_sent_to("alice@example.com").await.unwrap();
    let new_pin = browser.post(sent.to(), &[("code", &code)]).await;
    assert_eq!(new_pin.to(), format!("{at}/new-pin"), "{new_pin:?}");
    let answer = browser
        .post(new_pin.to(), &[("pin", NEW_PIN), ("pin_confirm", NEW_PIN)])
        .await;
    assert!(answer.gives_code(), "{answer:?}");
    assert!(idp.pin_hash_of(&alice).await.is_some());
}

#[tokio::test]
async fn a_third_party_client_gets_consent_under_prompt_login_and_max_age_zero() {
    // Finding 6: the consent step required the session to satisfy the request again, which a
    // fresh sign-in under prompt=login or max_age=0 never does.
    let idp = Idp::start().await;
    let (mut browser, _) = signed_in(&idp).await;
    for (client, extra) in [("third", ("prompt", "login")), ("fourth", ("max_age", "0"))] {
        idp.client(client, false).await;
        idp.clock.advance(60);
        let (mut at, page) = browser.open(&authorize(client, &[extra])).await;
        if page.is("login") {
            let pin = browser
                .post(&at, &[("username", "alice"), ("password", PASSWORD)])
                .await;
            at = pin.to().to_owned();
        }
        assert!(at.ends_with("/pin"), "{extra:?}: {at}");
        let answer = browser.post(&at, &[("pin", PIN)]).await;
        assert!(answer.to().ends_with("/consent"), "{extra:?}: {answer:?}");
        let allowed = browser.post(answer.to(), &[("decision", "allow")]).await;
        assert!(allowed.gives_code(), "{extra:?}: {allowed:?}");
    }
}

#[tokio::test]
async fn every_code_screen_says_the_same_of_a_last_wrong_code() {
    // The new-device, recovery and contact screens are one screen: a code with no tries
    // left says so in the same words everywhere (the account page said "0 tries left").
    let idp = Idp::start().await;
    let (mut browser, _) = signed_in(&idp).await;
    let sent = browser
        .post(
            "/account/contact",
            &[
                ("current_password", PASSWORD),
                ("channel", "email"),
                ("value", "alice.new@example.com"),
            ],
        )
        .await;
    assert_eq!(sent.to(), "/account/contact/code", "{sent:?}");
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            browser
                .post("/account/contact/code", &[("code", "000000")])
                .await,
        );
    }
    let last = last.unwrap();
    assert_eq!(last.status, StatusCode::UNAUTHORIZED);
    assert!(last.contains("cannot be tried again"), "{last:?}");
    assert!(!last.contains("0 tries left"));

    let mut other = Browser::new(&idp);
    let (login, _) = other.open(&authorize("rp", &[])).await;
    let pin = other
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let device = other.post(pin.to(), &[("pin", PIN)]).await;
    assert!(device.to().ends_with("/device"), "{device:?}");
    let mut last = None;
    for _ in 0..5 {
        last = Some(other.post(device.to(), &[("code", "000000")]).await);
    }
    let last = last.unwrap();
    assert!(last.contains("cannot be tried again"), "{last:?}");
}

#[tokio::test]
async fn going_back_from_the_sign_in_page_tells_the_relying_party_access_denied() {
    let idp = Idp::start().await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    let mut browser = Browser::new(&idp);
    let (login, page) = browser.open(&authorize("rp", &[])).await;
    assert!(page.contains("Cancel and go back to Client rp"), "{page:?}");
    // Half-way through (the password given), going back still ends it.
    browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let cancel = format!("{login}/cancel");
    let forged = browser.post_as_is(&cancel, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "CSRF first");
    let back = browser.submit_to(&page, &cancel, &[]).await;
    let location = back.to();
    assert!(location.starts_with(crate::support::REDIRECT), "{back:?}");
    assert_eq!(
        crate::page::param(location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(crate::page::param(location, "state").as_deref(), Some("st"));
    // The sign-in is over: its pages are gone.
    let gone = browser.post(&format!("{login}/pin"), &[("pin", PIN)]).await;
    assert_ne!(gone.status, StatusCode::OK);
    assert!(!gone.gives_code(), "{gone:?}");
    // From the account pages' own sign-in, going back leads to the start page.
    let (account, account_login) = browser.open("/account").await;
    let cancel = format!("{account}/cancel");
    let start = browser.submit_to(&account_login, &cancel, &[]).await;
    assert_eq!(start.to(), "/");
}
