//! Crash safety on the embedded default: the server is killed (SIGKILL) in the middle of
//! sign-ups and wrong PINs, and started again on the same database. Every sign-up it
//! acknowledged is there whole, no account is half-written, and no wrong PIN it answered is
//! forgotten (a crash must never hand out extra PIN tries).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::StatusCode;

use crate::support::*;

/// Wrong PINs, one after another, at the PIN step of a browser of its own; counts each one
/// the provider answered as wrong. Ends (panicking) when the server stops answering.
async fn wrong_pins(issuer: String, mail: crate::sinks::Inbox, answered: Arc<AtomicU32>) {
    let browser = Browser::unpooled(&issuer, &mail);
    let pin_page = browser.at_pin_step("pat").await;
    loop {
        let answer = browser.submit(&pin_page, &[("pin", "135790")]).await;
        if answer.status != StatusCode::UNAUTHORIZED {
            // Locked: every further try is refused alike.
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
            std::future::pending::<()>().await;
        }
        answered.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_killed_server_keeps_every_acknowledged_sign_up_and_wrong_pin() {
    // PINs lock late here, so that the wrong PINs count up for a while.
    let mut idp = TestIdp::start_with(&[("IDP_PIN__MAX_ATTEMPTS", "100")]).await;
    idp.create_user("pat");
    let issuer = idp.issuer.clone();
    let answered = Arc::new(AtomicU32::new(0));
    let ready = Arc::new(AtomicU32::new(0));
    let signups: Vec<_> = (0..16u64)
        .map(|i| {
            let (issuer, mail, ready) = (issuer.clone(), idp.mail.clone(), ready.clone());
            tokio::spawn(async move {
                // Staggered, so that some are in flight when the server dies.
                tokio::time::sleep(Duration::from_millis(50 * i)).await;
                let done = sign_up(&issuer, &mail, format!("user{i}")).await;
                if done.is_some() {
                    ready.fetch_add(1, Ordering::SeqCst);
                }
                done
            })
        })
        .collect();
    let pins: Vec<_> = (0..3)
        .map(|_| {
            tokio::spawn(wrong_pins(
                issuer.clone(),
                idp.mail.clone(),
                answered.clone(),
            ))
        })
        .collect();
    // The kill comes once a sign-up and a wrong PIN have been answered (however slow the
    // machine), with the rest in flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while ready.load(Ordering::SeqCst) == 0 || answered.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing was answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    idp.kill_and_restart().await;

    let mut acknowledged = Vec::new();
    for signup in signups {
        if let Ok(Some(username)) = signup.await {
            acknowledged.push(username);
        }
    }
    for pin in pins {
        pin.abort();
    }
    let answered = answered.load(Ordering::SeqCst);
    assert!(
        !acknowledged.is_empty(),
        "sign-ups went through before the kill"
    );
    assert!(answered > 0, "wrong PINs were answered before the kill");
    for username in &acknowledged {
        assert_eq!(
            idp.count(
                "users",
                &format!("username = '{username}' AND pin_hash IS NOT NULL")
            )
            .await,
            1,
            "{username} was told the account is ready"
        );
    }
    assert_eq!(
        idp.count(
            "users",
            "pin_hash IS NULL OR password_hash IS NULL OR email IS NULL"
        )
        .await,
        0,
        "no account is half-written"
    );
    assert_eq!(
        idp.count(
            "users",
            &format!("username = 'pat' AND pin_failures >= {answered}")
        )
        .await,
        1,
        "{answered} wrong PINs were answered; none may be forgotten"
    );
    // And the restarted server serves: the acknowledged accounts sign in.
    let browser = Browser::new(&idp);
    let account = browser.open_account(&acknowledged[0], PIN).await;
    assert!(account.contains(&acknowledged[0]), "{}", account.body);
}
