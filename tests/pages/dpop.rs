//! DPoP (RFC 9449): tokens bound to a key the client proves it holds, at the token endpoint,
//! UserInfo, introspection and revocation; every refusal answered as the RFC words it.

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::page::param;
use crate::support::dpop::{ProofKey, access_claims, ath, post_with_proofs, userinfo};
use crate::support::{Browser, Idp, REDIRECT, VERIFIER, authorize};

/// A public first-party app signing alice in; the code's answer page.
async fn signed_in(idp: &Idp, scope: &str) -> String {
    let mut browser = Browser::new(idp);
    let answer = browser
        .sign_in(&authorize("app", &[("scope", scope)]), "alice")
        .await;
    param(answer.to(), "code").unwrap()
}

async fn start() -> Idp {
    start_with(|_| {}).await
}

async fn start_with(adjust: impl FnOnce(&mut idp_server::config::Settings)) -> Idp {
    let idp = Idp::with(|s| {
        s.new_device.enabled = false;
        adjust(s);
    })
    .await;
    idp.user("alice").await;
    idp.client("app", true).await;
    idp
}

/// The app's code exchanged with a proof of `key`: the tokens.
async fn bound_tokens(idp: &Idp, key: &ProofKey, scope: &str) -> Value {
    let code = signed_in(idp, scope).await;
    let form = code_form(&code);
    let proof = key.proof(idp, "POST", "/token", None);
    let (status, _, tokens) = post_with_proofs(idp, "/token", None, &form, &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

fn code_form(code: &str) -> [(&'static str, &str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", "app"),
        ("code_verifier", VERIFIER),
    ]
}

/// A resource endpoint's DPoP refusal: 401, the error in the body, and a `DPoP` challenge
/// naming it and the algorithms.
fn assert_dpop_refusal(answer: &(StatusCode, HeaderMap, Value), error: &str, case: &str) {
    let (status, headers, body) = answer;
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{case}: {body}");
    assert_eq!(body["error"], error, "{case}: {body}");
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with(&format!("DPoP error=\"{error}\"")),
        "{case}: {challenge}"
    );
    assert!(
        challenge.contains("algs=\"ES256 PS256 EdDSA\""),
        "{case}: {challenge}"
    );
}

#[tokio::test]
async fn a_bound_token_works_at_userinfo_only_with_a_proof_from_its_key() {
    let idp = start().await;
    let key = ProofKey::new();
    let tokens = bound_tokens(&idp, &key, "openid email").await;
    assert_eq!(tokens["token_type"], "DPoP");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        access_claims(&idp, token)["cnf"],
        json!({ "jkt": key.jkt() })
    );
    let dpop = format!("DPoP {token}");

    let proof = key.proof(&idp, "GET", "/userinfo", Some(token));
    let (status, _, body) = userinfo(&idp, &dpop, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "alice@example.com");

    // A copied token: as a bearer token, or with the DPoP scheme and no proof, or a proof
    // made with the thief's own key.
    let copied = userinfo(&idp, &format!("Bearer {token}"), None).await;
    assert_dpop_refusal(&copied, "invalid_token", "as Bearer");
    let bearer_with_proof = key.proof(&idp, "GET", "/userinfo", Some(token));
    let copied = userinfo(&idp, &format!("Bearer {token}"), Some(&bearer_with_proof)).await;
    assert_dpop_refusal(&copied, "invalid_token", "as Bearer with a proof");
    let no_proof = userinfo(&idp, &dpop, None).await;
    assert_dpop_refusal(&no_proof, "invalid_dpop_proof", "no proof");
    let thief = ProofKey::new();
    let theirs = thief.proof(&idp, "GET", "/userinfo", Some(token));
    let answer = userinfo(&idp, &dpop, Some(&theirs)).await;
    assert_dpop_refusal(&answer, "invalid_dpop_proof", "another key");

    // The proof that worked, used again.
    let replayed = userinfo(&idp, &dpop, Some(&proof)).await;
    assert_dpop_refusal(&replayed, "invalid_dpop_proof", "replayed");
    assert!(
        replayed.2["error_description"]
            .as_str()
            .unwrap()
            .contains("jti")
    );

    // Proofs that do not fit the request, each fresh otherwise.
    let claims = |change: &dyn Fn(&mut Value)| {
        let mut claims = key.claims(&idp, "GET", "/userinfo", Some(token));
        change(&mut claims);
        claims
    };
    let header = key.header();
    let mut with_private = header.clone();
    with_private["jwk"]["d"] = json!("c2VjcmV0");
    let hs256 =
        json!({ "typ": "dpop+jwt", "alg": "HS256", "jwk": { "kty": "oct", "k": "c2VjcmV0" } });
    let cases: Vec<(&str, String)> = vec![
        (
            "POST",
            key.sign(&header, &claims(&|c| c["htm"] = json!("POST"))),
        ),
        ("another URL", key.proof(&idp, "GET", "/token", Some(token))),
        (
            "another host",
            key.sign(
                &header,
                &claims(&|c| c["htu"] = json!("https://evil.example/userinfo")),
            ),
        ),
        (
            "wrong ath",
            key.sign(&header, &claims(&|c| c["ath"] = json!(ath("other")))),
        ),
        (
            "no ath",
            key.sign(
                &header,
                &claims(&|c| drop(c.as_object_mut().unwrap().remove("ath"))),
            ),
        ),
        ("private key", key.sign(&with_private, &claims(&|_| {}))),
        (
            "typ JWT",
            key.sign(
                &json!({ "typ": "JWT", "alg": "ES256", "jwk": key.jwk }),
                &claims(&|_| {}),
            ),
        ),
        ("HS256", key.sign(&hs256, &claims(&|_| {}))),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({ "typ": "dpop+jwt", "alg": "none", "jwk": key.jwk })),
                b64(&claims(&|_| {}))
            ),
        ),
    ];
    for (case, proof) in cases {
        let answer = userinfo(&idp, &dpop, Some(&proof)).await;
        assert_dpop_refusal(&answer, "invalid_dpop_proof", case);
    }

    // A proof made more than a minute ago (the server's clock moved on).
    let stale = key.proof(&idp, "GET", "/userinfo", Some(token));
    idp.clock.advance(61);
    let answer = userinfo(&idp, &dpop, Some(&stale)).await;
    assert_dpop_refusal(&answer, "invalid_dpop_proof", "stale iat");
    assert!(
        answer.2["error_description"]
            .as_str()
            .unwrap()
            .contains("iat")
    );
    let fresh = key.proof(&idp, "GET", "/userinfo", Some(token));
    let (status, _, body) = userinfo(&idp, &dpop, Some(&fresh)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn b64(value: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

#[tokio::test]
async fn introspection_and_revocation_know_bound_tokens() {
    let idp = start().await;
    let secret = idp
        .confidential_client_with("api", |c| c.metadata.resource_server = true)
        .await;
    let key = ProofKey::new();
    let tokens = bound_tokens(&idp, &key, "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    let auth = Some(("api", secret.as_str()));
    let (status, _, answer) = idp
        .post_as_client("/introspect", auth, &[("token", token)])
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "DPoP");
    assert_eq!(answer["cnf"], json!({ "jkt": key.jkt() }));

    // Revocation takes a proof, and refuses a bad one without revoking anything.
    let form = [("token", token), ("client_id", "app")];
    let wrong = key.proof(&idp, "POST", "/token", None);
    let (status, _, body) = post_with_proofs(&idp, "/revoke", None, &form, &[&wrong]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof");
    let proof = key.proof(&idp, "GET", "/userinfo", Some(token));
    let (status, _, _) = userinfo(&idp, &format!("DPoP {token}"), Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "not revoked by a refused request");
    let proof = key.proof(&idp, "POST", "/revoke", None);
    let (status, _, body) = post_with_proofs(&idp, "/revoke", None, &form, &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, answer) = idp
        .post_as_client("/introspect", auth, &[("token", token)])
        .await;
    assert_eq!(answer["active"], false);
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_key() {
    let idp = start().await;
    let key = ProofKey::new();
    let tokens = bound_tokens(&idp, &key, "openid offline_access").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", "app"),
    ];
    // Without a proof, or with another key's: refused, and the token stays good.
    let (status, _, body) = post_with_proofs(&idp, "/token", None, &form, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof");
    let thief = ProofKey::new().proof(&idp, "POST", "/token", None);
    let (status, _, body) = post_with_proofs(&idp, "/token", None, &form, &[&thief]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof");

    let proof = key.proof(&idp, "POST", "/token", None);
    let (status, _, refreshed) = post_with_proofs(&idp, "/token", None, &form, &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["token_type"], "DPoP");
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(access_claims(&idp, access)["cnf"]["jkt"], key.jkt());
    // The next refresh token is bound to the same key.
    let next = refreshed["refresh_token"].as_str().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", next),
        ("client_id", "app"),
    ];
    let (status, _, body) = post_with_proofs(&idp, "/token", None, &form, &[]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_dpop_proof"))
    );
    let proof = key.proof(&idp, "POST", "/token", None);
    let (status, _, body) = post_with_proofs(&idp, "/token", None, &form, &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_client_registered_for_bound_tokens_must_send_one_good_proof() {
    let idp = start().await;
    let secret = idp
        .confidential_client_with("batch", |c| c.metadata.dpop_bound_access_tokens = true)
        .await;
    let auth = Some(("batch", secret.as_str()));
    let form = [("grant_type", "client_credentials")];
    let (status, _, body) = post_with_proofs(&idp, "/token", auth, &form, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof");

    let key = ProofKey::new();
    let (one, two) = (
        key.proof(&idp, "POST", "/token", None),
        key.proof(&idp, "POST", "/token", None),
    );
    let (status, _, body) = post_with_proofs(&idp, "/token", auth, &form, &[&one, &two]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof");
    let elsewhere = key.proof(&idp, "POST", "/userinfo", None);
    let (status, _, body) = post_with_proofs(&idp, "/token", auth, &form, &[&elsewhere]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_dpop_proof"))
    );

    let (status, _, body) = post_with_proofs(&idp, "/token", auth, &form, &[&one]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(access_claims(&idp, token)["cnf"]["jkt"], key.jkt());

    // A client that is not registered for it may still use DPoP, or not.
    let other = idp.confidential_client("plain").await;
    let auth = Some(("plain", other.as_str()));
    let (status, _, body) = post_with_proofs(&idp, "/token", auth, &form, &[]).await;
    assert_eq!(
        (status, &body["token_type"]),
        (StatusCode::OK, &json!("Bearer"))
    );
    assert!(access_claims(&idp, body["access_token"].as_str().unwrap())["cnf"].is_null());

    // Discovery says which algorithms a proof may use.
    let (_, _, discovery) = idp
        .call(
            axum::http::Request::get("/.well-known/openid-configuration")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        discovery["dpop_signing_alg_values_supported"],
        json!(["ES256", "PS256", "EdDSA"])
    );
}

#[tokio::test]
async fn with_nonces_on_a_proof_must_carry_the_servers_nonce() {
    let idp = start_with(|s| s.dpop.nonces = true).await;
    let secret = idp.confidential_client("batch").await;
    let auth = Some(("batch", secret.as_str()));
    let form = [("grant_type", "client_credentials")];
    let key = ProofKey::new();
    let proof = key.proof(&idp, "POST", "/token", None);
    let (status, headers, body) = post_with_proofs(&idp, "/token", auth, &form, &[&proof]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "use_dpop_nonce");
    let nonce = headers["dpop-nonce"].to_str().unwrap().to_owned();

    let with_nonce = |nonce: &str| {
        let mut claims = key.claims(&idp, "POST", "/token", None);
        claims["nonce"] = json!(nonce);
        key.sign(&key.header(), &claims)
    };
    let (status, _, body) =
        post_with_proofs(&idp, "/token", auth, &form, &[&with_nonce(&nonce)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");

    // Still good in the next slot (where a token answer hands out the new one); not two slots
    // on, when UserInfo asks for a fresh one.
    idp.clock.advance(300);
    let (status, headers, body) =
        post_with_proofs(&idp, "/token", auth, &form, &[&with_nonce(&nonce)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let next = headers["dpop-nonce"].to_str().unwrap().to_owned();
    assert_ne!(next, nonce, "the new slot's nonce");
    idp.clock.advance(300);
    let mut claims = key.claims(&idp, "GET", "/userinfo", Some(&token));
    claims["nonce"] = json!(nonce);
    let stale = key.sign(&key.header(), &claims);
    let answer = userinfo(&idp, &format!("DPoP {token}"), Some(&stale)).await;
    assert_dpop_refusal(&answer, "use_dpop_nonce", "an old nonce");
    assert_ne!(answer.1["dpop-nonce"].to_str().unwrap(), nonce);
    // The nonce handed out a slot ago is still good (here at revocation, which checks a proof).
    let mut claims = key.claims(&idp, "POST", "/revoke", None);
    claims["nonce"] = json!(next);
    let proof = key.sign(&key.header(), &claims);
    let form = [("token", token.as_str())];
    let (status, _, body) = post_with_proofs(&idp, "/revoke", auth, &form, &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Two nodes with their own databases and one Redis: a proof one node took is refused at the
/// other (the replay cache is shared). Needs `IDP_TEST_REDIS_URL`.
#[tokio::test]
async fn a_proof_used_at_one_node_is_refused_at_another() {
    let Ok(redis) = std::env::var("IDP_TEST_REDIS_URL") else {
        eprintln!("skipped: IDP_TEST_REDIS_URL is not set");
        return;
    };
    let prefix = format!("dpop-{}:", idp_core::random::random_token(6));
    let node = || {
        let (redis, prefix) = (redis.clone(), prefix.clone());
        Idp::with(move |s| {
            s.redis_url = Some(redis);
            s.redis_key_prefix = prefix;
        })
    };
    let (first, second) = (node().await, node().await);
    let form = [("grant_type", "client_credentials")];
    let secret = first.confidential_client("batch").await;
    assert_eq!(second.confidential_client("batch").await, secret);
    let auth = Some(("batch", secret.as_str()));
    let key = ProofKey::new();
    let proof = key.proof(&first, "POST", "/token", None);
    let (status, _, body) = post_with_proofs(&first, "/token", auth, &form, &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = post_with_proofs(&second, "/token", auth, &form, &[&proof]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof");
    let fresh = key.proof(&second, "POST", "/token", None);
    let (status, _, body) = post_with_proofs(&second, "/token", auth, &form, &[&fresh]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_dead_token_with_the_dpop_scheme_gets_a_dpop_challenge() {
    let idp = start().await;
    let key = ProofKey::new();
    let tokens = bound_tokens(&idp, &key, "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    idp.clock.advance(601);
    let proof = key.proof(&idp, "GET", "/userinfo", Some(token));
    let answer = userinfo(&idp, &format!("DPoP {token}"), Some(&proof)).await;
    assert_dpop_refusal(&answer, "invalid_token", "expired");
    // An unbound token is not taken with the DPoP scheme.
    let secret = idp.confidential_client("plain").await;
    let form = [("grant_type", "client_credentials")];
    let auth = Some(("plain", secret.as_str()));
    let (_, _, body) = post_with_proofs(&idp, "/token", auth, &form, &[]).await;
    let plain = body["access_token"].as_str().unwrap();
    let proof = key.proof(&idp, "GET", "/userinfo", Some(plain));
    let answer = userinfo(&idp, &format!("DPoP {plain}"), Some(&proof)).await;
    assert_dpop_refusal(&answer, "invalid_token", "unbound");
}
