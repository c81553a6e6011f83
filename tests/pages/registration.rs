//! Dynamic client registration (RFC 7591) and management (RFC 7592).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{Browser, Idp, REDIRECT, authorize, exchange_code};

/// An initial access token, as `idp registration-token create` makes one.
async fn initial_token(idp: &Idp) -> String {
    let made = idp_server::cli::create_registration_token(&idp.state, "1h", 1)
        .await
        .unwrap();
    made["initial_access_token"].as_str().unwrap().to_owned()
}

async fn register(idp: &Idp, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
    idp.json_request("POST", "/register", token, Some(body))
        .await
}

/// The path of a registered client's `registration_client_uri`.
fn management_path(idp: &Idp, client: &Value) -> String {
    let uri = client["registration_client_uri"].as_str().unwrap();
    uri.strip_prefix(idp.state.issuer()).unwrap().to_owned()
}

/// What the token endpoint answers `form` from the client `id` with `secret` (HTTP Basic).
async fn token(idp: &Idp, id: &str, secret: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let (status, _, body) = idp.post_as_client("/token", Some((id, secret)), form).await;
    (status, body)
}

#[tokio::test]
async fn a_developer_registers_a_client_and_signs_a_user_in_with_it() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.user("alice").await;
    let metadata = json!({ "client_name": "Budget App", "redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"] });
    let (status, _) = register(&idp, None, &metadata).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an initial access token is required"
    );
    let (status, _) = register(&idp, Some("made up"), &metadata).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(idp.count("clients", "TRUE"), 0);

    let initial = initial_token(&idp).await;
    let (status, client) = register(&idp, Some(&initial), &metadata).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(client["client_name"], "Budget App");
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(
        client["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert!(client["registration_access_token"].as_str().is_some());
    let id = client["client_id"].as_str().unwrap();
    assert_eq!(management_path(&idp, &client), format!("/register/{id}"));
    let (status, _) = register(&idp, Some(&initial), &metadata).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an initial access token works once"
    );

    let mut browser = Browser::new(&idp);
    let signed_in = browser.sign_in(&authorize(id, &[]), "alice").await;
    let consent = browser.follow(signed_in).await;
    assert!(
        consent.is("consent"),
        "a registered client is third-party: {}",
        consent.body
    );
    let done = browser.submit(&consent, &[("decision", "allow")]).await;
    let secret = client["client_secret"].as_str().unwrap();
    let (status, tokens) = exchange_code(&idp, Some((id, secret)), &done).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(idp.id_token_claims(&tokens)["aud"], id);
}

#[tokio::test]
async fn bad_metadata_is_refused_and_nothing_is_stored() {
    let idp = Idp::start().await;
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
        let initial = initial_token(&idp).await;
        let (status, answer) = register(&idp, Some(&initial), &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{body}"
        );
    }
    assert_eq!(idp.count("clients", "TRUE"), 0);
}

