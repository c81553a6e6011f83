//! The language of the sign-in pages: the person's own choice (the switch on every page,
//! remembered in a cookie) wins; the relying party's `ui_locales` is the default only while
//! the person has chosen none, and only on the pages of its sign-in.

use axum::http::StatusCode;

use crate::support::{Browser, Idp, PASSWORD, Page, authorize};

/// The page's language, as its `<html lang>` says.
fn language(page: &Page) -> &str {
    let start = page.body.find("<html lang=\"").expect("a page") + "<html lang=\"".len();
    let end = page.body[start..].find('"').unwrap();
    &page.body[start..start + end]
}

#[tokio::test]
async fn the_relying_partys_ui_locales_are_a_default_the_person_can_change() {
    let idp = Idp::start().await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    let mut browser = Browser::new(&idp);
    let asks_spanish = authorize("rp", &[("ui_locales", "es-MX en")]);

    let (login, page) = browser.open(&asks_spanish).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(language(&page), "es", "the relying party's default");
    assert!(page.contains("Iniciar sesión"), "{page:?}");
    // The sign-in's wish stays on its pages: the browser's other pages are not in Spanish.
    assert_eq!(language(&browser.get("/help").await), "en");

    // The person switches to English on the sign-in page: the interaction, loaded again for
    // each of its pages, does not take it back.
    let switched = browser.get(&format!("{login}?lang=en")).await;
    assert_eq!(language(&switched), "en");
    assert_eq!(language(&browser.get(&login).await), "en");
    let pin = browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(pin.to(), format!("{login}/pin"), "{pin:?}");
    let pin_page = browser.get(pin.to()).await;
    assert_eq!(language(&pin_page), "en", "{pin_page:?}");
    assert!(pin_page.contains("Enter your PIN"), "{pin_page:?}");
}

#[tokio::test]
async fn a_language_chosen_before_the_sign_in_wins_over_ui_locales() {
    let idp = Idp::start().await;
    idp.client("rp", true).await;
    let mut browser = Browser::new(&idp);
    assert_eq!(language(&browser.get("/help?lang=es").await), "es");

    let asks_english = authorize("rp", &[("ui_locales", "en")]);
    let (_, page) = browser.open(&asks_english).await;
    assert_eq!(language(&page), "es", "{page:?}");

    // A browser that chose nothing gets the relying party's language.
    let mut other = Browser::new(&idp);
    let asks_spanish = authorize("rp", &[("ui_locales", "es")]);
    let (_, page) = other.open(&asks_spanish).await;
    assert_eq!(language(&page), "es", "{page:?}");
}
