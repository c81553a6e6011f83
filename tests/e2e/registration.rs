//! Dynamic client registration (RFC 7591) and management (RFC 7592), over HTTP.

use openidconnect::core::CoreJwsSigningAlgorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn initial_token(idp: &TestIdp) -> String {
    let out = idp.cli(&["registration-token", "create", "--expires-in", "1h"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["initial_access_token"].as_str().unwrap().to_owned()
}

async fn register(idp: &TestIdp, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/register", idp.issuer))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_developer_registers_a_client_and_signs_a_user_in_with_it() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let metadata = json!({ "client_name": "Budget App", "redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"] });
    let (status, _) = register(&idp, None, &metadata).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an initial access token is required"
    );
    let (status, _) = register(&idp, Some("made up"), &metadata).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(idp.count("clients", "TRUE").await, 0);

    let token = initial_token(&idp);
    let (status, client) = register(&idp, Some(&token), &metadata).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(client["client_name"], "Budget App");
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(
        client["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert!(client["registration_access_token"].as_str().is_some());
    assert_eq!(
        client["registration_client_uri"],
        format!(
            "{}/register/{}",
            idp.issuer,
            client["client_id"].as_str().unwrap()
        )
    );
    let (status, _) = register(&idp, Some(&token), &metadata).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an initial access token works once"
    );

    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let mut start = rp.start(&[], &[], true);
    let login = browser.open(&start.url).await;
    let consent = browser.sign_in(&login, "alice", PASSWORD, PIN).await;
    assert!(
        consent.is("consent"),
        "a registered client is third-party: {}",
        consent.body
    );
    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    let code = param(&done.location.unwrap(), "code").unwrap();
    let tokens = rp.exchange(&code, start.verifier.take()).await.unwrap();
    rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
}

#[tokio::test]
async fn bad_metadata_is_refused_and_nothing_is_stored() {
    let idp = TestIdp::start().await;
    let cases = [
        (json!({}), "invalid_redirect_uri"),
        (
            json!({ "redirect_uris": ["http://rp.example/cb"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": ["https://rp.example/cb#x"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "grant_types": ["password"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "unknown" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "id_token_signed_response_alg": "HS256" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": "not a list" }),
            "invalid_client_metadata",
        ),
    ];
    for (body, code) in cases {
        let (status, answer) = register(&idp, Some(&initial_token(&idp)), &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{body}"
        );
    }
    assert_eq!(idp.count("clients", "TRUE").await, 0);
}

#[tokio::test]
async fn the_registration_access_token_reads_updates_and_deletes_the_client() {
    let idp = TestIdp::start().await;
    let (_, client) = register(
        &idp,
        Some(&initial_token(&idp)),
        &json!({ "redirect_uris": [REDIRECT] }),
    )
    .await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    let rat = client["registration_access_token"].as_str().unwrap();
    let uri = client["registration_client_uri"].as_str().unwrap();
    let http = reqwest::Client::new();

    let read: Value = http
        .get(uri)
        .bearer_auth(rat)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["redirect_uris"], json!([REDIRECT]));
    assert_eq!(
        http.get(uri)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        http.get(uri).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let new_redirect = "http://127.0.0.1:9/new";
    let updated = http
        .put(uri)
        .bearer_auth(rat)
        .json(
            &json!({ "client_id": id, "client_name": "Renamed", "redirect_uris": [new_redirect] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(
        (
            updated["client_name"].as_str(),
            updated["redirect_uris"][0].as_str()
        ),
        (Some("Renamed"), Some(new_redirect))
    );
    let mismatched = http
        .put(uri)
        .bearer_auth(rat)
        .json(&json!({ "client_id": "other", "redirect_uris": [REDIRECT] }))
        .send()
        .await
        .unwrap();
    assert_eq!(mismatched.status(), StatusCode::BAD_REQUEST);
    // The secret still works after the update.
    let token = http
        .post(format!("{}/token", idp.issuer))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    let body: Value = token.json().await.unwrap();
    assert_eq!(
        body["error"], "invalid_grant",
        "authenticated, only the code is bad"
    );

    assert_eq!(
        http.delete(uri)
            .bearer_auth(rat)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        http.get(uri)
            .bearer_auth(rat)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let token = http
        .post(format!("{}/token", idp.issuer))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        token.status(),
        StatusCode::UNAUTHORIZED,
        "a deleted client is unknown"
    );
}

#[tokio::test]
async fn a_client_uses_only_its_registered_grant_types() {
    let idp =
        TestIdp::start_with(&[("IDP_REGISTRATION__REQUIRE_INITIAL_ACCESS_TOKEN", "false")]).await;
    let (status, client) = register(
        &idp,
        None,
        &json!({ "grant_types": ["client_credentials"] }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "open registration when the operator allows it: {client}"
    );
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    let http = reqwest::Client::new();
    let ok = http
        .post(format!("{}/token", idp.issuer))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let refused: Value = http
        .post(format!("{}/token", idp.issuer))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"], "unauthorized_client");
}

#[tokio::test]
async fn a_grant_type_the_server_does_not_know_is_unsupported_for_every_client() {
    // RFC 6749 §5.2: `unsupported_grant_type` for a grant type the server does not support,
    // `unauthorized_client` for one it supports but the client was not registered for.
    let idp =
        TestIdp::start_with(&[("IDP_REGISTRATION__REQUIRE_INITIAL_ACCESS_TOKEN", "false")]).await;
    let (status, registered) = register(
        &idp,
        None,
        &json!({ "grant_types": ["client_credentials"] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let created = idp.create_client(&["--name", "Portal", "--redirect-uri", REDIRECT]);
    let http = reqwest::Client::new();
    for client in [&registered, &created] {
        let id = client["client_id"].as_str().unwrap();
        let secret = client["client_secret"].as_str().unwrap();
        for grant_type in ["password", "urn:ietf:params:oauth:grant-type:device_code"] {
            let response = http
                .post(format!("{}/token", idp.issuer))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", grant_type)])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{grant_type:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["error"], "unsupported_grant_type",
                "{grant_type:?} for {client}"
            );
        }
    }
    let refused: Value = http
        .post(format!("{}/token", idp.issuer))
        .basic_auth(
            registered["client_id"].as_str().unwrap(),
            registered["client_secret"].as_str(),
        )
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        refused["error"], "unauthorized_client",
        "supported, not registered"
    );
}

/// A client key pair: the JWKS to register and a signer for assertions.
fn client_keys() -> idp_token_issuer::KeySet {
    use idp_core::model::SigningAlg;
    use idp_token_issuer::{KeySet, SigningKey};
    let der = SigningKey::generate(SigningAlg::ES256).unwrap();
    KeySet::new(vec![
        SigningKey::from_pkcs8(SigningAlg::ES256, &der).unwrap(),
    ])
}

fn assertion(keys: &idp_token_issuer::KeySet, client_id: &str, aud: &str, jti: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = json!({ "iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 120, "jti": jti });
    keys.sign(idp_core::model::SigningAlg::ES256, "JWT", &claims)
        .unwrap()
}

#[tokio::test]
async fn a_client_authenticates_with_a_signed_assertion_once() {
    let idp = TestIdp::start().await;
    let keys = client_keys();
    let jwks = serde_json::to_value(keys.jwks()).unwrap();
    let (status, answer) = register(&idp, Some(&initial_token(&idp)), &json!({ "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt" })).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client_metadata")),
        "keys are needed"
    );
    let (status, client) = register(
        &idp,
        Some(&initial_token(&idp)),
        &json!({ "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert!(
        client.get("client_secret").is_none(),
        "no secret for private_key_jwt"
    );
    let id = client["client_id"].as_str().unwrap();
    let token_endpoint = format!("{}/token", idp.issuer);
    let post = |assertion: String| {
        let url = token_endpoint.clone();
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let first = assertion(&keys, id, &token_endpoint, "jti-1");
    let (status, body) = post(first.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post(first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "replayed"
    );
    let (status, _) = post(assertion(&keys, id, &idp.issuer, "jti-2")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the issuer is an accepted audience too"
    );
    let (status, _) = post(assertion(
        &keys,
        id,
        "https://elsewhere.example/token",
        "jti-3",
    ))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong audience");
    let (status, _) = post(assertion(&client_keys(), id, &token_endpoint, "jti-4")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a key the client did not register"
    );
    let basic = reqwest::Client::new()
        .post(&token_endpoint)
        .basic_auth(id, Some("guess"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        basic.status(),
        StatusCode::UNAUTHORIZED,
        "only the registered method"
    );
}

#[tokio::test]
async fn a_disabled_client_cannot_enable_itself_through_registration() {
    let idp = TestIdp::start().await;
    let (_, client) = register(
        &idp,
        Some(&initial_token(&idp)),
        &json!({ "redirect_uris": [REDIRECT], "grant_types": ["client_credentials"] }),
    )
    .await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    let rat = client["registration_access_token"].as_str().unwrap();
    let uri = client["registration_client_uri"].as_str().unwrap();
    let http = reqwest::Client::new();
    let token = |id: String, secret: String| {
        let http = http.clone();
        let url = format!("{}/token", idp.issuer);
        async move {
            http.post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Used once, so this node has the client in its cache when it is disabled.
    assert_eq!(token(id.into(), secret.into()).await, StatusCode::OK);

    let admin = idp.create_client(&["--name", "Ops", "--redirect-uri", REDIRECT, "--admin"]);
    let admin_token = client_token(&idp.issuer, &admin, "admin").await;
    let disabled = http
        .post(format!("{}/admin/clients/{id}/disable", idp.issuer))
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::OK);

    // Its owner tries to carry on through RFC 7592: refused, and it stays disabled.
    let update = http
        .put(uri)
        .bearer_auth(rat)
        .json(&json!({ "client_id": id, "client_name": "Back", "redirect_uris": [REDIRECT] }))
        .send()
        .await
        .unwrap();
    assert_eq!(update.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        token(id.into(), secret.into()).await,
        StatusCode::UNAUTHORIZED,
        "a disabled client gets no token"
    );
}
