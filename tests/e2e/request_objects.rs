//! A relying party on the `openidconnect` crate that signs its requests: the authorization
//! request as a request object at a URL of its own (RFC 9101 `request_uri`), and its client
//! authentication with `private_key_jwt`, both with a key it publishes at its `jwks_uri`.

use std::sync::{Arc, Mutex};

use idp_core::model::SigningAlg;
use idp_token_issuer::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{AuthorizationCode, TokenResponse as _};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn a_relying_party_signs_its_request_object_and_its_client_assertion() {
    let idp = TestIdp::start().await;
    let der = SigningKey::generate(SigningAlg::ES256).unwrap();
    let key = EncodingKey::from_ec_der(&der);
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("rp-key".into());
    let jwks = json!({ "keys": [jwk] }).to_string();
    let sign = |claims: &serde_json::Value, typ: &str| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("rp-key".into());
        header.typ = Some(typ.into());
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    };

    // The relying party's own server: its keys and, once made, its request object.
    let object = Arc::new(Mutex::new(String::new()));
    let served = object.clone();
    let router = axum::Router::new()
        .route("/jwks", axum::routing::get(move || async move { jwks }))
        .route(
            "/request.jwt",
            axum::routing::get(move || {
                let body = served.lock().unwrap().clone();
                async move { ([("content-type", "application/oauth-authz-req+jwt")], body) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let client = idp.create_client(&[
        "--name",
        "Signed Portal",
        "--redirect-uri",
        REDIRECT,
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-uri",
        &format!("{base}/jwks"),
        "--request-uri",
        &format!("{base}/request.jwt"),
    ]);
    assert!(client["client_secret"].is_null(), "{client}");
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let sub = idp.create_user("alice");
    let rp = RelyingParty::discover(&idp, &client_id, None, REDIRECT).await;

    let request_uri = format!("{base}/request.jwt");
    let mut start = rp.start(&["email"], &[("request_uri", &request_uri)], true);
    let challenge = param(&start.url, "code_challenge").unwrap();
    *object.lock().unwrap() = sign(
        &json!({
            "iss": client_id, "aud": idp.issuer, "exp": now() + 300,
            "client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT,
            "scope": "openid email", "state": start.state.secret(),
            "nonce": start.nonce.secret(), "code_challenge": challenge,
            "code_challenge_method": "S256",
        }),
        "oauth-authz-req+jwt",
    );

    let browser = Browser::new(&idp);
    let login = browser.open(&start.url).await;
    let done = browser.sign_in(&login, "alice", PASSWORD, PIN).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.location.expect("back to the relying party");
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(start.state.secret().as_str())
    );
    let code = param(&location, "code").expect("a code");

    let assertion = sign(
        &json!({
            "iss": client_id, "sub": client_id, "aud": format!("{}/token", idp.issuer),
            "exp": now() + 60, "jti": "assertion-1",
        }),
        "JWT",
    );
    let tokens = rp
        .client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(start.verifier.take().unwrap())
        .add_extra_param(
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        )
        .add_extra_param("client_assertion", assertion)
        .request_async(&rp.http)
        .await
        .expect("code exchange with private_key_jwt");
    assert!(tokens.id_token().is_some());
    let claims = rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    assert_eq!(claims.subject().as_str(), sub);
}

#[tokio::test]
async fn client_create_takes_the_keys_by_value_or_at_a_url() {
    let idp = TestIdp::start().await;
    let der = SigningKey::generate(SigningAlg::EdDSA).unwrap();
    let jwk = Jwk::from_encoding_key(&EncodingKey::from_ed_der(&der), Algorithm::EdDSA).unwrap();
    let jwks = json!({ "keys": [jwk] }).to_string();
    let base = ["--name", "Keys", "--redirect-uri", REDIRECT];
    let with = |extra: &[&str]| {
        let mut args = vec!["client", "create"];
        args.extend_from_slice(&base);
        args.extend_from_slice(&["--token-endpoint-auth-method", "private_key_jwt"]);
        args.extend_from_slice(extra);
        idp.cli(&args, "")
    };
    let made = with(&["--jwks", &jwks]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(made["token_endpoint_auth_method"], "private_key_jwt");
    assert!(made["client_secret"].is_null());
    for (refused, says) in [
        (vec![], "--jwks or --jwks-uri"),
        (vec!["--jwks", "{\"keys\":[]}"], "at least one key"),
        (vec!["--jwks-uri", "ftp://rp.example/jwks"], "--jwks-uri"),
        (
            vec!["--jwks", &jwks, "--jwks-uri", "https://rp.example/jwks"],
            "cannot be used with",
        ),
    ] {
        let out = with(&refused);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{refused:?}");
        assert!(stderr.contains(says), "{refused:?}: {stderr}");
    }
}
