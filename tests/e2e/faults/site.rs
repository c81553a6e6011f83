//! The provider as the load reaches it, and the browser the load uses.

use std::sync::Arc;

use serde_json::Value;

use super::{ANSWER_WITHIN, Ledger, REDIRECT};
use crate::support::*;

/// The provider as the tests reach it: where requests go, its mail, a client and its RP.
#[derive(Clone)]
pub(super) struct Site {
    base: String,
    client: Value,
    pub(super) rp: Arc<RelyingParty>,
    pub(super) ledger: Ledger,
}

impl Site {
    pub(super) async fn new(base: &str, client: Value) -> Self {
        let rp = RelyingParty::discover_issuer(
            base,
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
            REDIRECT,
        )
        .await;
        Self {
            base: base.to_owned(),
            client,
            rp: Arc::new(rp),
            ledger: Ledger::default(),
        }
    }

    pub(super) fn visitor(&self) -> Visitor {
        Visitor::new(&self.base)
    }

    /// A POST to the token endpoint (or another client-authenticated one) as the client: its
    /// status and JSON, noted; `None` without an answer.
    pub(super) async fn post(
        &self,
        what: &'static str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Option<Value> {
        let http = reqwest::Client::builder()
            .timeout(ANSWER_WITHIN)
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let response = http
            .post(format!("{}{path}", self.base))
            .basic_auth(
                self.client["client_id"].as_str().unwrap(),
                self.client["client_secret"].as_str(),
            )
            .form(form)
            .send()
            .await;
        let Ok(response) = response else {
            self.ledger.note(what, None, false);
            return None;
        };
        let status = response.status();
        self.ledger.note(
            what,
            Some(status),
            response.headers().contains_key("retry-after"),
        );
        let mut body: Value = response.json().await.unwrap_or(Value::Null);
        body["status"] = status.as_u16().into();
        Some(body)
    }

    /// A whole sign-in (authorization request, password, PIN, code exchange) with a browser of
    /// its own, each answer noted: the token response, or `None` at the first refusal.
    pub(super) async fn sign_in(&self, username: &str) -> Option<Value> {
        let visitor = self.visitor();
        let mut start = self.rp.start(&["offline_access"], &[], true);
        let login = visitor.open(&start.url).await;
        self.ledger.page("authorization request", login.as_ref());
        let login = login.filter(|p| p.is("login"))?;
        let pin_page = visitor
            .submit(&login, &[("username", username), ("password", PASSWORD)])
            .await;
        self.ledger.page("password", pin_page.as_ref());
        let pin_page = pin_page.filter(|p| p.is("pin"))?;
        let done = visitor.submit(&pin_page, &[("pin", PIN)]).await;
        self.ledger.page("PIN", done.as_ref());
        let code = param(done?.location.as_deref()?, "code")?;
        let verifier = start.verifier.take().unwrap();
        let tokens = self
            .post(
                "code exchange",
                "/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", verifier.secret()),
                ],
            )
            .await?;
        (tokens["status"] == 200).then_some(tokens)
    }

    /// A whole sign-up through the pages: the username once told the account is ready.
    pub(super) async fn sign_up(&self, username: String) -> Option<String> {
        let visitor = self.visitor();
        let form = visitor.open("/signup").await;
        self.ledger.page("sign-up form", form.as_ref());
        let email = format!("{username}@example.com");
        let details = [
            ("username", username.as_str()),
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ];
        let pin_page = visitor.submit(&form?, &details).await;
        self.ledger.page("sign-up details", pin_page.as_ref());
        let pin_page = pin_page.filter(|p| p.is("signup-pin"))?;
        let done = visitor
            .submit(&pin_page, &[("pin", PIN), ("pin_confirm", PIN)])
            .await;
        self.ledger.page("sign-up PIN", done.as_ref());
        done?.is("signed-up").then_some(username)
    }

    pub(super) async fn refresh(&self, token: &str) -> Option<Value> {
        self.post(
            "refresh",
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }
}

/// A browser for the load: keeps cookies, follows redirects on the provider, and gives up
/// (`None`) on a request without an answer or a page without the form it needs, where the
/// harness's [`Browser`] would panic.
#[derive(Clone)]
pub(super) struct Visitor {
    http: reqwest::Client,
    base: String,
}

impl Visitor {
    fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .timeout(ANSWER_WITHIN)
            .build()
            .unwrap();
        Self {
            http,
            base: base.to_owned(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    async fn page(request: reqwest::RequestBuilder) -> Option<Page> {
        let response = request.send().await.ok()?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (location, retry_after) = (header("location"), header("retry-after"));
        let status = response.status();
        let body = response.text().await.ok()?;
        Some(Page {
            status,
            location,
            retry_after,
            body,
        })
    }

    /// Follows redirects that stay on the provider.
    async fn follow(&self, mut page: Page) -> Option<Page> {
        while page.status.is_redirection() {
            let location = page.location.clone()?;
            if !location.starts_with('/') && !location.starts_with(&self.base) {
                break;
            }
            page = Self::page(self.http.get(self.absolute(&location))).await?;
        }
        Some(page)
    }

    pub(super) async fn open(&self, url: &str) -> Option<Page> {
        let first = Self::page(self.http.get(self.absolute(url))).await?;
        self.follow(first).await
    }

    /// Submits the page's form with `values` over its own fields.
    pub(super) async fn submit(&self, page: &Page, values: &[(&str, &str)]) -> Option<Page> {
        if !page.contains("<form") {
            return None;
        }
        let (action, mut fields) = page.form();
        for (name, value) in values {
            fields.retain(|(n, _)| n != name);
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
        let posted = Self::page(self.http.post(self.absolute(&action)).form(&fields)).await?;
        self.follow(posted).await
    }
}
