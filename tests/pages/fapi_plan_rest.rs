//! The authorization request and token endpoint modules of the FAPI 2.0 Security Profile test
//! plan (`docs/fapi2.md` §5) that `fapi_plan.rs` leaves: pushed requests without `state`, with
//! a long one, or carrying a `request_uri`; PAR by another method than POST; the `claims`
//! parameter through PAR; a code redeemed under another client's name; a refresh's binding.
//! As the suite drives them: `bank`, under the profile, pushes with `private_key_jwt` and
//! redeems with DPoP.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use idp_core::model::{Address, Profile};
use serde_json::{Map, Value, json};

use crate::fapi::{JWT_BEARER, assertion, issuer, key_client, post_signed_with, push, request_of};
use crate::fapi_plan::{bank, pushed, redeem, signed_in_at};
use crate::page::param;
use crate::request_objects::TestKey;
use crate::support::dpop::{ProofKey, access_claims, userinfo};
use crate::support::{Idp, Page, REDIRECT, VERIFIER};

/// `bank` pushes its usual request changed by `extra` and without the parameters in
/// `without`; alice signs in at `/authorize` with the `request_uri` and `beside` next to it.
async fn signed_in(
    idp: &Idp,
    key: &TestKey,
    (extra, without): (&[(&str, &str)], &[&str]),
    beside: &[(&str, &str)],
) -> Page {
    let request_uri = pushed(idp, key, &request_of("bank", extra, without), None).await;
    let mut query = vec![("client_id", "bank"), ("request_uri", request_uri.as_str())];
    query.extend_from_slice(beside);
    let query = serde_urlencoded::to_string(&query).unwrap();
    signed_in_at(idp, &format!("/authorize?{query}")).await
}

