//! Introspection (RFC 7662): what a token is, and who may ask.

use openidconnect::OAuth2TokenResponse as _;
use reqwest::StatusCode;
use serde_json::Value;

use super::{post, signed_in};
use crate::support::*;

#[tokio::test]
async fn introspection_describes_active_tokens_with_acr_and_auth_time() {
    let f = TaxPortal::start().await;
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

    let public = f.idp.create_client(&[
        "--name",
        "App",
        "--redirect-uri",
        PORTAL_REDIRECT,
        "--public",
    ]);
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
async fn a_third_party_client_introspects_only_its_own_tokens() {
    let f = TaxPortal::start().await;
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
    let f = TaxPortal::start().await;
    let tokens = signed_in(&f, &[]).await;
    let users_token = tokens.access_token().secret().to_owned();
    let client = |extra: &[&str]| {
        let mut args = vec!["--name", "Other", "--redirect-uri", PORTAL_REDIRECT];
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
