//! Consent for a client an administrator marked third-party on the command line (the rest of
//! consent is in the handler tests, `tests/pages/consent.rs`).

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

#[tokio::test]
async fn an_administrator_may_mark_a_client_third_party() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let client = idp.create_client(&[
        "--name",
        "Partner",
        "--redirect-uri",
        REDIRECT,
        "--third-party",
    ]);
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let consent = browser
        .sign_in(
            &browser.open(&rp.start(&[], &[], true).url).await,
            "alice",
            PASSWORD,
            PIN,
        )
        .await;
    assert!(consent.is("consent"), "{}", consent.body);
}
