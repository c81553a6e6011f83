//! A sign-in that has expired shows one page whatever the cause; the log says which cause it
//! was.

use axum::http::StatusCode;
use tracing::Level;

use crate::log::Log;
use crate::support::{Browser, Idp, authorize};

#[tokio::test]
async fn an_expired_sign_in_logs_its_cause_and_shows_the_same_page() {
    let idp = Idp::start().await;
    idp.client("rp", true).await;
    let mut alices = Browser::new(&idp);
    let (login, _) = alices.open(&authorize("rp", &[])).await;
    let mut other = Browser::new(&idp);
    let (log, _guard) = Log::capture(Level::INFO);

    let unknown = other.get("/login/no-such-sign-in").await;
    let logged = log.take();
    assert!(
        logged.contains("refused as expired") && logged.contains("no such sign-in"),
        "{logged}"
    );

    let not_this_browsers = other.get(&login).await;
    let logged = log.take();
    assert!(
        logged.contains("refused as expired")
            && logged.contains("the sign-in was started in another browser"),
        "{logged}"
    );

    for page in [&unknown, &not_this_browsers] {
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.contains("This sign-in has expired"), "{page:?}");
        // The cause is for the log only.
        let causes = ["no such sign-in", "started in another browser"];
        assert!(!causes.iter().any(|c| page.contains(c)), "{page:?}");
    }
}
