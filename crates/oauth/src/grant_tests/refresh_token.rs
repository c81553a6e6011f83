//! The refresh-token grant (RFC 6749 §6), with rotation (RFC 9700 §4.14.2).

use std::sync::atomic::Ordering;

use idp_core::ErrorCode;
use idp_core::store::UserStore;

use super::*;
use crate::issuer::IssuedToken;

const SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// Signs `u1` in at `rp` with offline access: the code grant's record and its refresh token.
async fn signed_in(endpoint: &Endpoint, rp: &Client) -> (CodeGrant, String) {
    let record = code_grant(&rp.id, &SCOPES);
    let tokens = endpoint.signed_in(rp, &record).await;
    (record, tokens.refresh_token.expect("offline_access"))
}

#[tokio::test]
async fn a_refresh_rotates_the_token_and_a_replay_revokes_the_grant() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let (record, first) = signed_in(&endpoint, &rp).await;
    let grant_id = record.grant.grant_id.as_str();

    endpoint.clock.advance(60);
    let refreshed = endpoint.refresh(&rp, &first, None).await.unwrap();
    let second = refreshed
        .refresh_token
        .clone()
        .expect("a new refresh token");
    assert_ne!(second, first);
    assert_eq!(refreshed.scope, "openid profile offline_access");
    let access = endpoint.access_claims(&refreshed);
    assert_eq!(
        (access.sub.as_str(), access.client_id.as_str()),
        ("u1", "rp")
    );
    assert_eq!(access.grant_id.as_deref(), Some(grant_id));
    assert_eq!(access.iat, endpoint.now());
    let id = endpoint.id_claims(&refreshed);
    assert_eq!((id.aud.as_str(), id.sid.as_str()), ("rp", "sid-1"));
    assert_eq!(id.auth_time, record.grant.auth_time, "the sign-in's time");
    assert_eq!(id.nonce, None, "a refresh's ID token has no nonce");
    assert_eq!(endpoint.counted.of(IssuedToken::Refresh), 2);

    // The new token works in turn.
    let third = endpoint.refresh(&rp, &second, None).await.unwrap();
    let third = third.refresh_token.expect("a new refresh token");

    // The spent first token again: the grant is revoked, and the live one with it.
    endpoint.clock.advance(5);
    let replay = endpoint.refresh(&rp, &first, None).await;
    assert_eq!(
        refusal(replay),
        invalid_grant("the refresh token was already used")
    );
    assert_eq!(
        endpoint.grants.get(grant_id).unwrap().revoked_at,
        Some(endpoint.now())
    );
    let after = endpoint.refresh(&rp, &third, None).await;
    assert_eq!(
        refusal(after),
        invalid_grant("the grant was revoked, or its user disabled")
    );
    assert_eq!(endpoint.counted.of(IssuedToken::Refresh), 3);
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_not_widen_it() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let (_, token) = signed_in(&endpoint, &rp).await;

    let wider = endpoint.refresh(&rp, &token, Some("openid email")).await;
    assert_eq!(
        refusal(wider),
        (
            ErrorCode::InvalidScope,
            "a refresh may not ask for scopes the grant does not have".to_owned()
        )
    );
    // The refusal left the token as it was.
    let narrowed = endpoint
        .refresh(&rp, &token, Some("openid  openid"))
        .await
        .unwrap();
    assert_eq!(narrowed.scope, "openid");
    assert_eq!(endpoint.access_claims(&narrowed).scope, "openid");

    // The new refresh token keeps the grant's scopes; only that answer was narrowed.
    let next = narrowed.refresh_token.expect("a new refresh token");
    let whole = endpoint.refresh(&rp, &next, None).await.unwrap();
    assert_eq!(whole.scope, "openid profile offline_access");
}

#[tokio::test]
async fn a_refresh_by_another_client_is_refused_without_spoiling_the_token() {
    let endpoint = Endpoint::new();
    let (rp, other) = (relying_party("rp", true), relying_party("other", true));
    let (record, token) = signed_in(&endpoint, &rp).await;
    let stolen = endpoint.refresh(&other, &token, None).await;
    assert_eq!(
        refusal(stolen),
        invalid_grant("the refresh token is invalid or expired")
    );
    assert!(!endpoint.grant_is_revoked(&record.grant.grant_id));
    let refreshed = endpoint.refresh(&rp, &token, None).await.unwrap();
    assert_eq!(endpoint.access_claims(&refreshed).client_id, "rp");
}

