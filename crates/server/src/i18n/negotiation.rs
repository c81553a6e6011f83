//! Which language a page speaks: what the request says (the person's choice, the browser's
//! preference) and, on the pages of a sign-in, what the relying party asked for, weighed in
//! one place ([`PageLanguage::locale`]) for the whole of the request's handling.

use std::cell::RefCell;

use super::Locale;

/// What a request's pages need to know about language: each thing that speaks for a language,
/// kept apart, so that which one wins is decided in one place ([`PageLanguage::locale`]).
#[derive(Debug, Clone)]
pub struct PageLanguage {
    /// The person's own choice: this request's `?lang=`, else the cookie that remembers it.
    pub chosen: Option<Locale>,
    /// The relying party's `ui_locales`, once the page is known to belong to its sign-in (see
    /// [`relying_party_asks`]).
    pub ui_locales: Option<Locale>,
    /// The browser's `Accept-Language`.
    pub browser: Option<Locale>,
    /// This page's address for the switch, without `lang` (`?` or `&` follows it).
    pub here: String,
}

impl PageLanguage {
    /// The page's language. This is the one place it is decided, in this order: the person's
    /// own choice (the switch on every page, remembered in a cookie), the relying party's
    /// `ui_locales` on the pages of its sign-in, the browser's `Accept-Language`, English. The
    /// relying party's wish is a default only: it never overrides the person's choice.
    pub fn locale(&self) -> Locale {
        self.chosen
            .or(self.ui_locales)
            .or(self.browser)
            .unwrap_or(Locale::En)
    }
}

tokio::task_local! {
    static CURRENT: RefCell<PageLanguage>;
}

/// Runs `work` (a request's handling) with `language` as its pages' language.
pub async fn scope<F: Future>(language: PageLanguage, work: F) -> F::Output {
    CURRENT.scope(RefCell::new(language), work).await
}

/// The language of the page being answered (English outside a request).
pub fn current() -> Locale {
    CURRENT
        .try_with(|language| language.borrow().locale())
        .unwrap_or(Locale::En)
}

/// The page being answered belongs to a sign-in whose relying party asked for these languages
/// (`ui_locales`, OpenID Connect Core §3.1.2.1): the first one there are messages for becomes
/// the page's default, below the person's own choice (see [`PageLanguage::locale`]).
pub fn relying_party_asks(ui_locales: Option<&str>) {
    let asked = ui_locales.and_then(Locale::first_of_list);
    let _ = CURRENT.try_with(|language| language.borrow_mut().ui_locales = asked);
}

/// The language switch for the page being answered: each language's name, code, link, and
/// whether it is the page's.
pub fn switch() -> serde_json::Value {
    let (locale, here) = CURRENT
        .try_with(|language| {
            let language = language.borrow();
            (language.locale(), language.here.clone())
        })
        .unwrap_or((Locale::En, "/".to_owned()));
    let joiner = if here.contains('?') { '&' } else { '?' };
    serde_json::Value::Array(
        Locale::ALL
            .into_iter()
            .map(|other| {
                serde_json::json!({
                    "code": other.code(),
                    "name": other.name(),
                    "href": format!("{here}{joiner}lang={}", other.code()),
                    "current": other == locale,
                })
            })
            .collect(),
    )
}

/// The cookie that remembers the language chosen with the switch.
pub const COOKIE: &str = "idp_lang";

/// The language of a request's pages, and the cookie to set when the person just chose one
/// (`?lang=` on any page).
pub fn of_request(
    settings: &crate::config::Settings,
    request: &axum::extract::Request,
) -> (
    PageLanguage,
    Option<axum_extra::extract::cookie::Cookie<'static>>,
) {
    use axum::http::{Method, header};
    let uri = request.uri();
    let mut asked = None;
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    let mut kept_any = false;
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if name == "lang" {
            asked = asked.or_else(|| Locale::of_tag(&value));
        } else {
            kept.append_pair(&name, &value);
            kept_any = true;
        }
    }
    // The link stays on this site: `//host/...` would be another site's address.
    let path = format!("/{}", uri.path().trim_start_matches(['/', '\\']));
    let path = path.as_str();
    // A form's answer is a POST; its language link goes to the page the form is on.
    let here = if request.method() == Method::GET {
        let kept = kept.finish();
        if kept_any {
            format!("{path}?{kept}")
        } else {
            path.to_owned()
        }
    } else {
        form_page(path).to_owned()
    };
    let cookie_name = crate::web::cookies::name(settings, COOKIE, true);
    let remembered = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name)
        .and_then(|(_, value)| Locale::of_tag(value));
    let browser = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language);
    let language = PageLanguage {
        chosen: asked.or(remembered),
        // Only the pages of a sign-in know it, once they have loaded it.
        ui_locales: None,
        browser,
        here,
    };
    let cookie = asked.map(|locale| {
        crate::web::cookies::build(
            settings,
            COOKIE,
            locale.code().to_owned(),
            Some(365 * 86_400),
        )
    });
    (language, cookie)
}

/// The page a form posted to `path` is on.
fn form_page(path: &str) -> &str {
    if path.starts_with("/account/") && path != "/account/contact/code" {
        "/account"
    } else if path == "/logout/confirm" {
        "/logout"
    } else if let Some(device) = path.strip_suffix("/resend") {
        device
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_persons_choice_wins_and_ui_locales_are_only_a_default() {
        let language = |chosen, ui_locales, browser| PageLanguage {
            chosen,
            ui_locales,
            browser,
            here: "/".to_owned(),
        };
        let (en, es) = (Some(Locale::En), Some(Locale::Es));
        assert_eq!(language(en, es, es).locale(), Locale::En);
        assert_eq!(language(es, en, en).locale(), Locale::Es);
        assert_eq!(language(None, es, en).locale(), Locale::Es);
        assert_eq!(language(None, None, es).locale(), Locale::Es);
        assert_eq!(language(None, None, None).locale(), Locale::En);
    }
}
