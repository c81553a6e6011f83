//! A browser: cookies, forms submitted as found, redirects followed on the provider, and
//! the journeys the tests share (sign-in, sign-up, the account page).

use reqwest::StatusCode;

use super::cookies::CookieRecord;
use super::html::Page;
use super::process::TestIdp;
use super::{DEVICE_CODE, PASSWORD, PIN};
use crate::sinks::Inbox;

/// A browser: keeps cookies, follows no redirect by itself.
pub struct Browser {
    pub http: reqwest::Client,
    /// Where requests go.
    pub base: String,
    /// The provider's issuer: links to it go to `base`.
    issuer: String,
    mail: Inbox,
    /// The cookies, when the test reads or plants them.
    pub cookies: Option<std::sync::Arc<CookieRecord>>,
}

impl Browser {
    /// The browser's HTTP client, cookies and all, for requests the helpers do not make.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn new(idp: &TestIdp) -> Self {
        Self::with_headers(idp, &[])
    }

    /// A browser that sends these headers with every request.
    pub fn with_headers(idp: &TestIdp, headers: &[(&'static str, &str)]) -> Self {
        let mut defaults = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            defaults.insert(*name, value.parse().expect("header value"));
        }
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(defaults);
        Self::at(idp, http, None)
    }

    /// A browser whose cookies the test can read and plant (see [`CookieRecord`]).
    pub fn recording(idp: &TestIdp) -> Self {
        let cookies = std::sync::Arc::new(CookieRecord::default());
        let http = reqwest::Client::builder()
            .cookie_provider(cookies.clone())
            .redirect(reqwest::redirect::Policy::none());
        Self::at(idp, http, Some(cookies))
    }

    fn at(
        idp: &TestIdp,
        http: reqwest::ClientBuilder,
        cookies: Option<std::sync::Arc<CookieRecord>>,
    ) -> Self {
        Self {
            http: http.build().expect("browser"),
            base: idp.address.clone(),
            issuer: idp.issuer.clone(),
            mail: idp.mail.clone(),
            cookies,
        }
    }

    /// A browser for the provider at `base` that opens a new connection for every request,
    /// so that a load balancer in front of several nodes spreads its requests over them.
    pub fn unpooled(base: &str, mail: &Inbox) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .expect("browser");
        Self {
            http,
            base: base.to_owned(),
            issuer: base.to_owned(),
            mail: mail.clone(),
            cookies: None,
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else if let Some(path) = url.strip_prefix(&self.issuer) {
            format!("{}{path}", self.base)
        } else {
            url.to_owned()
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        Page::read(self.http.get(self.absolute(url)).send().await.expect("GET")).await
    }

    pub async fn post(&self, url: &str, fields: &[(String, String)]) -> Page {
        Page::read(
            self.http
                .post(self.absolute(url))
                .form(fields)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Follows redirects that stay on the provider; stops at one that leaves it.
    pub async fn follow(&self, mut page: Page) -> Page {
        while page.status.is_redirection() {
            let location = page.location.clone().expect("redirect has a location");
            if !location.starts_with('/')
                && !location.starts_with(&self.base)
                && !location.starts_with(&self.issuer)
            {
                break;
            }
            page = self.get(&location).await;
        }
        page
    }

    /// Fills the page's form with `values` over its own fields and submits it.
    pub async fn submit(&self, page: &Page, values: &[(&str, &str)]) -> Page {
        let (action, mut fields) = page.form();
        for (name, value) in values {
            fields.retain(|(n, _)| n != name);
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
        let response = self.post(&action, &fields).await;
        self.follow(response).await
    }

    /// From an authorization URL to the login page.
    pub async fn open(&self, url: &str) -> Page {
        let first = self.get(url).await;
        self.follow(first).await
    }

    /// Password, then PIN; returns the page after the PIN (a redirect to the RP on success).
    pub async fn sign_in(
        &self,
        login_page: &Page,
        username: &str,
        password: &str,
        pin: &str,
    ) -> Page {
        assert_eq!(
            login_page.status,
            StatusCode::OK,
            "login page: {}",
            login_page.body
        );
        assert!(
            login_page.is("login"),
            "not the login page: {}",
            login_page.body
        );
        let pin_page = self
            .submit(
                login_page,
                &[("username", username), ("password", password)],
            )
            .await;
        assert!(pin_page.is("pin"), "not the PIN page: {}", pin_page.body);
        self.submit_pin(&pin_page, pin).await
    }

    /// Submits the PIN and, on a browser the provider does not know yet, the new-device code
    /// it e-mails.
    pub async fn submit_pin(&self, pin_page: &Page, pin: &str) -> Page {
        let codes_before = self.mail.count(DEVICE_CODE);
        let answer = self.submit(pin_page, &[("pin", pin)]).await;
        self.pass_device_check(answer, codes_before).await
    }

    /// Completes the new-device check if `page` asks for it, with the code e-mailed after
    /// `codes_before` earlier ones.
    pub async fn pass_device_check(&self, page: Page, codes_before: usize) -> Page {
        if !page.is("device-code") {
            return page;
        }
        let code = self.mail.code("", DEVICE_CODE, codes_before).await;
        self.submit(&page, &[("code", &code)]).await
    }

    pub fn device_codes_sent(&self) -> usize {
        self.mail.count(DEVICE_CODE)
    }
}

impl Browser {
    /// Signs `username` up through the pages (address `USERNAME@example.com`, the test
    /// password and PIN): the page after the PIN.
    pub async fn sign_up(&self, username: &str) -> Page {
        let form = self.get("/signup").await;
        let email = format!("{username}@example.com");
        let details = [
            ("username", username),
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ];
        let pin_page = self.submit(&form, &details).await;
        self.submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
            .await
    }

    /// Opens the account page signed out and gives `username`'s right password: the PIN step.
    pub async fn at_pin_step(&self, username: &str) -> Page {
        let login = self.open("/account").await;
        let page = self
            .submit(&login, &[("username", username), ("password", PASSWORD)])
            .await;
        assert!(page.is("pin"), "{}", page.body);
        page
    }

    /// Signs in to the account page with password and PIN; returns the account page.
    pub async fn open_account(&self, username: &str, pin: &str) -> Page {
        let login = self.open("/account").await;
        let done = self.sign_in(&login, username, PASSWORD, pin).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        assert!(done.is("account"), "{}", done.body);
        done
    }

    /// From the account page, changes the password from [`PASSWORD`] to `new`; asserts that
    /// it changed.
    pub async fn change_password(&self, account: &Page, new: &str) {
        let done = self
            .submit_to(
                account,
                "/account/password",
                &[
                    ("current_password", PASSWORD),
                    ("password", new),
                    ("password_confirm", new),
                ],
            )
            .await;
        assert!(done.contains("Your password is changed."), "{}", done.body);
    }

    /// From the account page, asks for a code texted to the account's phone, to confirm it.
    pub async fn ask_to_confirm_phone(&self, account: &Page) -> Page {
        let page = self
            .submit_to(
                account,
                "/account/contact",
                &[
                    ("channel", "sms"),
                    ("value", ""),
                    ("current_password", PASSWORD),
                ],
            )
            .await;
        assert!(page.is("contact-code"), "{}", page.body);
        page
    }

    /// Submits the account page form whose action is `action`.
    pub async fn submit_to(&self, page: &Page, action: &str, values: &[(&str, &str)]) -> Page {
        self.submit(&page.form_to(action), values).await
    }
}

/// Submits the PIN page's form with `wrong` as the PIN `times` times at once, from `browser`,
/// to `base` (the provider, or a load balancer in front of several nodes); how many of them
/// were evaluated (see [`wrong_pin_counted`]). Every other answer must be the lock page.
pub async fn concurrent_wrong_pins(
    browser: &Browser,
    base: &str,
    pin_page: &Page,
    wrong: &str,
    times: usize,
) -> usize {
    let (action, mut fields) = pin_page.form();
    fields.push(("pin".into(), wrong.into()));
    let attempts: Vec<_> = (0..times)
        .map(|_| {
            let (http, url, fields) = (
                browser.http.clone(),
                format!("{base}{action}"),
                fields.clone(),
            );
            tokio::spawn(async move {
                let response = http.post(url).form(&fields).send().await.expect("POST");
                Page::read(response).await
            })
        })
        .collect();
    let mut evaluated = 0;
    for attempt in attempts {
        let answer = attempt.await.expect("attempt");
        if wrong_pin_counted(&answer) {
            evaluated += 1;
        } else {
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
            assert!(answer.is("locked"), "{}", answer.body);
        }
    }
    evaluated
}

/// Whether `answer` to a wrong PIN says it was checked and counted: the PIN page again, or
/// the lock page of the PIN that locked it.
pub fn wrong_pin_counted(answer: &Page) -> bool {
    (answer.is("pin") && answer.status == StatusCode::UNAUTHORIZED) || answer.is("locked-now")
}

/// Signs `username` up in a browser of its own that opens a connection per request (so that
/// a server killed mid-way fails only the requests in flight); the username once the provider
/// said the account is ready. Panics (ending the task) when the server stops answering.
pub async fn sign_up(issuer: &str, mail: &Inbox, username: String) -> Option<String> {
    let done = Browser::unpooled(issuer, mail).sign_up(&username).await;
    done.is("signed-up").then_some(username)
}