/// A refresh token carries what its check needs (nothing about the person), bound to its
/// record's id: what it carries changed names no record, and the token itself still works.
#[tokio::test]
async fn a_token_is_judged_by_what_it_carries_and_a_changed_one_names_no_record() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let endpoint = Endpoint::new();
    let (rp, other) = (relying_party("rp", true), relying_party("other", true));
    let (record, token) = signed_in(&endpoint, &rp).await;
    let carried = token
        .split_once('.')
        .expect("a token carries its binding")
        .1;
    let json: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(carried).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"g": record.grant.grant_id, "c": "rp", "s": SCOPES}),
        "the grant, the client and the scopes; no person"
    );

    // Rewritten for another client: well formed, and of no record.
    let forged = serde_json::json!({"g": record.grant.grant_id, "c": "other", "s": SCOPES});
    let head = token.split_once('.').unwrap().0;
    let changed = format!("{head}.{}", URL_SAFE_NO_PAD.encode(forged.to_string()));
    assert_eq!(
        refusal(endpoint.refresh(&other, &changed, None).await),
        invalid_grant("the refresh token is invalid or expired")
    );
    assert!(!endpoint.grant_is_revoked(&record.grant.grant_id));
    let refreshed = endpoint.refresh(&rp, &token, None).await.unwrap();
    let next = refreshed.refresh_token.expect("a new refresh token");
    assert_eq!(
        next.split_once('.').unwrap().1,
        carried,
        "its successor carries the same"
    );
}

/// A token of the form that carried nothing is judged by its record, read first, and rotates
/// into one that carries its binding; spent, it is a replay as before.
#[tokio::test]
async fn a_token_of_the_earlier_form_still_refreshes_into_one_that_carries_its_binding() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let (record, token) = signed_in(&endpoint, &rp).await;
    let kind = EphemeralKind::RefreshToken;
    let now = endpoint.now();
    let payload = endpoint
        .records
        .get(kind, &RefreshToken::id_of(&token), now)
        .await
        .unwrap()
        .expect("the sign-in's refresh token");
    let earlier = format!("{:016x}{}", endpoint.clock.now_micros(), random_token(32));
    let id = RefreshToken::id_of(&earlier);
    endpoint
        .records
        .put(kind, &id, &payload, now + 60)
        .await
        .unwrap();

    let other = relying_party("other", true);
    assert_eq!(
        refusal(endpoint.refresh(&other, &earlier, None).await),
        invalid_grant("the refresh token is invalid or expired")
    );
    let refreshed = endpoint.refresh(&rp, &earlier, None).await.unwrap();
    let next = refreshed.refresh_token.expect("a new refresh token");
    let binding = RefreshToken::binding(&next).expect("it carries its binding");
    assert_eq!(binding.grant_id, record.grant.grant_id);
    assert_eq!(
        refusal(endpoint.refresh(&rp, &earlier, None).await),
        invalid_grant("the refresh token was already used")
    );
    assert!(endpoint.grant_is_revoked(&record.grant.grant_id));
}

#[tokio::test]
async fn an_unknown_expired_or_disabled_persons_token_gives_nothing() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let invalid = invalid_grant("the refresh token is invalid or expired");
    assert_eq!(
        refusal(endpoint.refresh(&rp, "never-issued", None).await),
        invalid
    );

    let (_, token) = signed_in(&endpoint, &rp).await;
    endpoint
        .users
        .set_disabled("u1", Some(endpoint.now()))
        .await
        .unwrap();
    assert_eq!(
        refusal(endpoint.refresh(&rp, &token, None).await),
        invalid_grant("the grant was revoked, or its user disabled")
    );
    endpoint.users.set_disabled("u1", None).await.unwrap();
    endpoint.clock.advance(LIFETIMES.refresh_token);
    assert_eq!(refusal(endpoint.refresh(&rp, &token, None).await), invalid);
    assert_eq!(
        endpoint.counted.of(IssuedToken::Refresh),
        1,
        "the sign-in's"
    );
}

#[tokio::test]
async fn nothing_leaves_before_the_rotation_is_durable() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let (record, first) = signed_in(&endpoint, &rp).await;
    let second = endpoint.refresh(&rp, &first, None).await.unwrap();
    let second = second.refresh_token.expect("a new refresh token");
    let counted = endpoint.counted.of(IssuedToken::Refresh);

    // A rotation that never lands: no tokens, and a replay revokes nothing.
    endpoint.rotations_land.store(false, Ordering::SeqCst);
    let lost = endpoint.refresh(&rp, &second, None).await;
    assert!(matches!(lost, Err(GrantError::Store(_))), "{lost:?}");
    let replay = endpoint.refresh(&rp, &first, None).await;
    assert!(matches!(replay, Err(GrantError::Store(_))), "{replay:?}");
    assert!(!endpoint.grant_is_revoked(&record.grant.grant_id));
    assert_eq!(endpoint.counted.of(IssuedToken::Refresh), counted);

    // Nothing was written: the live token still works once rotations land again.
    endpoint.rotations_land.store(true, Ordering::SeqCst);
    assert!(endpoint.refresh(&rp, &second, None).await.is_ok());
}