/// The code in `done` redeemed by `bank` with a fresh proof of `holder`: the tokens.
async fn tokens(idp: &Idp, key: &TestKey, done: &Page, holder: &ProofKey) -> Value {
    let proof = holder.proof(idp, "POST", "/token", None);
    let (status, tokens) = redeem(idp, key, done, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

/// `length` characters of the unreserved set, in turn.
fn unreserved(length: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    (0..length)
        .map(|i| char::from(alphabet[i % alphabet.len()]))
        .collect()
}

fn assert_refused(answer: &(StatusCode, Value), status: StatusCode, error: &str, case: &str) {
    assert_eq!(
        (answer.0, answer.1["error"].as_str()),
        (status, Some(error)),
        "{case}: {}",
        answer.1
    );
}

/// #4 `ensure-authorization-request-without-state-success`: a request pushed without `state`
/// signs in; the answer carries the code and `iss` but no `state`, and the code is redeemed.
#[tokio::test]
async fn a_request_pushed_without_state_is_answered_without_one() {
    let (idp, key) = bank().await;
    let done = signed_in(&idp, &key, (&[], &["state"]), &[]).await;
    let to = done.to();
    assert_eq!(param(to, "state"), None, "{to}");
    assert_eq!(param(to, "iss").as_deref(), Some(idp.state.issuer()));
    let tokens = tokens(&idp, &key, &done, &ProofKey::new()).await;
    assert_eq!(idp.id_token_claims(&tokens)["nonce"], "n");
}

/// #22 `state-only-outside-request-object-not-used`: a request pushed without `state`, and a
/// `state` added at `/authorize` beside the `request_uri`: it is not used; the answer has none.
#[tokio::test]
async fn a_state_beside_a_request_uri_pushed_without_one_is_not_used() {
    let (idp, key) = bank().await;
    let beside = [("state", "outside")];
    let done = signed_in(&idp, &key, (&[], &["state"]), &beside).await;
    let to = done.to();
    assert_eq!(param(to, "state"), None, "{to}");
    assert!(param(to, "error").is_none(), "{to}");
    tokens(&idp, &key, &done, &ProofKey::new()).await;
}

/// #21 `ensure-authorization-request-with-long-state`: a pushed `state` of 1000 characters
/// comes back whole (the module takes that, or `invalid_request`). Ours may be up to 2048
/// characters (`MAX_STATE_LENGTH`): 2048 are pushed, 2049 refused at PAR with `invalid_request`.
#[tokio::test]
async fn a_pushed_state_of_1000_characters_comes_back_whole() {
    let (idp, key) = bank().await;
    for length in [1000, 2048] {
        let state = unreserved(length);
        let done = signed_in(&idp, &key, (&[("state", &state)], &[]), &[]).await;
        assert_eq!(param(done.to(), "state").as_deref(), Some(state.as_str()));
        if length == 1000 {
            tokens(&idp, &key, &done, &ProofKey::new()).await;
        }
    }
    let state = unreserved(2049);
    let answer = push(
        &idp,
        "bank",
        &key,
        &request_of("bank", &[("state", &state)], &[]),
    )
    .await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_request", "2049");
}

/// #53 `par-authorization-request-containing-request_uri-form-param`: a push that carries a
/// `request_uri` (one of ours, or any URL) is refused with `invalid_request` (400).
#[tokio::test]
async fn a_push_that_carries_a_request_uri_is_refused() {
    let (idp, key) = bank().await;
    let ours = pushed(&idp, &key, &request_of("bank", &[], &[]), None).await;
    for request_uri in [ours.as_str(), "https://client.example/request.jwt"] {
        let mut pairs = request_of("bank", &[], &[]);
        pairs.push(("request_uri".into(), request_uri.into()));
        let answer = push(&idp, "bank", &key, &pairs).await;
        assert_refused(
            &answer,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            request_uri,
        );
        assert!(
            answer.1["error_description"]
                .as_str()
                .unwrap()
                .contains("request_uri"),
            "{}",
            answer.1
        );
    }
}

/// #54 `par-attempt-invalid-http-method`: the module's `PUT /par` with an authenticated
/// request, and the other methods, are 405 Method Not Allowed (RFC 9126 §2.1), with `Allow`.
#[tokio::test]
async fn par_takes_only_post_and_answers_other_methods_405() {
    let (idp, key) = bank().await;
    let assertion = assertion(&idp, "bank", &key, issuer(&idp));
    let mut form = request_of("bank", &[], &[]);
    form.push(("client_assertion_type".into(), JWT_BEARER.into()));
    form.push(("client_assertion".into(), assertion));
    let body = serde_urlencoded::to_string(&form).unwrap();
    for method in ["PUT", "GET", "DELETE", "PATCH"] {
        let request = Request::builder()
            .method(method)
            .uri("/par")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.clone()))
            .unwrap();
        let (status, headers, _) = idp.call(request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        let allow = headers[header::ALLOW].to_str().unwrap();
        assert!(allow.contains("POST"), "{method}: {allow}");
    }
}

/// #8 `test-claims-parameter-identity-claims`: a pushed `claims` parameter asks for every
/// standard claim of discovery's `claims_supported` in the ID token and at UserInfo (as
/// `null`, essential and not), and for claims no one knows. With a person who has them all,
/// each comes back in both; the unknown ones nowhere.
#[tokio::test]
async fn the_claims_parameter_pushed_gets_every_supported_claim_in_both_places() {
    let (idp, key) = bank().await;
    let profile = Profile {
        name: Some("Alice Example".into()),
        given_name: Some("Alice".into()),
        family_name: Some("Example".into()),
        address: Address {
            street_address: Some("1 Main St".into()),
            locality: Some("Springfield".into()),
            region: Some("IL".into()),
            postal_code: Some("62701".into()),
            country: Some("US".into()),
        },
        updated_at: Some(1_700_000_000),
    };
    let users = &idp.state.stores.users;
    users.set_profile("id-alice", &profile).await.unwrap();
    users
        .set_phone("id-alice", Some("+15550100"), true)
        .await
        .unwrap();
    let request = Request::get("/.well-known/openid-configuration").body(Body::empty());
    let (_, _, document) = idp.call(request.unwrap()).await;
    assert_eq!(document["claims_parameter_supported"], true);
    let supported = document["claims_supported"].as_array().unwrap();
    // The standard claims of OpenID Connect Core §5.1 this provider lists.
    let standard: Vec<&str> = [
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "email",
        "email_verified",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "phone_number",
        "phone_number_verified",
        "address",
        "updated_at",
    ]
    .into_iter()
    .filter(|claim| supported.contains(&json!(claim)))
    .collect();
    assert_eq!(standard.len(), 10, "{standard:?}");
    let forms = [
        json!(null),
        json!({ "essential": true }),
        json!({ "essential": false }),
    ];
    let mut asked = Map::new();
    for (i, claim) in standard.iter().enumerate() {
        asked.insert((*claim).to_owned(), forms[i % forms.len()].clone());
    }
    asked.insert("xq_unknown_claim".into(), json!({ "essential": true }));
    let asked = Value::Object(asked);
    let claims = json!({ "id_token": asked, "userinfo": asked }).to_string();
    let extra = [("scope", "openid"), ("claims", claims.as_str())];
    let done = signed_in(&idp, &key, (&extra, &[]), &[]).await;
    let holder = ProofKey::new();
    let tokens = tokens(&idp, &key, &done, &holder).await;
    let access = tokens["access_token"].as_str().unwrap();
    let proof = holder.proof(&idp, "GET", "/userinfo", Some(access));
    let (status, _, info) = userinfo(&idp, &format!("DPoP {access}"), Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let id = idp.id_token_claims(&tokens);
    for (place, got) in [("ID token", &id), ("UserInfo", &info)] {
        for claim in &standard {
            assert!(got.get(*claim).is_some(), "{claim} in the {place}: {got}");
        }
        assert!(got.get("xq_unknown_claim").is_none(), "{place}: {got}");
        assert_eq!(got["sub"], "id-alice");
    }
    assert_eq!(info["phone_number"], "+15550100");
    assert_eq!(id["address"]["locality"], "Springfield");
}

/// #31 `ensure-client-id-in-token-endpoint`: `bank`'s code redeemed with `bank2`'s
/// `client_id` and an assertion for `bank2` signed with `bank`'s key is `invalid_client`
/// (401; the module takes that or `invalid_grant`), and the code stays good for `bank`.
#[tokio::test]
async fn a_code_redeemed_as_another_client_with_the_first_clients_key_is_invalid_client() {
    let (idp, key) = bank().await;
    let other = TestKey::new("ES256", "bank2-es");
    key_client(&idp, "bank2", &[&other], true).await;
    let done = signed_in(&idp, &key, (&[], &[]), &[]).await;
    let code = param(done.to(), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", "bank2"),
    ];
    let proof = ProofKey::new().proof(&idp, "POST", "/token", None);
    let client = ("bank2", &key, issuer(&idp));
    let answer = post_signed_with(&idp, "/token", client, &form, Some(&proof)).await;
    assert_refused(&answer, StatusCode::UNAUTHORIZED, "invalid_client", "bank2");
    let tokens = tokens(&idp, &key, &done, &ProofKey::new()).await;
    assert_eq!(idp.id_token_claims(&tokens)["aud"], "bank");
}

/// #42 `refresh-token` with DPoP: `bank`'s refresh token is bound to its authentication, so a
/// refresh with another key's proof is taken, answers the same refresh token, and binds the
/// new access token to that key: UserInfo takes it with that key's proof, not the first's.
#[tokio::test]
async fn a_refresh_binds_the_new_access_token_to_the_key_of_its_proof() {
    let (idp, key) = bank().await;
    let done = signed_in(&idp, &key, (&[], &[]), &[]).await;
    let first = ProofKey::new();
    let tokens = tokens(&idp, &key, &done, &first).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let second = ProofKey::new();
    let proof = second.proof(&idp, "POST", "/token", None);
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let client = ("bank", &key, issuer(&idp));
    let (status, refreshed) = post_signed_with(&idp, "/token", client, &form, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["refresh_token"], refresh, "not rotated");
    assert_eq!(refreshed["token_type"], "DPoP");
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(access_claims(&idp, access)["cnf"]["jkt"], second.jkt());
    for (holder, status) in [
        (&second, StatusCode::OK),
        (&first, StatusCode::UNAUTHORIZED),
    ] {
        let proof = holder.proof(&idp, "GET", "/userinfo", Some(access));
        let (answer, _, body) = userinfo(&idp, &format!("DPoP {access}"), Some(&proof)).await;
        assert_eq!(answer, status, "{body}");
    }
}
