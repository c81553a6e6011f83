//! The front door (`/`): what the service is, and where to go from there, in every language.

use axum::http::StatusCode;

use crate::support::{Browser, Idp};

#[tokio::test]
async fn the_front_door_explains_the_service_and_links_onwards() {
    let idp = Idp::start().await;
    let mut browser = Browser::new(&idp);
    for (path, lang, words) in [
        ("/", "en", "Create an account"),
        ("/?lang=es", "es", "Crear una cuenta"),
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.is("front"), "{path}: {page:?}");
        assert!(page.contains(&format!("<html lang=\"{lang}\"")), "{path}");
        assert!(page.contains(words), "{path}: {page:?}");
        for target in [
            "/account",
            "/signup",
            "/help",
            "/.well-known/openid-configuration",
        ] {
            assert_eq!(page.link(target), target, "{path}");
        }
    }
    // Each link leads somewhere: sign-in starts at the account page, which asks who it is.
    assert!(browser.get("/signup").await.is("signup"));
    assert!(browser.get("/help").await.is("help"));
    let account = browser.get("/account").await;
    assert!(account.status.is_redirection(), "{account:?}");
}
