//! The authorization request modules of the OpenID Foundation's FAPI 2.0 Security Profile test
//! plan (`fapi2-security-profile-final-test-plan`, rows of `docs/fapi2.md` §5), driven as the
//! suite drives them: a client under the profile pushes its request (PAR, PKCE,
//! `private_key_jwt`), the browser carries only the `request_uri`, and the code is exchanged
//! with a DPoP proof.

use axum::http::StatusCode;
use serde_json::Value;

use crate::fapi::{
    authorize_uri, fapi_idp, issuer, key_client, post_signed_with, push, request_of,
};
use crate::page::param;
use crate::request_objects::TestKey;
use crate::support::dpop::ProofKey;
use crate::support::{Browser, Idp, PASSWORD, Page, REDIRECT, VERIFIER};

/// The provider with alice and `bank`, a client under the profile, and `bank`'s assertion key.
pub(crate) async fn bank() -> (Idp, TestKey) {
    let idp = fapi_idp(|_| {}).await;
    let key = TestKey::new("ES256", "bank-es");
    key_client(&idp, "bank", &[&key], true).await;
    (idp, key)
}

/// `pairs` pushed by `bank` with `proof` (a DPoP proof at PAR) when given: the `request_uri`.
pub(crate) async fn pushed(
    idp: &Idp,
    key: &TestKey,
    pairs: &[(String, String)],
    proof: Option<&str>,
) -> String {
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, body) =
        post_signed_with(idp, "/par", ("bank", key, issuer(idp)), &form, proof).await;
    assert_eq!(status, StatusCode::CREATED, "{pairs:?}: {body}");
    body["request_uri"].as_str().unwrap().to_owned()
}

/// Alice signs in at `path` (an `/authorize` URL): the redirect back with the code.
pub(crate) async fn signed_in_at(idp: &Idp, path: &str) -> Page {
    let done = Browser::new(idp).sign_in(path, "alice").await;
    assert!(done.gives_code(), "{done:?}");
    done
}

