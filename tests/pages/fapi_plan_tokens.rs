//! The token endpoint and DPoP modules of the FAPI 2.0 Security Profile test plan
//! (`docs/fapi2.md` §5), for a client under the profile: a pushed request, a code exchanged
//! with `private_key_jwt` and DPoP proofs, the access token used at UserInfo.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::fapi::{JWT_BEARER, authorize_uri, issuer, post_signed, request_of};
use crate::fapi_plan::{bank, pushed, redeem, signed_in_at};
use crate::page::param;
use crate::request_objects::TestKey;
use crate::support::dpop::{ProofKey, access_claims, post_with_proofs, userinfo};
use crate::support::{Idp, Page, REDIRECT, VERIFIER};

/// `bank` pushes its usual request with `extra` and `proof` (at PAR), and alice signs in.
async fn signed_in(idp: &Idp, key: &TestKey, extra: &[(&str, &str)], proof: Option<&str>) -> Page {
    let request_uri = pushed(idp, key, &request_of("bank", extra, &[]), proof).await;
    signed_in_at(idp, &authorize_uri("bank", &request_uri)).await
}

/// The form of a code exchange, authenticated by nothing but what `extra` adds.
fn code_form<'a>(code: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    form.extend_from_slice(extra);
    form
}

/// UserInfo called with the DPoP-bound `access` token and a fresh proof from `holder`.
async fn userinfo_with(idp: &Idp, holder: &ProofKey, access: &str) -> (StatusCode, Value) {
    let proof = holder.proof(idp, "GET", "/userinfo", Some(access));
    let (status, _, body) = userinfo(idp, &format!("DPoP {access}"), Some(&proof)).await;
    (status, body)
}

/// #11 `ensure-dpopproof-with-iat-10seconds-before-succeeds` and #12
/// `ensure-dpopproof-with-iat-10seconds-after-succeeds`: proofs whose `iat` is 10 s behind or
/// ahead of the provider's clock are taken at PAR, at the token endpoint and at UserInfo.
#[tokio::test]
async fn proofs_10_seconds_early_or_late_are_taken_at_par_the_token_endpoint_and_userinfo() {
    let (idp, key) = bank().await;
    for offset in [-10, 10] {
        let holder = ProofKey::new();
        let skewed = |method: &str, path: &str, token: Option<&str>| {
            let mut claims = holder.claims(&idp, method, path, token);
            claims["iat"] = json!(idp.state.now() + offset);
            holder.sign(&holder.header(), &claims)
        };
        let done = signed_in(&idp, &key, &[], Some(&skewed("POST", "/par", None))).await;
        let proof = skewed("POST", "/token", None);
        let (status, tokens) = redeem(&idp, &key, &done, Some(&proof)).await;
        assert_eq!(status, StatusCode::OK, "iat {offset:+}: {tokens}");
        assert_eq!(tokens["token_type"], "DPoP");
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(access_claims(&idp, access)["cnf"]["jkt"], holder.jkt());
        let proof = skewed("GET", "/userinfo", Some(access));
        let answer = userinfo(&idp, &format!("DPoP {access}"), Some(&proof)).await;
        assert_eq!(answer.0, StatusCode::OK, "iat {offset:+}: {:?}", answer.2);
        assert_eq!(answer.2["sub"], "id-alice");
    }
}

