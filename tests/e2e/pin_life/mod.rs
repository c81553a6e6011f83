//! The PIN's life: lockout that cannot be raced, password guessing slowed without lockout and
//! support unlock (`lockout`); recovery by a code sent by e-mail or text, with security
//! questions when set (`recovery`); and the code a browser the provider does not know needs
//! after the PIN (`new_device`).

mod lockout;
mod new_device;
mod recovery;

use reqwest::StatusCode;

use crate::sinks::{Inbox, sms_sink};
use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const NEW_PIN: &str = "739184";

struct World {
    idp: TestIdp,
    rp: RelyingParty,
    mail: Inbox,
    texts: Inbox,
}

async fn world() -> World {
    let (webhook, texts) = sms_sink().await;
    let idp = TestIdp::start_with(&[("IDP_SMS_WEBHOOK_URL", &webhook)]).await;
    let mail = idp.mail.clone();
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let out = idp.cli(
        &[
            "user",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--phone",
            "+44 7700 900123",
        ],
        &format!("{PASSWORD}\n{PIN}\n"),
    );
    assert!(out.status.success());
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    World {
        idp,
        rp,
        mail,
        texts,
    }
}

/// Password right, then the PIN page.
async fn at_pin_page(w: &World, browser: &Browser) -> Page {
    let login = browser.open(&w.rp.start(&[], &[], true).url).await;
    let page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(page.is("pin"), "{}", page.body);
    page
}

async fn lock(w: &World, browser: &Browser) -> Page {
    let mut page = at_pin_page(w, browser).await;
    for _ in 0..5 {
        page = browser.submit(&page, &[("pin", "000000")]).await;
    }
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.is("locked-now"));
    page
}

/// Confirms alice's e-mail address (the new-device code of her first sign-in, sent to it,
/// does that) and, for "sms", her phone with the code texted to it.
async fn confirm_contact(w: &World, channel: &str) {
    let browser = Browser::new(&w.idp);
    let account = browser.open_account("alice", PIN).await;
    assert!(
        account.contains("E-mail: alice@example.com — confirmed"),
        "{}",
        account.body
    );
    if channel == "email" {
        return;
    }
    assert!(account.contains("— not confirmed"));
    let code_page = browser.ask_to_confirm_phone(&account).await;
    let code = w
        .texts
        .code("+447700900123", "confirm your phone number", 0)
        .await;
    let wrong = browser
        .submit(
            &code_page,
            &[("code", if code == "000000" { "111111" } else { "000000" })],
        )
        .await;
    assert!(
        wrong.contains("That code is not correct. 4 tries left."),
        "{}",
        wrong.body
    );
    let done = browser.submit(&wrong, &[("code", &code)]).await;
    assert!(
        done.contains("Your phone number is confirmed."),
        "{}",
        done.body
    );
}