/// The code in `done` exchanged by `bank` with `proof` (a DPoP proof at the token endpoint).
pub(crate) async fn redeem(
    idp: &Idp,
    key: &TestKey,
    done: &Page,
    proof: Option<&str>,
) -> (StatusCode, Value) {
    let code = param(done.to(), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    post_signed_with(idp, "/token", ("bank", key, issuer(idp)), &form, proof).await
}

/// `bank` pushes `pairs`, alice signs in, and the code is exchanged with a fresh proof: the
/// redirect back and the ID token's claims.
async fn signed_in_with(idp: &Idp, key: &TestKey, pairs: &[(String, String)]) -> (Page, Value) {
    let request_uri = pushed(idp, key, pairs, None).await;
    let done = signed_in_at(idp, &authorize_uri("bank", &request_uri)).await;
    let proof = ProofKey::new().proof(idp, "POST", "/token", None);
    let (status, tokens) = redeem(idp, key, &done, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    (done, idp.id_token_claims(&tokens))
}

/// A `nonce` of `length` characters, every one of the unreserved set in turn.
fn long_nonce(length: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    (0..length)
        .map(|i| char::from(alphabet[i % alphabet.len()]))
        .collect()
}

/// #3 `user-rejects-authentication`: the person cancels on the PIN page of a pushed request;
/// the client hears `access_denied` with the pushed `state` and `iss`.
#[tokio::test]
async fn cancelling_a_pushed_sign_in_on_the_pin_page_answers_access_denied() {
    let (idp, key) = bank().await;
    let request_uri = pushed(&idp, &key, &request_of("bank", &[], &[]), None).await;
    let mut browser = Browser::new(&idp);
    let (login, page) = browser.open(&authorize_uri("bank", &request_uri)).await;
    assert!(page.is("login"), "{page:?}");
    let next = browser
        .submit(&page, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let pin = browser.follow(next).await;
    assert!(pin.is("pin"), "{pin:?}");
    assert!(pin.contains("id=\"pin-cancel\""), "{}", pin.body);
    let answer = browser
        .submit_to(&pin, &format!("{login}/cancel"), &[])
        .await;
    let to = answer.to();
    assert!(to.starts_with(REDIRECT), "{answer:?}");
    assert_eq!(param(to, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(to, "state").as_deref(), Some("st"));
    assert_eq!(param(to, "iss").as_deref(), Some(idp.state.issuer()));
    assert!(param(to, "code").is_none());
}

/// #5 `ensure-authorization-request-without-nonce-success`: a pushed request without `nonce`
/// signs in, and the ID token has no `nonce`.
#[tokio::test]
async fn a_pushed_request_without_a_nonce_gets_an_id_token_without_one() {
    let (idp, key) = bank().await;
    let (_, claims) = signed_in_with(&idp, &key, &request_of("bank", &[], &["nonce"])).await;
    assert_eq!(claims["aud"], "bank");
    assert!(claims.get("nonce").is_none(), "{claims}");
}

/// #6 `ensure-authorization-request-with-64-char-nonce-success` and #20
/// `ensure-authorization-request-with-long-nonce`: a 64- and a 384-character pushed `nonce`
/// come back whole in the ID token.
#[tokio::test]
async fn a_pushed_nonce_of_64_or_384_characters_comes_back_whole() {
    let (idp, key) = bank().await;
    for length in [64, 384] {
        let nonce = long_nonce(length);
        let pairs = request_of("bank", &[("nonce", &nonce)], &[]);
        let (_, claims) = signed_in_with(&idp, &key, &pairs).await;
        assert_eq!(claims["nonce"].as_str(), Some(nonce.as_str()), "{length}");
    }
}

/// #7 `ensure-other-scope-order-succeeds`: the scope values pushed in reverse order.
#[tokio::test]
async fn pushed_scope_values_in_another_order_sign_in() {
    let (idp, key) = bank().await;
    let pairs = request_of("bank", &[("scope", "offline_access email openid")], &[]);
    let request_uri = pushed(&idp, &key, &pairs, None).await;
    let done = signed_in_at(&idp, &authorize_uri("bank", &request_uri)).await;
    let proof = ProofKey::new().proof(&idp, "POST", "/token", None);
    let (status, tokens) = redeem(&idp, &key, &done, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let mut granted: Vec<&str> = tokens["scope"].as_str().unwrap().split(' ').collect();
    granted.sort_unstable();
    assert_eq!(granted, ["email", "offline_access", "openid"]);
    assert!(tokens["refresh_token"].is_string());
    assert_eq!(idp.id_token_claims(&tokens)["nonce"], "n");
}

/// #18 `ensure-different-nonce-inside-and-outside-request-object` and #19
/// `ensure-different-state-inside-and-outside-request-object`: `nonce` and `state` added at
/// `/authorize` next to the `request_uri` are ignored; the pushed ones count.
#[tokio::test]
async fn nonce_and_state_beside_a_request_uri_are_ignored_for_the_pushed_ones() {
    let (idp, key) = bank().await;
    let request_uri = pushed(&idp, &key, &request_of("bank", &[], &[]), None).await;
    let query = serde_urlencoded::to_string([
        ("client_id", "bank"),
        ("request_uri", request_uri.as_str()),
        ("nonce", "other"),
        ("state", "other"),
    ])
    .unwrap();
    let done = signed_in_at(&idp, &format!("/authorize?{query}")).await;
    assert_eq!(param(done.to(), "state").as_deref(), Some("st"));
    let proof = ProofKey::new().proof(&idp, "POST", "/token", None);
    let (status, tokens) = redeem(&idp, &key, &done, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(idp.id_token_claims(&tokens)["nonce"], "n");
}

/// #30 `ensure-response-type-token-fails` and #58 `par-plain-pkce-rejected`: refused at PAR,
/// in JSON, whether or not the implicit flow is offered to other clients.
#[tokio::test]
async fn a_pushed_token_response_type_or_plain_pkce_is_refused_at_par() {
    for implicit in [false, true] {
        let idp = fapi_idp(|s| s.protocol.implicit_and_hybrid = implicit).await;
        let key = TestKey::new("ES256", "bank-es");
        key_client(&idp, "bank", &[&key], true).await;
        let refusals = [
            (
                request_of("bank", &[("response_type", "token")], &[]),
                "unsupported_response_type",
            ),
            (
                request_of(
                    "bank",
                    &[
                        ("code_challenge", VERIFIER),
                        ("code_challenge_method", "plain"),
                    ],
                    &[],
                ),
                "invalid_request",
            ),
        ];
        for (pairs, error) in &refusals {
            let (status, body) = push(&idp, "bank", &key, pairs).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some(*error)),
                "implicit {implicit}, {pairs:?}: {body}"
            );
        }
    }
}

/// #49 `par-attempt-to-use-expired-request_uri`: a `request_uri` opened after its
/// `expires_in` gets the refusal page (400), not a redirect.
#[tokio::test]
async fn a_request_uri_past_its_lifetime_gets_the_refusal_page() {
    let (idp, key) = bank().await;
    let (status, body) = push(&idp, "bank", &key, &request_of("bank", &[], &[])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let lifetime = body["expires_in"].as_i64().unwrap();
    let request_uri = body["request_uri"].as_str().unwrap();
    idp.clock.advance(lifetime + 1);
    let page = Browser::new(&idp)
        .get(&authorize_uri("bank", request_uri))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{page:?}");
    assert!(page.location.is_none(), "{page:?}");
    assert!(
        page.contains("The sign-in request has expired or was already used."),
        "{}",
        page.body
    );
}
