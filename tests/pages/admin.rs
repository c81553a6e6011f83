//! The admin API as an operator's script meets it: what it names and does not find, and the
//! times it gives both as epoch seconds and as RFC 3339.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::Idp;

/// An admin client's access token (client credentials, scope `admin`).
async fn admin_token(idp: &Idp) -> String {
    let secret = idp
        .confidential_client_with("ops", |client| client.admin = true)
        .await;
    let form = [("grant_type", "client_credentials"), ("scope", "admin")];
    let (status, _, tokens) = idp
        .post_as_client("/token", Some(("ops", &secret)), &form)
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_unknown_user_is_not_found() {
    let idp = Idp::start().await;
    let token = admin_token(&idp).await;
    for (method, path) in [
        ("GET", "/admin/users/nosuch"),
        ("POST", "/admin/users/nosuch/unlock"),
        ("POST", "/admin/users/nosuch/disable"),
        // Not even a username: there is no such user either.
        ("GET", "/admin/users/x"),
    ] {
        let (status, body) = idp.json_request(method, path, Some(&token), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert_eq!(body["error"], "not_found", "{method} {path}");
        assert_eq!(body["error_description"], "no such user", "{method} {path}");
    }
    let (status, body) = idp
        .json_request("POST", "/admin/clients/nosuch/disable", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // A filter that is not an event kind is a bad request, not a missing thing.
    let (status, _) = idp
        .json_request("GET", "/admin/audit?kind=nosuch", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Without a token, still 401 before anything is looked up.
    let (status, _) = idp
        .json_request("GET", "/admin/users/nosuch", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn times_come_as_epoch_seconds_and_rfc_3339() {
    let idp = Idp::start().await;
    idp.user("alice").await;
    let token = admin_token(&idp).await;
    let get = |path: &'static str| {
        let idp = &idp;
        let token = token.clone();
        async move {
            let (status, body) = idp.json_request("GET", path, Some(&token), None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            body
        }
    };
    // The manual clock starts at 1 800 000 000.
    let user = get("/admin/users/alice").await;
    assert_eq!(user["created_at"], 1_800_000_000);
    assert_eq!(user["created"], "2027-01-15T08:00:00Z");
    let clients = get("/admin/clients").await;
    assert_eq!(clients[0]["created"], "2027-01-15T08:00:00Z", "{clients}");
    let keys = get("/admin/keys").await;
    let key = &keys[0];
    assert!(key["created_at"].is_i64(), "{key}");
    assert!(key["created"].as_str().unwrap().ends_with('Z'), "{key}");
    assert!(key.get("activation").is_some() && key.get("removal").is_some());

    idp.json_request("POST", "/admin/users/alice/unlock", Some(&token), None)
        .await;
    let events = get("/admin/audit").await;
    let event: &Value = &events[0];
    assert!(event["at"].is_i64(), "{event}");
    assert_eq!(event["time"], "2027-01-15T08:00:00Z", "{event}");
}
