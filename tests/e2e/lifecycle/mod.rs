//! Tokens after sign-in: rotating refresh tokens, client credentials, revocation (RFC 7009)
//! and introspection (RFC 7662), and the metrics they are counted in.

mod client_credentials;
mod introspection;
mod metrics;
mod refresh;
mod revocation;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

async fn post(
    f: &TaxPortal,
    path: &str,
    auth: (&str, &str),
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", f.idp.issuer))
        .basic_auth(auth.0, Some(auth.1))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

impl TaxPortal {
    fn auth(&self) -> (&str, &str) {
        (&self.client_id, &self.secret)
    }

    async fn introspect(&self, token: &str) -> Value {
        let (status, body) = post(self, "/introspect", self.auth(), &[("token", token)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn userinfo_status(&self, token: &str) -> StatusCode {
        reqwest::Client::new()
            .get(format!("{}/userinfo", self.idp.issuer))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn refresh(&self, token: &str) -> (StatusCode, Value) {
        post(
            self,
            "/token",
            self.auth(),
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }
}

async fn signed_in(f: &TaxPortal, scopes: &[&str]) -> openidconnect::core::CoreTokenResponse {
    let browser = Browser::new(&f.idp);
    f.rp.sign_in(&browser, "alice", &mut f.rp.start(scopes, &[], true))
        .await
}
