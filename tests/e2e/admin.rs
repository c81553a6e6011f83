//! The admin API: keys, users, clients and the audit log, for admin clients only.

use openidconnect::TokenResponse as _;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn call(
    idp: &TestIdp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", idp.issuer));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_admin_api_needs_an_admin_token() {
    let idp = TestIdp::start().await;
    let normal = idp.create_client(&["--name", "Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let (status, _) = call(&idp, reqwest::Method::GET, "/admin/keys", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&idp, reqwest::Method::GET, "/admin/keys", Some("garbage")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    let without_scope = client_token(&idp.issuer, &normal, "").await;
    let (status, body) = call(
        &idp,
        reqwest::Method::POST,
        "/admin/keys/rotate",
        Some(&without_scope),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    // A user's access token is not an admin token either.
    let rp = RelyingParty::of_client(&idp, &normal, REDIRECT).await;
    let browser = Browser::new(&idp);
    let tokens = rp
        .sign_in(&browser, "alice", &mut rp.start(&[], &[], true))
        .await;
    let user_token = openidconnect::OAuth2TokenResponse::access_token(&tokens)
        .secret()
        .clone();
    let (status, _) = call(
        &idp,
        reqwest::Method::GET,
        "/admin/users/alice",
        Some(&user_token),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        idp.count("signing_keys", "state = 'next'").await,
        0,
        "nothing changed"
    );
}

#[tokio::test]
async fn admins_manage_keys_users_clients_and_read_the_audit_log() {
    let idp = TestIdp::start().await;
    let admin = idp.create_client(&[
        "--name",
        "Operations",
        "--redirect-uri",
        REDIRECT,
        "--admin",
        "--resource-server",
    ]);
    let normal = idp.create_client(&["--name", "Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let token = client_token(&idp.issuer, &admin, "admin").await;
    let admin_id = admin["client_id"].as_str().unwrap();
    use reqwest::Method;

    let (status, keys) = call(&idp, Method::GET, "/admin/keys", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys.as_array().unwrap().len(), 3);
    let (status, keys) = call(&idp, Method::POST, "/admin/keys/rotate", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        keys.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["state"] == "next")
            .count(),
        3
    );

    let (_, user) = call(&idp, Method::GET, "/admin/users/alice", Some(&token)).await;
    assert_eq!(
        (user["username"].as_str(), user["pin_locked"].as_bool()),
        (Some("alice"), Some(false))
    );
    assert!(
        user.get("password_hash").is_none() && !user.to_string().contains("argon2"),
        "no secrets: {user}"
    );
    let (status, body) = call(&idp, Method::GET, "/admin/users/nobody", Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found", "{body}");

    let (_, user) = call(
        &idp,
        Method::POST,
        "/admin/users/alice/unlock",
        Some(&token),
    )
    .await;
    assert_eq!(user["pin_set"], false, "a new PIN at the next sign-in");

    // Someone part-way through signing in when the account is disabled gets no further.
    let rp_early = RelyingParty::of_client(&idp, &normal, REDIRECT).await;
    let early = Browser::new(&idp);
    let login = early.open(&rp_early.start(&[], &[], true).url).await;
    let new_pin_page = early
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let (_, user) = call(
        &idp,
        Method::POST,
        "/admin/users/alice/disable",
        Some(&token),
    )
    .await;
    assert_eq!(user["disabled"], true);
    let stopped = early
        .submit(
            &new_pin_page,
            &[("pin", "739184"), ("pin_confirm", "739184")],
        )
        .await;
    assert_eq!(stopped.status, StatusCode::FORBIDDEN, "{}", stopped.body);
    assert_eq!(idp.count("sessions", "TRUE").await, 0);
    let rp = RelyingParty::of_client(&idp, &normal, REDIRECT).await;
    let browser = Browser::new(&idp);
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    let refused = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.is("error-login-account-disabled"),
        "{}",
        refused.body
    );
    let (_, user) = call(
        &idp,
        Method::POST,
        "/admin/users/alice/enable",
        Some(&token),
    )
    .await;
    assert_eq!(user["disabled"], false);
    let again = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert!(
        again.is("new-pin"),
        "enabled, and asked for a new PIN after the unlock: {}",
        again.body
    );

    let (_, clients) = call(&idp, Method::GET, "/admin/clients", Some(&token)).await;
    assert_eq!(clients.as_array().unwrap().len(), 2);
    let normal_id = normal["client_id"].as_str().unwrap();
    let issued_before = client_token(&idp.issuer, &normal, "").await;
    let (status, _) = call(
        &idp,
        Method::POST,
        &format!("/admin/clients/{normal_id}/disable"),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let introspected: Value = reqwest::Client::new()
        .post(format!("{}/introspect", idp.issuer))
        .basic_auth(admin_id, admin["client_secret"].as_str())
        .form(&[("token", issued_before.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], false, "its tokens went with it");
    assert!(
        client_token(&idp.issuer, &normal, "").await.is_empty(),
        "a disabled client cannot authenticate"
    );

    let (_, events) = call(
        &idp,
        Method::GET,
        "/admin/audit?kind=admin_action",
        Some(&token),
    )
    .await;
    let events = events.as_array().unwrap();
    assert!(events.len() >= 4, "{events:?}");
    assert!(
        events.iter().all(|e| e["actor"] == admin_id),
        "every action names its client"
    );
    let (_, unlocks) = call(
        &idp,
        Method::GET,
        "/admin/audit?user=alice&kind=pin_unlocked",
        Some(&token),
    )
    .await;
    assert_eq!(unlocks.as_array().unwrap().len(), 1);

    let (status, openapi) = call(&idp, Method::GET, "/admin/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(openapi["openapi"], "3.1.0");
    assert!(openapi["paths"]["/admin/keys/rotate"]["post"].is_object());
}

#[tokio::test]
async fn an_id_token_hint_of_a_retired_key_still_works_for_logout() {
    let idp = TestIdp::start_with(&[
        ("IDP_KEYS__JWKS_MAX_AGE_SECS", "1"),
        ("IDP_KEYS__PREPUBLISH_SECS", "2"),
        ("IDP_KEYS__TICK_SECS", "1"),
    ])
    .await;
    let client = idp.create_client(&[
        "--name",
        "Portal",
        "--redirect-uri",
        REDIRECT,
        "--post-logout-redirect-uri",
        "http://127.0.0.1:9/bye",
    ]);
    idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let tokens = rp
        .sign_in(&browser, "alice", &mut rp.start(&[], &[], true))
        .await;
    let hint = tokens.id_token().unwrap().to_string();
    assert!(idp.cli(&["keys", "rotate"], "").status.success());
    tokio::time::sleep(std::time::Duration::from_millis(4000)).await;
    assert_eq!(
        idp.count("signing_keys", "state = 'retired'").await,
        3,
        "the old keys retired"
    );
    let url = format!(
        "/logout?id_token_hint={hint}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fbye"
    );
    let confirm = browser.get(&url).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let done = browser.submit(&confirm, &[]).await;
    assert_eq!(done.location.as_deref(), Some("http://127.0.0.1:9/bye"));
}
