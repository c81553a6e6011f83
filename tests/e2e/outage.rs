//! Redis going away: sign-ins stop with a clear 503 (never going on without it), readiness
//! says so, and everything comes back by itself when Redis does.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A TCP proxy in front of the real Redis that can be cut (every connection dropped, new ones
/// closed at once) and restored, like a Redis that went down and came back.
struct Cuttable {
    url: String,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Cuttable {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let (up, watch) = watch::channel(true);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if !*watch.borrow() {
                    continue; // dropped: closed at once
                }
                let mut down = watch.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { url, up, task }
    }

    fn cut(&self) {
        self.up.send_replace(false);
    }

    fn restore(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for Cuttable {
    fn drop(&mut self) {
        self.task.abort();
    }
}

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
    let target: SocketAddr = {
        let url = url::Url::parse(&redis).unwrap();
        let host = url.host_str().unwrap().to_owned();
        tokio::net::lookup_host((host, url.port().unwrap_or(6379)))
            .await
            .unwrap()
            .next()
            .unwrap()
    };
    let proxy = Cuttable::start(target).await;
    let prefix = format!("outage-{}:", random_suffix());
    let idp = TestIdp::start_with(&[
        ("IDP_REDIS_URL", proxy.url.as_str()),
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
    assert!(pin_page.contains("name=\"pin\""), "{}", pin_page.body);
    proxy.cut();
    assert_eq!(ready(&idp).await, StatusCode::SERVICE_UNAVAILABLE);
    let refused = browser.submit(&pin_page, &[("pin", PIN)]).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert!(refused.location.is_none(), "never a redirect with a code");
    assert!(refused.contains("Sign-in is paused"), "{}", refused.body);
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
