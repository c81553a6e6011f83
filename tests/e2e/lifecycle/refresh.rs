//! Rotating refresh tokens (RFC 9700 §4.14.2): each used once, a reused one ending its grant,
//! never wider than the grant, and those of the earlier form still honoured.

use openidconnect::OAuth2TokenResponse as _;
use reqwest::StatusCode;

use super::{post, signed_in};
use crate::support::*;

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_grant() {
    let f = TaxPortal::start().await;
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
    let claims = crate::code_flow::decode_payload(&id_token.to_string());
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
    let f = TaxPortal::start().await;
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
    let f = TaxPortal::start().await;
    let plain = signed_in(&f, &["email"]).await;
    assert!(
        plain.refresh_token().is_none(),
        "no offline_access, no refresh token"
    );

    let tokens = signed_in(&f, &["offline_access", "email"]).await;
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    let other = f
        .idp
        .create_client(&["--name", "Other", "--redirect-uri", PORTAL_REDIRECT]);
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

/// Renames the stored refresh token `issued` to a token of an earlier form, and returns that
/// token: the stamp and 43 random characters, stored under the stamp and their digest
/// (`stamped`), or before that the 43 random characters alone, stored under their digest.
async fn as_earlier_form(f: &TaxPortal, issued: &str, stamped: bool) -> String {
    use idp_core::random::{random_token, sha256_b64};
    assert_eq!(
        issued.as_bytes().get(59),
        Some(&b'.'),
        "a stamp, 43 random characters, then what the token carries: {issued}"
    );
    let (earlier, id) = if stamped {
        let earlier = format!("{}{}", &issued[..16], random_token(32));
        let id = format!("{}{}", &issued[..16], sha256_b64(&earlier));
        (earlier, id)
    } else {
        let earlier = random_token(32);
        let id = sha256_b64(&earlier);
        (earlier, id)
    };
    let stored = format!("{}{}", &issued[..16], sha256_b64(issued));
    let renamed = f
        .idp
        .execute(&format!(
            "UPDATE ephemeral SET id = '{id}' WHERE kind = 'refresh' AND id = '{stored}'"
        ))
        .await;
    assert_eq!(renamed, 1, "the token is stored under its stamp and digest");
    earlier
}

#[tokio::test]
async fn refresh_tokens_of_the_earlier_form_still_refresh_introspect_and_revoke() {
    let f = TaxPortal::start().await;
    for stamped in [false, true] {
        let tokens = signed_in(&f, &["offline_access"]).await;
        let issued = tokens.refresh_token().unwrap().secret();
        let earlier = as_earlier_form(&f, issued, stamped).await;
        assert_eq!(f.introspect(&earlier).await["active"], true);
        let (status, body) = f.refresh(&earlier).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let next = body["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(
            next.split_once('.').map(|(_, carried)| carried),
            issued.split_once('.').map(|(_, carried)| carried),
            "the successor carries what the sign-in's token carried"
        );
        // Spent, it is known as spent: presenting it again revokes the grant.
        let (_, again) = f.refresh(&earlier).await;
        assert_eq!(again["error"], "invalid_grant");
        assert_eq!(f.introspect(&next).await["active"], false);
    }

    let tokens = signed_in(&f, &["offline_access"]).await;
    let earlier = as_earlier_form(&f, tokens.refresh_token().unwrap().secret(), false).await;
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