#[tokio::test]
async fn the_registration_access_token_reads_updates_and_deletes_the_client() {
    let idp = Idp::start().await;
    let initial = initial_token(&idp).await;
    let (_, client) = register(
        &idp,
        Some(&initial),
        &json!({ "redirect_uris": [REDIRECT] }),
    )
    .await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    let rat = client["registration_access_token"].as_str().unwrap();
    let path = management_path(&idp, &client);

    let (status, read) = idp.json_request("GET", &path, Some(rat), None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["redirect_uris"], json!([REDIRECT]));
    for bearer in [Some("wrong"), None] {
        let (status, _) = idp.json_request("GET", &path, bearer, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bearer:?}");
    }

    let new_redirect = "https://rp.example/new";
    let (status, updated) = idp
        .json_request(
            "PUT",
            &path,
            Some(rat),
            Some(&json!({ "client_id": id, "client_name": "Renamed", "redirect_uris": [new_redirect] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        (
            updated["client_name"].as_str(),
            updated["redirect_uris"][0].as_str()
        ),
        (Some("Renamed"), Some(new_redirect))
    );
    let (status, _) = idp
        .json_request(
            "PUT",
            &path,
            Some(rat),
            Some(&json!({ "client_id": "other", "redirect_uris": [REDIRECT] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The secret still works after the update.
    let form = [("grant_type", "authorization_code"), ("code", "x")];
    let (_, body) = token(&idp, id, secret, &form).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "authenticated, only the code is bad"
    );

    let (status, _) = idp.json_request("DELETE", &path, Some(rat), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = idp.json_request("GET", &path, Some(rat), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = token(&idp, id, secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deleted client is unknown"
    );
}

#[tokio::test]
async fn a_client_uses_only_its_registered_grant_types() {
    let idp = Idp::with(|s| s.registration.require_initial_access_token = false).await;
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
    let (status, _) = token(&idp, id, secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK);
    let form = [("grant_type", "authorization_code"), ("code", "x")];
    let (_, refused) = token(&idp, id, secret, &form).await;
    assert_eq!(refused["error"], "unauthorized_client");
}

#[tokio::test]
async fn a_grant_type_the_server_does_not_know_is_unsupported_for_every_client() {
    // RFC 6749 §5.2: `unsupported_grant_type` for a grant type the server does not support,
    // `unauthorized_client` for one it supports but the client was not registered for.
    let idp = Idp::with(|s| s.registration.require_initial_access_token = false).await;
    let (status, registered) = register(
        &idp,
        None,
        &json!({ "grant_types": ["client_credentials"] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let registered = (
        registered["client_id"].as_str().unwrap().to_owned(),
        registered["client_secret"].as_str().unwrap().to_owned(),
    );
    let created = ("portal".to_owned(), idp.confidential_client("portal").await);
    for (id, secret) in [&registered, &created] {
        for grant_type in ["password", "urn:ietf:params:oauth:grant-type:device_code"] {
            let (status, body) = token(&idp, id, secret, &[("grant_type", grant_type)]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{grant_type:?}");
            assert_eq!(
                body["error"], "unsupported_grant_type",
                "{grant_type:?} for {id}"
            );
        }
    }
    let form = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    let (_, refused) = token(&idp, &registered.0, &registered.1, &form).await;
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

/// A client assertion (RFC 7523) made now on the provider's clock.
fn assertion(
    idp: &Idp,
    keys: &idp_token_issuer::KeySet,
    client_id: &str,
    aud: &str,
    jti: &str,
) -> String {
    let now = idp.state.now();
    let claims = json!({ "iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 120, "jti": jti });
    keys.sign(idp_core::model::SigningAlg::ES256, "JWT", &claims)
        .unwrap()
}

#[tokio::test]
async fn a_client_authenticates_with_a_signed_assertion_once() {
    let idp = Idp::start().await;
    let keys = client_keys();
    let jwks = serde_json::to_value(keys.jwks()).unwrap();
    let initial = initial_token(&idp).await;
    let (status, answer) = register(
        &idp,
        Some(&initial),
        &json!({ "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt" }),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client_metadata")),
        "keys are needed"
    );
    let initial = initial_token(&idp).await;
    let (status, client) = register(
        &idp,
        Some(&initial),
        &json!({ "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert!(
        client.get("client_secret").is_none(),
        "no secret for private_key_jwt"
    );
    let id = client["client_id"].as_str().unwrap();
    let issuer = idp.state.issuer().to_owned();
    let token_endpoint = format!("{issuer}/token");
    let post = |assertion: String| {
        let idp = &idp;
        async move {
            let form = [
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ];
            let (status, _, body) = idp.post_as_client("/token", None, &form).await;
            (status, body)
        }
    };
    let first = assertion(&idp, &keys, id, &token_endpoint, "jti-1");
    let (status, body) = post(first.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post(first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "replayed"
    );
    let (status, _) = post(assertion(&idp, &keys, id, &issuer, "jti-2")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the issuer is an accepted audience too"
    );
    let elsewhere = "https://elsewhere.example/token";
    let (status, _) = post(assertion(&idp, &keys, id, elsewhere, "jti-3")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong audience");
    let stranger = client_keys();
    let (status, _) = post(assertion(&idp, &stranger, id, &token_endpoint, "jti-4")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a key the client did not register"
    );
    let (status, _) = token(&idp, id, "guess", &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "only the registered method"
    );
}

#[tokio::test]
async fn a_disabled_client_cannot_enable_itself_through_registration() {
    let idp = Idp::start().await;
    let initial = initial_token(&idp).await;
    let (_, client) = register(
        &idp,
        Some(&initial),
        &json!({ "redirect_uris": [REDIRECT], "grant_types": ["client_credentials"] }),
    )
    .await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    let rat = client["registration_access_token"].as_str().unwrap();
    let path = management_path(&idp, &client);
    let credentials = [("grant_type", "client_credentials")];
    // Used once, so the client is in the provider's cache when it is disabled.
    assert_eq!(
        token(&idp, id, secret, &credentials).await.0,
        StatusCode::OK
    );

    let admin_secret = idp
        .confidential_client_with("ops", |client| client.admin = true)
        .await;
    let form = [("grant_type", "client_credentials"), ("scope", "admin")];
    let (status, admin) = token(&idp, "ops", &admin_secret, &form).await;
    assert_eq!(status, StatusCode::OK, "{admin}");
    let admin_token = admin["access_token"].as_str().unwrap();
    let (status, _) = idp
        .json_request(
            "POST",
            &format!("/admin/clients/{id}/disable"),
            Some(admin_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Its owner tries to carry on through RFC 7592: refused, and it stays disabled.
    let back = json!({ "client_id": id, "client_name": "Back", "redirect_uris": [REDIRECT] });
    let (status, _) = idp.json_request("PUT", &path, Some(rat), Some(&back)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        token(&idp, id, secret, &credentials).await.0,
        StatusCode::UNAUTHORIZED,
        "a disabled client gets no token"
    );
}
