//! Tokens after sign-in: rotating refresh tokens, client credentials, revocation (RFC 7009)
//! and introspection (RFC 7662).

use openidconnect::OAuth2TokenResponse as _;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

struct Fixture {
    idp: TestIdp,
    rp: RelyingParty,
    client_id: String,
    secret: String,
}

async fn fixture() -> Fixture {
    let idp = TestIdp::start().await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let rp = RelyingParty::discover(&idp, &client_id, Some(&secret), REDIRECT).await;
    Fixture {
        idp,
        rp,
        client_id,
        secret,
    }
}

async fn post(
    f: &Fixture,
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

impl Fixture {
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

async fn signed_in(f: &Fixture, scopes: &[&str]) -> openidconnect::core::CoreTokenResponse {
    let browser = Browser::new(&f.idp);
    f.rp.sign_in(&browser, "alice", &mut f.rp.start(scopes, &[], true))
        .await
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_grant() {
    let f = fixture().await;
    let tokens = signed_in(&f, &["offline_access", "email"]).await;
    let first = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();

    // The relying party's own library refreshes.
    let refreshed =
        f.rp.client
            .exchange_refresh_token(&first)
            .unwrap()
            .request_async(&f.rp.http)
            .await
            .expect("refresh");
    let second = refreshed
        .refresh_token()
        .expect("a new refresh token")
        .clone();
    assert_ne!(second.secret(), first.secret(), "rotated");
    assert_eq!(
        f.userinfo_status(refreshed.access_token().secret()).await,
        StatusCode::OK
    );
    let id_token =
        openidconnect::TokenResponse::id_token(&refreshed).expect("an ID token on refresh");
    let claims = super::code_flow::decode_payload(&id_token.to_string());
    assert!(claims.get("nonce").is_none());

    // The spent one, presented again: refused, and the whole grant dies.
    let (status, body) = f.refresh(first.secret()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (_, body) = f.refresh(second.secret()).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "the rotated token died with its grant"
    );
    assert_eq!(
        f.userinfo_status(refreshed.access_token().secret()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        f.introspect(tokens.access_token().secret()).await["active"],
        false
    );
}

/// One refresh token used several times at once (a leaked copy racing its client): one use
/// wins; the others find it spent, which revokes the grant with the winner's new tokens.
#[tokio::test]
async fn a_refresh_token_raced_by_copies_is_used_once_and_revokes_the_grant() {
    let f = fixture().await;
    let tokens = signed_in(&f, &["offline_access", "email"]).await;
    let token = tokens.refresh_token().unwrap().secret().clone();
    let answers = futures_util::future::join_all((0..8).map(|_| f.refresh(&token))).await;
    let (won, lost): (Vec<_>, Vec<_>) = answers
        .into_iter()
        .partition(|(status, _)| *status == StatusCode::OK);
    assert_eq!(won.len(), 1, "one use wins: {won:?} {lost:?}");
    for (status, body) in &lost {
        assert_eq!(
            (*status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
    }
    let winner = &won[0].1;
    let (_, body) = f.refresh(winner["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "the winner's token died with the grant"
    );
    assert_eq!(
        f.userinfo_status(winner["access_token"].as_str().unwrap())
            .await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refresh_needs_offline_access_its_own_client_and_no_wider_scope() {
    let f = fixture().await;
    let plain = signed_in(&f, &["email"]).await;
    assert!(
        plain.refresh_token().is_none(),
        "no offline_access, no refresh token"
    );

    let tokens = signed_in(&f, &["offline_access", "email"]).await;
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    let other = f
        .idp
        .create_client(&["--name", "Other", "--redirect-uri", REDIRECT]);
    let other_auth = (
        other["client_id"].as_str().unwrap(),
        other["client_secret"].as_str().unwrap(),
    );
    let (_, body) = post(
        &f,
        "/token",
        other_auth,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        body["error"], "invalid_grant",
        "another client's refresh token"
    );
    let (_, body) = post(
        &f,
        "/token",
        f.auth(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("scope", "openid phone"),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_scope", "no widening");
    let (status, body) = post(
        &f,
        "/token",
        f.auth(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the refresh token survived the refused attempts: {body}"
    );
    assert_eq!(body["scope"], "openid", "narrowed");
    // Narrowed but still offline: one new refresh token, the one the client is given (the
    // store holds the spent ones too).
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    let stored = "kind = 'refresh'";
    assert_eq!(f.idp.count("ephemeral", stored).await, 2);
    let (status, body) = post(
        &f,
        "/token",
        f.auth(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &next),
            ("scope", "openid offline_access"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid offline_access");
    assert_eq!(
        f.idp.count("ephemeral", stored).await,
        3,
        "no token nobody holds"
    );
    let (_, body) = post(&f, "/token", f.auth(), &[("grant_type", "refresh_token")]).await;
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn client_credentials_give_a_token_for_the_client_alone() {
    let f = fixture().await;
    let (status, body) = post(
        &f,
        "/token",
        f.auth(),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let answer = f.introspect(token).await;
    assert_eq!(
        (answer["active"].as_bool(), answer["sub"].as_str()),
        (Some(true), Some(f.client_id.as_str()))
    );
    assert_eq!(
        f.userinfo_status(token).await,
        StatusCode::UNAUTHORIZED,
        "no user behind it"
    );

    let (_, body) = post(
        &f,
        "/token",
        f.auth(),
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(
        body["error"], "invalid_scope",
        "admin only for admin clients"
    );
    let admin = f
        .idp
        .create_client(&["--name", "Ops", "--redirect-uri", REDIRECT, "--admin"]);
    let admin_auth = (
        admin["client_id"].as_str().unwrap(),
        admin["client_secret"].as_str().unwrap(),
    );
    let (status, body) = post(
        &f,
        "/token",
        admin_auth,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(
        (status, body["scope"].as_str()),
        (StatusCode::OK, Some("admin"))
    );

    let public = f
        .idp
        .create_client(&["--name", "App", "--redirect-uri", REDIRECT, "--public"]);
    let response = reqwest::Client::new()
        .post(format!("{}/token", f.idp.issuer))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", public["client_id"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn revoking_an_access_token_or_a_refresh_token() {
    let f = fixture().await;
    let tokens = signed_in(&f, &["offline_access"]).await;
    let access = tokens.access_token().secret().clone();
    let refresh = tokens.refresh_token().unwrap().secret().clone();

    // Another client cannot revoke them, and learns nothing: 200 all the same.
    let other = f
        .idp
        .create_client(&["--name", "Other", "--redirect-uri", REDIRECT]);
    let other_auth = (
        other["client_id"].as_str().unwrap(),
        other["client_secret"].as_str().unwrap(),
    );
    for token in [&access, &refresh, &"never issued".to_owned()] {
        let (status, _) = post(&f, "/revoke", other_auth, &[("token", token)]).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(f.introspect(&access).await["active"], true);
    let (status, _) = post(
        &f,
        "/revoke",
        ("no-such-client", "x"),
        &[("token", &access)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = post(
        &f,
        "/revoke",
        f.auth(),
        &[("token", &access), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.introspect(&access).await["active"], false);
    assert_eq!(f.userinfo_status(&access).await, StatusCode::UNAUTHORIZED);
    // The refresh token still works: an access token's revocation is its own.
    let (status, body) = f.refresh(&refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_access = body["access_token"].as_str().unwrap().to_owned();
    let new_refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // Revoking the refresh token ends the grant and its access tokens.
    let (status, _) = post(&f, "/revoke", f.auth(), &[("token", &new_refresh)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.refresh(&new_refresh).await.1["error"], "invalid_grant");
    assert_eq!(f.introspect(&new_access).await["active"], false);
    let (_, body) = post(&f, "/revoke", f.auth(), &[]).await;
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn introspection_describes_active_tokens_with_acr_and_auth_time() {
    let f = fixture().await;
    let tokens = signed_in(&f, &["offline_access"]).await;
    let answer = f.introspect(tokens.access_token().secret()).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], f.client_id);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["iss"], f.idp.issuer);
    assert!(
        answer["acr"].as_str().unwrap().starts_with("urn:idp:acr:"),
        "{answer}"
    );
    assert!(answer["auth_time"].as_i64().is_some());
    let refresh = f.introspect(tokens.refresh_token().unwrap().secret()).await;
    assert_eq!(
        (refresh["active"].as_bool(), refresh["token_type"].as_str()),
        (Some(true), Some("refresh_token"))
    );
    assert_eq!(
        f.introspect("garbage").await,
        serde_json::json!({ "active": false })
    );
    let id_token = openidconnect::TokenResponse::id_token(&tokens)
        .unwrap()
        .to_string();
    assert_eq!(
        f.introspect(&id_token).await["active"],
        false,
        "an ID token is not an access token"
    );

    let public = f
        .idp
        .create_client(&["--name", "App", "--redirect-uri", REDIRECT, "--public"]);
    let response = reqwest::Client::new()
        .post(format!("{}/introspect", f.idp.issuer))
        .form(&[
            ("token", tokens.access_token().secret().as_str()),
            ("client_id", public["client_id"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    let unauthenticated = reqwest::Client::new()
        .post(format!("{}/introspect", f.idp.issuer))
        .form(&[("token", tokens.access_token().secret().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_change_revokes_what_was_issued() {
    let f = fixture().await;
    let tokens = signed_in(&f, &["offline_access"]).await;
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    let browser = Browser::new(&f.idp);
    let account = browser.open_account("alice", PIN).await;
    let new = "a brand new passphrase here";
    let done = browser
        .submit_to(
            &account,
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", new),
                ("password_confirm", new),
            ],
        )
        .await;
    assert!(done.contains("Your password is changed."));
    assert_eq!(f.refresh(&refresh).await.1["error"], "invalid_grant");
    assert_eq!(
        f.introspect(tokens.access_token().secret()).await["active"],
        false
    );
}

#[tokio::test]
async fn a_third_party_client_introspects_only_its_own_tokens() {
    let f = fixture().await;
    let tokens = signed_in(&f, &[]).await;
    let out = f.idp.cli(&["registration-token", "create"], "");
    let token: Value = serde_json::from_slice(&out.stdout).unwrap();
    let third: Value = reqwest::Client::new()
        .post(format!("{}/register", f.idp.issuer))
        .bearer_auth(token["initial_access_token"].as_str().unwrap())
        .json(&serde_json::json!({ "grant_types": ["client_credentials"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let auth = (
        third["client_id"].as_str().unwrap(),
        third["client_secret"].as_str().unwrap(),
    );
    let (_, answer) = post(
        &f,
        "/introspect",
        auth,
        &[("token", tokens.access_token().secret())],
    )
    .await;
    assert_eq!(answer, serde_json::json!({ "active": false }));
    let (_, own) = post(&f, "/token", auth, &[("grant_type", "client_credentials")]).await;
    let (_, answer) = post(
        &f,
        "/introspect",
        auth,
        &[("token", own["access_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(answer["active"], true);
}

#[tokio::test]
async fn only_a_resource_server_introspects_other_clients_tokens_and_admin_tokens_need_admin() {
    let f = fixture().await;
    let tokens = signed_in(&f, &[]).await;
    let users_token = tokens.access_token().secret().to_owned();
    let client = |extra: &[&str]| {
        let mut args = vec!["--name", "Other", "--redirect-uri", REDIRECT];
        args.extend_from_slice(extra);
        f.idp.create_client(&args)
    };
    let auth = |client: &Value| {
        (
            client["client_id"].as_str().unwrap().to_owned(),
            client["client_secret"].as_str().unwrap().to_owned(),
        )
    };
    let first_party = client(&[]);
    let admin = client(&["--admin"]);
    let admin_token = client_token(&f.idp.issuer, &admin, "admin").await;
    assert!(!admin_token.is_empty());
    let first_partys_token = client_token(&f.idp.issuer, &first_party, "").await;
    let introspect = |who: &Value, token: &str| {
        let (id, secret) = auth(who);
        let token = token.to_owned();
        let f = &f;
        async move {
            let (status, body) = post(f, "/introspect", (&id, &secret), &[("token", &token)]).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["active"].as_bool().unwrap()
        }
    };

    // A first-party client that is no resource server learns only about its own tokens,
    // and about no other client's: not a relying party's, not an admin token.
    assert!(introspect(&first_party, &first_partys_token).await);
    assert!(!introspect(&first_party, &users_token).await);
    assert!(!introspect(&first_party, &admin_token).await);
    // An admin client is no resource server either, but its own token it may see.
    assert!(introspect(&admin, &admin_token).await);
    assert!(!introspect(&admin, &users_token).await);
    let resource_server = client(&["--resource-server"]);
    let admin_resource_server = client(&["--admin", "--resource-server"]);
    // A resource server learns about any client's token, except an admin token.
    assert!(introspect(&resource_server, &users_token).await);
    assert!(introspect(&resource_server, &first_partys_token).await);
    assert!(!introspect(&resource_server, &admin_token).await);
    // An admin client that is also a resource server sees admin tokens too.
    assert!(introspect(&admin_resource_server, &admin_token).await);
    assert!(introspect(&admin_resource_server, &users_token).await);
    // The client the token was issued to still learns about it.
    assert!(
        f.introspect(&users_token).await["active"]
            .as_bool()
            .unwrap()
    );
}

#[tokio::test]
async fn metrics_count_sign_ins_tokens_and_time_each_endpoint() {
    let f = fixture().await;
    let browser = Browser::new(&f.idp);
    let login = browser.open(&f.rp.start(&[], &[], true).url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    browser.submit(&pin_page, &[("pin", "000000")]).await;
    signed_in(&f, &["offline_access"]).await;
    let response = reqwest::get(format!("{}/metrics", f.idp.issuer))
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for line in [
        "idp_security_events_total{kind=\"sign_in_succeeded\"} 1",
        "idp_security_events_total{kind=\"pin_wrong\"} 1",
        "idp_tokens_issued_total{type=\"refresh\"} 1",
        "idp_http_request_duration_seconds_count{route=\"/token\",method=\"POST\",status=\"200\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    assert!(
        text.contains("route=\"/login/{id}\""),
        "routes, not raw paths, label the timings"
    );
    assert!(!text.contains("alice"), "no personal data in metrics");
    // How long a hash takes here, learnt from the sign-in's password and PIN.
    let hash_seconds: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix("idp_hash_seconds "))
        .expect("idp_hash_seconds")
        .parse()
        .unwrap();
    assert!(hash_seconds > 0.0 && hash_seconds < 10.0, "{hash_seconds}");
}

/// Renames the stored refresh token `issued` to a token of the earlier form (43 random
/// characters, stored under their digest alone), and returns that token.
async fn as_earlier_form(f: &Fixture, issued: &str) -> String {
    use idp_core::random::{random_token, sha256_b64};
    assert_eq!(
        issued.len(),
        59,
        "a stamp and 43 random characters: {issued}"
    );
    let earlier = random_token(32);
    let stored = format!("{}{}", &issued[..16], sha256_b64(issued));
    let renamed = f
        .idp
        .execute(&format!(
            "UPDATE ephemeral SET id = '{}' WHERE kind = 'refresh' AND id = '{stored}'",
            sha256_b64(&earlier)
        ))
        .await;
    assert_eq!(renamed, 1, "the token is stored under its stamp and digest");
    earlier
}

#[tokio::test]
async fn refresh_tokens_of_the_earlier_form_still_refresh_introspect_and_revoke() {
    let f = fixture().await;
    let tokens = signed_in(&f, &["offline_access"]).await;
    let earlier = as_earlier_form(&f, tokens.refresh_token().unwrap().secret()).await;
    assert_eq!(f.introspect(&earlier).await["active"], true);
    let (status, body) = f.refresh(&earlier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    // Spent, it is known as spent: presenting it again revokes the grant.
    let (_, again) = f.refresh(&earlier).await;
    assert_eq!(again["error"], "invalid_grant");
    assert_eq!(f.introspect(&next).await["active"], false);

    let tokens = signed_in(&f, &["offline_access"]).await;
    let earlier = as_earlier_form(&f, tokens.refresh_token().unwrap().secret()).await;
    let (status, _) = post(
        &f,
        "/revoke",
        f.auth(),
        &[("token", &earlier), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.introspect(&earlier).await["active"], false);
    let (_, body) = f.refresh(&earlier).await;
    assert_eq!(body["error"], "invalid_grant", "revoked");
}
