//! Revocation (RFC 7009), by the client or by a change of password.

use openidconnect::OAuth2TokenResponse as _;
use reqwest::StatusCode;

use super::{post, signed_in};
use crate::support::*;

#[tokio::test]
async fn revoking_an_access_token_or_a_refresh_token() {
    let f = TaxPortal::start().await;
    let tokens = signed_in(&f, &["offline_access"]).await;
    let access = tokens.access_token().secret().clone();
    let refresh = tokens.refresh_token().unwrap().secret().clone();

    // Another client cannot revoke them, and learns nothing: 200 all the same.
    let other = f
        .idp
        .create_client(&["--name", "Other", "--redirect-uri", PORTAL_REDIRECT]);
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
async fn a_password_change_revokes_what_was_issued() {
    let f = TaxPortal::start().await;
    let tokens = signed_in(&f, &["offline_access"]).await;
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    let browser = Browser::new(&f.idp);
    let account = browser.open_account("alice", PIN).await;
    browser
        .change_password(&account, "a brand new passphrase here")
        .await;
    assert_eq!(f.refresh(&refresh).await.1["error"], "invalid_grant");
    assert_eq!(
        f.introspect(tokens.access_token().secret()).await["active"],
        false
    );
}