/// #15 `ensure-token-endpoint-fails-with-mismatched-dpop-jkt`: a code pushed with `dpop_jkt`
/// is refused with another key's proof (`invalid_dpop_proof`), and stays good for its own.
#[tokio::test]
async fn a_code_bound_by_dpop_jkt_is_refused_with_another_keys_proof() {
    let (idp, key) = bank().await;
    let holder = ProofKey::new();
    let done = signed_in(&idp, &key, &[("dpop_jkt", &holder.jkt())], None).await;
    let other = ProofKey::new().proof(&idp, "POST", "/token", None);
    let (status, body) = redeem(&idp, &key, &done, Some(&other)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")),
        "{body}"
    );
    let proof = holder.proof(&idp, "POST", "/token", None);
    let (status, tokens) = redeem(&idp, &key, &done, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(access_claims(&idp, access)["cnf"]["jkt"], holder.jkt());
}

/// #17 `ensure-dpop-auth-code-binding-success`: `dpop_jkt` and a proof from the same key at
/// PAR, that key's proof at the token endpoint: tokens bound to it.
#[tokio::test]
async fn dpop_jkt_with_a_matching_proof_at_par_binds_the_tokens_to_that_key() {
    let (idp, key) = bank().await;
    let holder = ProofKey::new();
    let at_par = holder.proof(&idp, "POST", "/par", None);
    let done = signed_in(&idp, &key, &[("dpop_jkt", &holder.jkt())], Some(&at_par)).await;
    let proof = holder.proof(&idp, "POST", "/token", None);
    let (status, tokens) = redeem(&idp, &key, &done, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(access_claims(&idp, access)["cnf"]["jkt"], holder.jkt());
    let (status, body) = userinfo_with(&idp, &holder, access).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// #34 `attempt-reuse-authorization-code-after-one-second`: the code redeemed again a second
/// later, with a fresh proof, is `invalid_grant`, and what the first exchange issued is
/// revoked: the access token no longer works at UserInfo, the refresh token is inactive.
#[tokio::test]
async fn a_code_redeemed_again_a_second_later_is_refused_and_revokes_its_tokens() {
    let (idp, key) = bank().await;
    let done = signed_in(&idp, &key, &[], None).await;
    let holder = ProofKey::new();
    let proof = holder.proof(&idp, "POST", "/token", None);
    let (status, tokens) = redeem(&idp, &key, &done, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let (status, body) = userinfo_with(&idp, &holder, access).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    idp.clock.advance(1);
    let proof = holder.proof(&idp, "POST", "/token", None);
    let (status, body) = redeem(&idp, &key, &done, Some(&proof)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = userinfo_with(&idp, &holder, access).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token")),
        "{body}"
    );
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, introspected) = post_signed(
        &idp,
        "/introspect",
        ("bank", &key, issuer(&idp)),
        &[("token", refresh)],
    )
    .await;
    assert_eq!(
        (status, &introspected["active"]),
        (StatusCode::OK, &json!(false))
    );
}

/// #37 `ensure-client-assertion-in-token-endpoint`: the code exchanged without a client
/// assertion, with or without `client_id`, is `invalid_client` (401); the code stays good.
#[tokio::test]
async fn a_code_exchange_without_a_client_assertion_is_invalid_client() {
    let (idp, key) = bank().await;
    let done = signed_in(&idp, &key, &[], None).await;
    let code = param(done.to(), "code").unwrap();
    for extra in [&[("client_id", "bank")][..], &[]] {
        let proof = ProofKey::new().proof(&idp, "POST", "/token", None);
        let form = code_form(&code, extra);
        let (status, _, body) = post_with_proofs(&idp, "/token", None, &form, &[&proof]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client")),
            "{extra:?}: {body}"
        );
    }
    let proof = ProofKey::new().proof(&idp, "POST", "/token", None);
    let (status, tokens) = redeem(&idp, &key, &done, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

/// #40 `ensure-client-assertion-with-no-sub-fails`: an assertion, signed with the client's
/// key, that has no `sub` is `invalid_client` (401), with or without `client_id` beside it.
#[tokio::test]
async fn a_client_assertion_without_sub_is_invalid_client() {
    let (idp, key) = bank().await;
    let done = signed_in(&idp, &key, &[], None).await;
    let code = param(done.to(), "code").unwrap();
    for client_id in [Some("bank"), None] {
        let claims = json!({
            "iss": "bank", "aud": issuer(&idp), "exp": idp.state.now() + 60,
            "jti": idp_core::random::random_token(12),
        });
        let assertion = key.sign_typed(&claims, "JWT");
        let mut extra = vec![
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ];
        extra.extend(client_id.map(|id| ("client_id", id)));
        let form = code_form(&code, &extra);
        let proof = ProofKey::new().proof(&idp, "POST", "/token", None);
        let (status, _, body) = post_with_proofs(&idp, "/token", None, &form, &[&proof]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client")),
            "client_id {client_id:?}: {body}"
        );
    }
}
