//! Redis going away: sign-ins stop with a clear 503 (never going on without it), readiness
//! says so, and everything comes back by itself when Redis does.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::fault_proxy::FaultProxy;
use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn ready(idp: &TestIdp) -> StatusCode {
    reqwest::get(format!("{}/readyz", idp.issuer))
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn without_redis_sign_ins_stop_with_503_and_resume_when_it_returns() {
    let Ok(redis) = std::env::var("IDP_TEST_REDIS_URL") else {
        eprintln!("skipped: needs IDP_TEST_REDIS_URL");
        return;
    };
    // Like a Redis that goes down (every connection dropped, new ones closed) and comes back.
    let proxy = FaultProxy::in_front_of(&redis).await;
    let redis_url = proxy.url_for(&redis);
    let prefix = format!("outage-{}:", random_suffix());
    let idp = TestIdp::start_with(&[
        ("IDP_REDIS_URL", redis_url.as_str()),
        ("IDP_REDIS_KEY_PREFIX", prefix.as_str()),
    ])
    .await;
    idp.create_user("alice");
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    assert_eq!(ready(&idp).await, StatusCode::OK);

    // Half-way through a sign-in, Redis goes away.
    let browser = Browser::new(&idp);
    let mut start = rp.start(&[], &[], true);
    let login = browser.open(&start.url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(pin_page.is("pin"), "{}", pin_page.body);
    proxy.cut();
    // Readiness answers what its last probe found for up to a second.
    let deadline = Instant::now() + Duration::from_secs(5);
    while ready(&idp).await != StatusCode::SERVICE_UNAVAILABLE {
        assert!(Instant::now() < deadline, "readiness did not see Redis go");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert!(refused.location.is_none(), "never a redirect with a code");
    assert!(refused.is("error-paused"), "{}", refused.body);
    // A new sign-in cannot start either; the token endpoint answers in RFC 6749 terms.
    let other = Browser::new(&idp);
    let page = other.get(&rp.start(&[], &[], true).url).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    let token = rp.exchange("a-code", None).await.unwrap_err();
    assert_eq!(token, "temporarily_unavailable");

    // Redis returns: the node recovers by itself, and a sign-in completes.
    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    while ready(&idp).await != StatusCode::OK {
        assert!(Instant::now() < deadline, "the node did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let browser = Browser::new(&idp);
    rp.sign_in(&browser, "alice", &mut start).await;
}
