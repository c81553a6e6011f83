//! A sign-in that has expired shows one page whatever the cause; the log says which cause it
//! was.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;

use crate::support::{Browser, Idp, authorize};

/// What is logged on this thread (the test's, where the router runs in-process) while the
/// guard lives.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let log = Self::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    /// What was logged since the last call.
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

#[tokio::test]
async fn an_expired_sign_in_logs_its_cause_and_shows_the_same_page() {
    let idp = Idp::start().await;
    idp.client("rp", true).await;
    let mut alices = Browser::new(&idp);
    let (login, _) = alices.open(&authorize("rp", &[])).await;
    let mut other = Browser::new(&idp);
    let (log, _guard) = Log::capture();

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
