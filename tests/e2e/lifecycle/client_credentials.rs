//! The client credentials grant: a token for the client alone.

use reqwest::StatusCode;
use serde_json::Value;

use super::post;
use crate::support::*;

#[tokio::test]
async fn client_credentials_give_a_token_for_the_client_alone() {
    let f = TaxPortal::start().await;
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
    let admin = f.idp.create_client(&[
        "--name",
        "Ops",
        "--redirect-uri",
        PORTAL_REDIRECT,
        "--admin",
    ]);
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

    let public = f.idp.create_client(&[
        "--name",
        "App",
        "--redirect-uri",
        PORTAL_REDIRECT,
        "--public",
    ]);
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
