//! What a credential change ends: every other session of the person, their other trusted
//! browsers, their sign-ins in progress; and trusted browsers lapse server-side.

use crate::support::{Browser, Idp, PASSWORD, PIN, authorize, exchange};

const NEW_PIN: &str = "739154";

/// Alice signed in to `rp` on two browsers (each then trusted), and her id.
async fn on_two_browsers(idp: &Idp) -> (Browser<'_>, Browser<'_>, String) {
    idp.client("rp", true).await;
    let alice = idp.user("alice").await;
    let mut laptop = Browser::new(idp);
    let mut phone = Browser::new(idp);
    for browser in [&mut laptop, &mut phone] {
        let answer = browser.sign_in(&authorize("rp", &[]), "alice").await;
        assert!(answer.gives_code(), "{answer:?}");
    }
    (laptop, phone, alice)
}

#[tokio::test]
async fn a_pin_recovery_ends_other_sessions_and_forgets_other_devices() {
    let idp = Idp::start().await;
    let (mut laptop, mut phone, alice) = on_two_browsers(&idp).await;
    assert_eq!(
        (idp.sessions_of(&alice).await, idp.devices_of(&alice).await),
        (2, 2)
    );
    // A sign-in in progress on a third browser, past the password.
    let mut third = Browser::new(&idp);
    let (login, _) = third.open(&authorize("rp", &[])).await;
    let pending = third
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;

    // On the laptop: a new sign-in, "Forgot PIN?", the code, a new PIN.
    let (login, _) = laptop.open(&authorize("rp", &[("prompt", "login")])).await;
    laptop
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let sent = laptop
        .post(&format!("{login}/recover"), &[("channel", "email")])
        .await;
    let code = idp.code_sent_to("alice@example.com").await.unwrap();
    let choose = laptop.post(sent.to(), &[("code", &code)]).await;
    assert_eq!(choose.to(), format!("{login}/new-pin"), "{choose:?}");
    let done = laptop
        .post(choose.to(), &[("pin", NEW_PIN), ("pin_confirm", NEW_PIN)])
        .await;
    assert!(done.gives_code(), "{done:?}");

    assert_eq!(idp.sessions_of(&alice).await, 1, "only the laptop's");
    assert_eq!(idp.devices_of(&alice).await, 1, "only the laptop");
    let (at, page) = phone.open(&authorize("rp", &[])).await;
    assert!(page.is("login"), "the phone signs in again: {at}");
    let stale = third.post(pending.to(), &[("pin", NEW_PIN)]).await;
    assert!(!stale.gives_code(), "{stale:?}");
    assert_eq!(stale.status.as_u16(), 400, "the sign-in in progress ended");
}

#[tokio::test]
async fn a_pin_change_on_the_account_page_ends_other_sessions() {
    let idp = Idp::start().await;
    let (mut laptop, mut phone, alice) = on_two_browsers(&idp).await;
    let changed = laptop
        .post(
            "/account/pin",
            &[
                ("current_pin", PIN),
                ("pin", NEW_PIN),
                ("pin_confirm", NEW_PIN),
            ],
        )
        .await;
    assert!(changed.status.is_success(), "{changed:?}");
    assert_eq!(idp.sessions_of(&alice).await, 1, "only the laptop's");
    assert_eq!(idp.devices_of(&alice).await, 1, "only the laptop");
    let (_, page) = phone.open(&authorize("rp", &[])).await;
    assert!(page.is("login"));
}

#[tokio::test]
async fn a_trusted_browser_lapses_when_not_seen_for_its_lifetime() {
    let idp = Idp::start().await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    let mut browser = Browser::new(&idp);
    assert!(
        browser
            .sign_in(&authorize("rp", &[]), "alice")
            .await
            .gives_code()
    );
    let again = authorize("rp", &[("prompt", "login")]);
    // Seen again within the lifetime: no code asked.
    idp.clock.advance(300 * 86_400);
    let (login, _) = browser.open(&again).await;
    let pin = browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(browser.post(pin.to(), &[("pin", PIN)]).await.gives_code());
    // Not seen for longer than the lifetime: a new-device code again.
    idp.clock.advance(401 * 86_400);
    let (login, _) = browser.open(&again).await;
    let pin = browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let next = browser.post(pin.to(), &[("pin", PIN)]).await;
    assert!(next.to().ends_with("/device"), "{next:?}");
}

#[tokio::test]
async fn a_password_change_ends_other_sessions_and_forgets_other_devices() {
    let idp = Idp::start().await;
    let (mut laptop, mut phone, alice) = on_two_browsers(&idp).await;
    let new_password = "a much longer new passphrase";
    let changed = laptop
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await;
    assert!(changed.status.is_success(), "{changed:?}");
    assert_eq!(idp.sessions_of(&alice).await, 1, "only the laptop's");
    assert_eq!(idp.devices_of(&alice).await, 1, "only the laptop");
    let (_, page) = phone.open(&authorize("rp", &[])).await;
    assert!(page.is("login"), "the phone signs in again");
    // The laptop, where the change was made, goes on: its codes still work.
    let (_, answer) = laptop.open(&authorize("rp", &[])).await;
    let (status, body) = exchange(&idp, "rp", &answer).await;
    assert_eq!(status.as_u16(), 200, "{body}");
}

#[tokio::test]
async fn a_code_issued_before_a_credential_change_is_refused_at_the_token_endpoint() {
    // Someone holding the person's session keeps fresh codes unused; the person changes their
    // password (which revokes every grant and ends that session); a kept code must not make
    // a new grant afterwards.
    let idp = Idp::start().await;
    let (mut intruder, mut owner, _) = on_two_browsers(&idp).await;
    let (_, kept) = intruder.open(&authorize("rp", &[])).await;
    assert!(kept.gives_code(), "{kept:?}");
    let (_, fresh) = intruder.open(&authorize("rp", &[])).await;
    let (status, _) = exchange(&idp, "rp", &fresh).await;
    assert_eq!(status.as_u16(), 200, "a code exchanged at once works");

    let new_password = "a much longer new passphrase";
    let changed = owner
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await;
    assert!(changed.status.is_success(), "{changed:?}");
    let (status, body) = exchange(&idp, "rp", &kept).await;
    assert_eq!(status.as_u16(), 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}
