//! A browser in front of the provider in-process: it keeps cookies, sends CSRF tokens as a
//! page gave them, follows the provider's own redirects when asked, and submits forms as found.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, header};
use tower::ServiceExt as _;

use super::{Idp, PASSWORD, PIN, Page};

/// A browser: keeps cookies, follows nothing by itself.
#[derive(Clone)]
pub struct Browser<'a> {
    idp: &'a Idp,
    cookies: BTreeMap<String, String>,
    /// Where its requests come from (as the listener would see the peer).
    pub address: std::net::SocketAddr,
    /// Headers sent with every request (as a proxy in front would add them).
    pub extra: Vec<(&'static str, String)>,
    /// The headers of the last answer.
    pub headers: axum::http::HeaderMap,
}

impl<'a> Browser<'a> {
    pub fn new(idp: &'a Idp) -> Self {
        Self {
            idp,
            cookies: BTreeMap::new(),
            address: std::net::SocketAddr::from(([203, 0, 113, 7], 40_000)),
            extra: Vec::new(),
            headers: axum::http::HeaderMap::new(),
        }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<String>) -> Page {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in &self.extra {
            request = request.header(*name, value);
        }
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie.is_empty() {
            request = request.header(header::COOKIE, cookie);
        }
        let body = match form {
            Some(form) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(form)
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(self.address));
        let response = self.idp.app.clone().oneshot(request).await.unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = value.is_empty() || set.to_ascii_lowercase().contains("max-age=0");
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        self.headers = response.headers().clone();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        Page {
            status,
            location,
            retry_after,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    /// Posts `fields` to `path` with this browser's CSRF token (fetched from a form page
    /// first, as a browser that has seen one would).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut pairs = vec![("csrf", csrf.as_str())];
        pairs.extend_from_slice(fields);
        let form = serde_urlencoded::to_string(&pairs).unwrap();
        self.send("POST", path, Some(form)).await
    }

    /// Posts exactly `fields` to `path` (no CSRF token unless among them).
    pub async fn post_as_is(&mut self, path: &str, fields: &[(String, String)]) -> Page {
        let form = serde_urlencoded::to_string(fields).unwrap();
        self.send("POST", path, Some(form)).await
    }

    /// Submits the first form of `page` as a browser would (its hidden inputs, the CSRF token
    /// among them), with `values` filled in.
    pub async fn submit(&mut self, page: &Page, values: &[(&str, &str)]) -> Page {
        let (action, mut fields) = page.form();
        for (name, value) in values {
            fields.retain(|(n, _)| n != name);
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
        self.post_as_is(&action, &fields).await
    }

    /// Submits the form of `page` that posts to `action`, with `values` filled in.
    pub async fn submit_to(&mut self, page: &Page, action: &str, values: &[(&str, &str)]) -> Page {
        self.submit(&page.form_to(action), values).await
    }

    /// A CSRF token for this browser (a form page sets its cookie).
    async fn csrf(&mut self) -> String {
        let page = self.get("/signup").await;
        page.hidden("csrf").unwrap()
    }

    /// Opens an authorization request and follows the provider's own redirects to the page
    /// it lands on (or the relying party's answer).
    pub async fn open(&mut self, path: &str) -> (String, Page) {
        let mut at = path.to_owned();
        loop {
            let page = self.get(&at).await;
            match page.location.as_deref() {
                Some(to) if to.starts_with('/') => at = to.to_owned(),
                _ => return (at, page),
            }
        }
    }

    /// Follows the provider's own redirects from `page` to where they end.
    pub async fn follow(&mut self, mut page: Page) -> Page {
        while page.to().starts_with('/') {
            let to = page.to().to_owned();
            page = self.get(&to).await;
        }
        page
    }

    /// Signs in to the account page with password and `pin` (and the new-device code when
    /// asked); the account page.
    pub async fn open_account(&mut self, username: &str, pin: &str) -> Page {
        let (login, page) = self.open("/account").await;
        assert!(page.is("login"), "{page:?}");
        let pin_step = self
            .post(&login, &[("username", username), ("password", PASSWORD)])
            .await;
        let mut next = self.post(pin_step.to(), &[("pin", pin)]).await;
        if next.to().ends_with("/device") {
            let to = format!("{username}@example.com");
            let code = self.idp.code_sent_to(&to).await.unwrap();
            next = self.post(next.to(), &[("code", &code)]).await;
        }
        let account = self.follow(next).await;
        assert!(account.is("account"), "{account:?}");
        account
    }

    /// A full sign-in from an authorization request: password, PIN, and the new-device code
    /// when asked; the relying party's answer.
    pub async fn sign_in(&mut self, authorize: &str, username: &str) -> Page {
        let (login, _) = self.open(authorize).await;
        let pin = self
            .post(&login, &[("username", username), ("password", PASSWORD)])
            .await;
        assert_eq!(pin.to(), format!("{login}/pin"), "{pin:?}");
        let next = self.post(pin.to(), &[("pin", PIN)]).await;
        if next.to().ends_with("/device") {
            let code = self
                .idp
                .code_sent_to(&format!("{username}@example.com"))
                .await
                .unwrap();
            return self.post(next.to(), &[("code", &code)]).await;
        }
        next
    }

    /// Signs this browser out (RP-initiated logout, confirmed).
    pub async fn sign_out(&mut self) {
        let page = self.get("/logout").await;
        let action = "/logout/confirm";
        let csrf = page.hidden("csrf").unwrap();
        let form = serde_urlencoded::to_string([("csrf", csrf.as_str())]).unwrap();
        let done = self.send("POST", action, Some(form)).await;
        assert!(
            done.status.is_success() || done.status.is_redirection(),
            "{done:?}"
        );
    }
}
