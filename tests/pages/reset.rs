//! "Forgot password?": a code to a confirmed contact, then the PIN, then a new password; the
//! person continues to the relying party, their other sessions end and they are told. A
//! username nobody has goes through the same pages and gets nowhere.

use axum::http::StatusCode;

use crate::support::{Browser, Idp, PASSWORD, PIN, Page, authorize};

const NEW_PASSWORD: &str = "a brand new passphrase for tax day";

async fn setup(adjust: impl FnOnce(&mut idp_server::config::Settings)) -> Idp {
    let idp = Idp::with(adjust).await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    idp
}

/// From the sign-in page of a new authorization request to the code step, for `username`:
/// the pages passed (username form, channel choice, code form).
async fn to_code_step(browser: &mut Browser<'_>, username: &str) -> [Page; 3] {
    let (_, login) = browser.open(&authorize("rp", &[])).await;
    assert!(login.is("login"), "{login:?}");
    let start = browser.get(&login.link("/forgot-password")).await;
    assert!(start.is("reset-username"), "{start:?}");
    let named = browser.submit(&start, &[("username", username)]).await;
    let choose = browser.follow(named).await;
    assert!(choose.is("reset-choose"), "{choose:?}");
    let sent = browser.submit(&choose, &[("channel", "email")]).await;
    let code = browser.follow(sent).await;
    assert!(code.is("reset-code"), "{code:?}");
    [start, choose, code]
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_a_code_and_the_pin_and_the_person_goes_on() {
    let idp = setup(|_| {}).await;
    let alice = "alice@example.com";
    // Alice is signed in elsewhere: that session ends with the reset.
    let mut elsewhere = Browser::new(&idp);
    assert!(
        elsewhere
            .sign_in(&authorize("rp", &[]), "alice")
            .await
            .gives_code()
    );
    assert_eq!(idp.sessions_of("id-alice").await, 1);

    let mut browser = Browser::new(&idp);
    let [_, _, code_page] = to_code_step(&mut browser, "alice").await;
    let code = idp.code_sent_to(alice).await.expect("a code went to alice");
    assert_eq!(idp.messages(alice, "reset your password").await, 1);
    // A wrong code first: counted, as a PIN recovery's is.
    let wrong = browser.submit(&code_page, &[("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.is("reset-code"), "{wrong:?}");
    let right = browser.submit(&wrong, &[("code", &code)]).await;
    let pin_page = browser.follow(right).await;
    assert!(pin_page.is("reset-pin"), "{pin_page:?}");
    // The new password is not reachable before the PIN.
    let early = browser
        .get(&pin_page.form().0.replace("/pin", "/new"))
        .await;
    assert!(early.to().ends_with("/forgot-password/pin"), "{early:?}");

    let pinned = browser.submit(&pin_page, &[("pin", PIN)]).await;
    let new_page = browser.follow(pinned).await;
    assert!(new_page.is("reset-password"), "{new_page:?}");
    let mismatch = browser
        .submit(
            &new_page,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", "something else"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert!(mismatch.is("reset-password"), "{mismatch:?}");
    let saved = browser
        .submit(
            &mismatch,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    let answer = browser.follow(saved).await;
    assert!(answer.gives_code(), "{answer:?}");

    // Only this browser's new session stands; alice is told.
    assert_eq!(idp.sessions_of("id-alice").await, 1);
    let (_, again) = elsewhere.open(&authorize("rp", &[])).await;
    assert!(again.is("login"), "the other session ended: {again:?}");
    assert_eq!(idp.notice(alice, "Your password was reset").await, 1);
    assert_eq!(idp.count("audit_log", "kind = 'password_reset'"), 1);

    // The old password no longer signs in; the new one does.
    let mut later = Browser::new(&idp);
    let (login, _) = later.open(&authorize("rp", &[])).await;
    let old = later
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{old:?}");
    let new = later
        .post(&login, &[("username", "alice"), ("password", NEW_PASSWORD)])
        .await;
    assert_eq!(new.to(), format!("{login}/pin"), "{new:?}");
}

#[tokio::test]
async fn a_username_nobody_has_goes_through_the_same_pages_and_gets_nowhere() {
    let idp = setup(|_| {}).await;
    // Bob exists but has no confirmed contact: like nobody, nothing goes out.
    let bob = idp.user("bob").await;
    idp.state
        .stores
        .users
        .set_email(&bob, "bob@example.com", false)
        .await
        .unwrap();
    let mut pages = Vec::new();
    for username in ["alice", "nobody", "bob"] {
        let mut browser = Browser::new(&idp);
        let steps = to_code_step(&mut browser, username).await;
        let mut seen: Vec<_> = steps.iter().map(|p| (p.id(), p.status)).collect();
        // Five wrong codes, then the code is spent, for everyone alike.
        let mut page = steps.into_iter().last().unwrap();
        for _ in 0..6 {
            page = browser.submit(&page, &[("code", "000000")]).await;
            let said = page.body.contains("not correct") || page.body.contains("expired");
            seen.push((page.id(), page.status));
            assert!(said, "{page:?}");
        }
        pages.push(seen);
    }
    assert_eq!(pages[0], pages[1], "nobody's reset looks like alice's");
    assert_eq!(pages[0], pages[2], "bob's reset looks like alice's");
    assert_eq!(
        idp.messages("", "reset your password").await,
        1,
        "alice's only"
    );
    assert_eq!(idp.messages("bob@example.com", "").await, 0);

    // A code past its lifetime is spent, whoever the username names.
    let mut waiting = Vec::new();
    for username in ["alice", "nobody"] {
        let mut browser = Browser::new(&idp);
        let [_, _, code] = to_code_step(&mut browser, username).await;
        waiting.push((browser, code));
    }
    idp.clock.advance(idp.state.settings.codes.lifetime_secs);
    for (mut browser, code) in waiting {
        let late = browser.submit(&code, &[("code", "000000")]).await;
        assert_eq!(late.status, StatusCode::GONE, "{late:?}");
    }
}

#[tokio::test]
async fn a_stranger_starting_resets_leaves_the_persons_other_codes_alone() {
    let idp = setup(|s| {
        s.limits.recoveries_per_hour = 0;
        s.limits.code_tries_per_15_minutes = 0;
        // Fewer than the stranger's fifty wrong codes: were they counted, alice would be
        // blocked from every code.
        s.codes.max_failures = 20;
    })
    .await;
    // Ten resets with wrong codes, from someone who knows only the username.
    for _ in 0..10 {
        let mut stranger = Browser::new(&idp);
        let [_, _, code] = to_code_step(&mut stranger, "alice").await;
        for _ in 0..5 {
            stranger.submit(&code, &[("code", "000000")]).await;
        }
    }
    let mut stranger = Browser::new(&idp);
    let (_, login) = stranger.open(&authorize("rp", &[])).await;
    let start = stranger.get(&login.link("/forgot-password")).await;
    let named = stranger.submit(&start, &[("username", "alice")]).await;
    let choose = stranger.follow(named).await;
    let refused = stranger.submit(&choose, &[("channel", "email")]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{refused:?}");
    // Alice still signs in on a new browser: its code goes out and is taken.
    let mut alice = Browser::new(&idp);
    assert!(
        alice
            .sign_in(&authorize("rp", &[]), "alice")
            .await
            .gives_code()
    );
}

#[tokio::test]
async fn the_pin_guards_a_reset_and_a_locked_pin_stops_it() {
    let idp = setup(|s| s.limits.pin_tries_per_15_minutes = 0).await;
    let mut browser = Browser::new(&idp);
    let [_, _, code_page] = to_code_step(&mut browser, "alice").await;
    let code = idp.code_sent_to("alice@example.com").await.unwrap();
    let right = browser.submit(&code_page, &[("code", &code)]).await;
    let mut page = browser.follow(right).await;
    for tries_left in (1..5).rev() {
        page = browser.submit(&page, &[("pin", "000000")]).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.is("reset-pin"), "{page:?}");
        assert!(page.contains(&format!("{tries_left} tr")), "{page:?}");
    }
    let locked = browser.submit(&page, &[("pin", "000000")]).await;
    assert!(locked.is("locked-now"), "{locked:?}");
    assert!(
        !locked.contains("/recover\""),
        "a reset offers no PIN unlock: {locked:?}"
    );
    // The right PIN no longer helps, and the password stays as it was.
    let after = browser.submit(&page, &[("pin", PIN)]).await;
    assert!(after.is("locked"), "{after:?}");
    assert_eq!(idp.count("audit_log", "kind = 'password_reset'"), 0);
    let mut later = Browser::new(&idp);
    let (login, _) = later.open(&authorize("rp", &[])).await;
    let old = later
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(old.to(), format!("{login}/pin"), "{old:?}");
}

#[tokio::test]
async fn resets_from_one_address_share_the_pin_recoveries_limit() {
    let idp = setup(|s| s.limits.recoveries_per_hour = 2).await;
    for name in ["fay", "gil"] {
        idp.user(name).await;
    }
    for name in ["alice", "fay"] {
        let mut browser = Browser::new(&idp);
        to_code_step(&mut browser, name).await;
    }
    let mut browser = Browser::new(&idp);
    let (_, login) = browser.open(&authorize("rp", &[])).await;
    let start = browser.get(&login.link("/forgot-password")).await;
    let named = browser.submit(&start, &[("username", "gil")]).await;
    let choose = browser.follow(named).await;
    let refused = browser.submit(&choose, &[("channel", "email")]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{refused:?}");
    assert_eq!(idp.messages("", "reset your password").await, 2);
    assert_eq!(
        idp.count("one_time_codes", "purpose = 'password_reset'"),
        2,
        "no code was made for the refused reset"
    );
}

#[tokio::test]
async fn a_reset_in_spanish_speaks_spanish() {
    let idp = setup(|_| {}).await;
    let mut browser = Browser::new(&idp);
    let (_, login) = browser
        .open(&authorize("rp", &[("ui_locales", "es")]))
        .await;
    assert!(login.contains("¿Ha olvidado su contraseña?"), "{login:?}");
    let start = browser.get(&login.link("/forgot-password")).await;
    assert!(start.contains("Restablezca su contraseña"), "{start:?}");
}
