//! The FAPI 2.0 Security Profile (`idp_oauth::fapi`): a client registered for it, or every
//! client under `fapi2.all_clients`, must push its requests with PKCE and `redirect_uri`,
//! authenticate with `private_key_jwt` (PS256, ES256 or EdDSA, `aud` exactly the issuer), and
//! gets codes of at most 60 s and refresh tokens that do not rotate. Other clients go on as
//! before.

use axum::http::StatusCode;
use idp_core::model::TokenEndpointAuthMethod;
use serde_json::{Value, json};

use crate::page::param;
use crate::request_objects::TestKey;
use crate::support::dpop::{ProofKey, access_claims, post_with_proofs};
use crate::support::{Browser, Idp, Page, REDIRECT, VERIFIER, authorize};

pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A first-party client `id` under the profile (unless `fapi2` is false) that authenticates
/// with `private_key_jwt` using `keys`.
pub(crate) async fn key_client(idp: &Idp, id: &str, keys: &[&TestKey], fapi2: bool) {
    idp.confidential_client_with(id, |client| {
        client.secret_hash = None;
        client.token_endpoint_auth_method = TokenEndpointAuthMethod::PrivateKeyJwt;
        client.metadata.jwks = Some(TestKey::set(keys));
        client.metadata.fapi2_security_profile = fapi2;
    })
    .await;
}

/// A client assertion for `id` signed by `key`, naming `aud`.
pub(crate) fn assertion(idp: &Idp, id: &str, key: &TestKey, aud: Value) -> String {
    let jti = idp_core::random::random_token(12);
    let claims = json!({
        "iss": id, "sub": id, "aud": aud, "exp": idp.state.now() + 60, "jti": jti,
    });
    key.sign_typed(&claims, "JWT")
}

pub(crate) fn issuer(idp: &Idp) -> Value {
    Value::from(idp.state.issuer())
}

/// `form` posted to `path`, authenticated by an assertion for `id` that `key` signed for `aud`.
pub(crate) async fn post_signed(
    idp: &Idp,
    path: &str,
    (id, key, aud): (&str, &TestKey, Value),
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let proof = (path == "/token").then(|| ProofKey::new().proof(idp, "POST", "/token", None));
    post_signed_with(idp, path, (id, key, aud), form, proof.as_deref()).await
}

/// `post_signed` with the DPoP proof given (none when `None`); a token request carries one
/// otherwise, as the profile's tokens are sender-constrained.
pub(crate) async fn post_signed_with(
    idp: &Idp,
    path: &str,
    (id, key, aud): (&str, &TestKey, Value),
    form: &[(&str, &str)],
    proof: Option<&str>,
) -> (StatusCode, Value) {
    let assertion = assertion(idp, id, key, aud);
    let mut form = form.to_vec();
    form.push(("client_assertion_type", JWT_BEARER));
    form.push(("client_assertion", &assertion));
    let proofs: Vec<&str> = proof.into_iter().collect();
    let (status, _, body) = post_with_proofs(idp, path, None, &form, &proofs).await;
    (status, body)
}

/// The parameters of the authorization request `authorize` makes for `client_id` (PKCE,
/// `redirect_uri`, `offline_access`), changed by `extra`, without those named in `without`.
pub(crate) fn request_of(
    client_id: &str,
    extra: &[(&str, &str)],
    without: &[&str],
) -> Vec<(String, String)> {
    let mut extra = extra.to_vec();
    if !extra.iter().any(|(k, _)| *k == "scope") {
        extra.push(("scope", "openid email offline_access"));
    }
    let url = authorize(client_id, &extra);
    let query = url.split_once('?').unwrap().1;
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| !without.contains(&k.as_str()))
        .collect()
}

/// Pushes `pairs` (PAR) as `id`, authenticated with an assertion `key` signed for the issuer.
pub(crate) async fn push(
    idp: &Idp,
    id: &str,
    key: &TestKey,
    pairs: &[(String, String)],
) -> (StatusCode, Value) {
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post_signed(idp, "/par", (id, key, issuer(idp)), &form).await
}

pub(crate) fn authorize_uri(client_id: &str, request_uri: &str) -> String {
    let query =
        serde_urlencoded::to_string([("client_id", client_id), ("request_uri", request_uri)]);
    format!("/authorize?{}", query.unwrap())
}

/// Signs alice in through a pushed request of `id`; the redirect back to the client.
pub(crate) async fn signed_in_through_par(idp: &Idp, id: &str, key: &TestKey) -> Page {
    let (status, pushed) = push(idp, id, key, &request_of(id, &[], &[])).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    assert!(pushed["expires_in"].as_i64().unwrap() <= 600);
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let done = Browser::new(idp)
        .sign_in(&authorize_uri(id, request_uri), "alice")
        .await;
    assert!(done.gives_code(), "{done:?}");
    done
}

/// The code in `done` exchanged by `id` with an assertion `key` signed for `aud`.
pub(crate) async fn exchange_signed(
    idp: &Idp,
    done: &Page,
    (id, key, aud): (&str, &TestKey, Value),
) -> (StatusCode, Value) {
    let code = param(done.to(), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    post_signed(idp, "/token", (id, key, aud), &form).await
}

pub(crate) async fn fapi_idp(adjust: impl FnOnce(&mut idp_server::config::Settings)) -> Idp {
    let idp = Idp::with(|s| {
        s.new_device.enabled = false;
        adjust(s);
    })
    .await;
    idp.user("alice").await;
    idp
}

#[tokio::test]
async fn a_fapi_client_signs_in_through_par_and_its_refresh_token_does_not_rotate() {
    let idp = fapi_idp(|_| {}).await;
    let key = TestKey::new("PS256", "bank-ps");
    key_client(&idp, "bank", &[&key], true).await;
    let done = signed_in_through_par(&idp, "bank", &key).await;
    assert_eq!(
        param(done.to(), "iss").as_deref(),
        Some(idp.state.issuer()),
        "iss in the authorization response (RFC 9207)"
    );
    // The profile's tokens are sender-constrained: a code exchange without a DPoP proof is
    // refused (and the code stays good), one with a proof gets tokens bound to its key.
    let code = param(done.to(), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let client = ("bank", &key, issuer(&idp));
    let (status, refused) = post_signed_with(&idp, "/token", client.clone(), &form, None).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")),
        "{refused}"
    );
    let holder = ProofKey::new();
    let proof = holder.proof(&idp, "POST", "/token", None);
    let (status, tokens) = post_signed_with(&idp, "/token", client, &form, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(access_claims(&idp, access)["cnf"]["jkt"], holder.jkt());
    assert_eq!(idp.id_token_claims(&tokens)["aud"], "bank");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    for round in 0..2 {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let (status, refreshed) =
            post_signed(&idp, "/token", ("bank", &key, issuer(&idp)), &form).await;
        assert_eq!(status, StatusCode::OK, "round {round}: {refreshed}");
        assert_eq!(
            refreshed["refresh_token"],
            refresh.as_str(),
            "the same token back"
        );
        assert_ne!(refreshed["access_token"], tokens["access_token"]);
    }
    // Used again, it is still good: no replay, no revocation of the grant.
    let (status, introspected) = post_signed(
        &idp,
        "/introspect",
        ("bank", &key, issuer(&idp)),
        &[("token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, &introspected["active"]),
        (StatusCode::OK, &json!(true))
    );
}

#[tokio::test]
async fn a_fapi_client_must_push_with_pkce_redirect_uri_and_the_code_response_type() {
    let idp = fapi_idp(|s| s.protocol.implicit_and_hybrid = true).await;
    let key = TestKey::new("ES256", "bank-es");
    key_client(&idp, "bank", &[&key], true).await;
    key_client(&idp, "shop", &[&key], false).await;

    // Not pushed: refused at the redirect URI.
    let direct = Browser::new(&idp).get(&authorize("bank", &[])).await;
    assert_eq!(
        param(direct.to(), "error").as_deref(),
        Some("invalid_request"),
        "{direct:?}"
    );
    let refusals = [
        (
            request_of("bank", &[], &["code_challenge", "code_challenge_method"]),
            "invalid_request",
        ),
        (
            request_of("bank", &[], &["redirect_uri"]),
            "invalid_request",
        ),
        (
            request_of("bank", &[("response_type", "code id_token")], &[]),
            "unsupported_response_type",
        ),
    ];
    for (pairs, error) in &refusals {
        let (status, body) = push(&idp, "bank", &key, pairs).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(*error)),
            "{pairs:?}"
        );
    }

    // Another client keeps today's rules: direct requests, PKCE optional, hybrid allowed.
    let direct = Browser::new(&idp).get(&authorize("shop", &[])).await;
    assert!(param(direct.to(), "error").is_none(), "{direct:?}");
    for pairs in [
        request_of("shop", &[], &["code_challenge", "code_challenge_method"]),
        request_of("shop", &[("response_type", "code id_token")], &[]),
    ] {
        let (status, body) = push(&idp, "shop", &key, &pairs).await;
        assert_eq!(status, StatusCode::CREATED, "{pairs:?}: {body}");
    }
}

#[tokio::test]
async fn a_fapi_client_authenticates_only_with_ps256_es256_or_eddsa_assertions_for_the_issuer() {
    let idp = fapi_idp(|_| {}).await;
    let (es, rs, ed) = (
        TestKey::new("ES256", "es"),
        TestKey::new("RS256", "rs"),
        TestKey::new("EdDSA", "ed"),
    );
    key_client(&idp, "bank", &[&es, &rs, &ed], true).await;
    key_client(&idp, "shop", &[&es, &rs, &ed], false).await;
    let token_endpoint = Value::from(format!("{}/token", idp.state.issuer()));
    let grant = [("grant_type", "client_credentials")];
    let as_array = json!([idp.state.issuer()]);

    for (key, aud) in [(&es, issuer(&idp)), (&ed, issuer(&idp))] {
        let (status, body) = post_signed(&idp, "/token", ("bank", key, aud), &grant).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    for (what, key, aud) in [
        ("aud the token endpoint", &es, token_endpoint.clone()),
        ("aud an array", &es, as_array.clone()),
        ("RS256", &rs, issuer(&idp)),
    ] {
        let (status, body) = post_signed(&idp, "/token", ("bank", key, aud), &grant).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client")),
            "{what}: {body}"
        );
    }
    // The same at PAR: neither the PAR endpoint nor the token endpoint, alone or in an array.
    let pairs = request_of("bank", &[], &[]);
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let par_endpoint = format!("{}/par", idp.state.issuer());
    for aud in [
        Value::from(par_endpoint.as_str()),
        json!([par_endpoint]),
        token_endpoint.clone(),
    ] {
        let (status, body) = post_signed(&idp, "/par", ("bank", &es, aud.clone()), &form).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{aud}: {body}");
    }
    // Another client keeps RFC 7523's leniency.
    for (key, aud) in [(&es, token_endpoint), (&es, as_array), (&rs, issuer(&idp))] {
        let (status, body) = post_signed(&idp, "/token", ("shop", key, aud), &grant).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn a_fapi_clients_code_lives_at_most_60_seconds() {
    let idp = fapi_idp(|s| s.tokens.authorization_code_ttl = 300).await;
    let key = TestKey::new("ES256", "bank-es");
    key_client(&idp, "bank", &[&key], true).await;
    key_client(&idp, "shop", &[&key], false).await;
    let bank = signed_in_through_par(&idp, "bank", &key).await;
    let shop = signed_in_through_par(&idp, "shop", &key).await;
    idp.clock.advance(61);
    let (status, body) = exchange_signed(&idp, &bank, ("bank", &key, issuer(&idp))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = exchange_signed(&idp, &shop, ("shop", &key, issuer(&idp))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the setting's 300 s for others: {body}"
    );
}

#[tokio::test]
async fn registration_for_the_profile_asks_for_https_and_private_key_jwt() {
    let idp = Idp::with(|s| s.registration.require_initial_access_token = false).await;
    let key = TestKey::new("ES256", "k");
    let register = |extra: Value| {
        let mut body = json!({
            "redirect_uris": [REDIRECT], "fapi2_security_profile": true,
            "jwks": TestKey::set(&[&key]),
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let (status, client) = idp.post_json("/register", &register(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(client["fapi2_security_profile"], true);
    assert_eq!(client["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(client["require_pushed_authorization_requests"], true);
    assert!(client.get("client_secret").is_none());
    // Its ID tokens are never RS256 (FAPI 2.0 §5.4.1): ES256 when it names none.
    assert_eq!(client["id_token_signed_response_alg"], "ES256");
    let uri = client["registration_client_uri"].as_str().unwrap();
    let path = uri.strip_prefix(idp.state.issuer()).unwrap();
    let token = client["registration_access_token"].as_str().unwrap();
    let (status, read) = idp.json_request("GET", path, Some(token), None).await;
    assert_eq!(
        (status, &read["fapi2_security_profile"]),
        (StatusCode::OK, &json!(true))
    );

    for (extra, error) in [
        (
            json!({ "redirect_uris": ["http://127.0.0.1:9000/cb"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "token_endpoint_auth_method": "client_secret_basic" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "token_endpoint_auth_method": "none" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "id_token_signed_response_alg": "RS256" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "userinfo_signed_response_alg": "RS256" }),
            "invalid_client_metadata",
        ),
    ] {
        let (status, body) = idp.post_json("/register", &register(extra.clone())).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(error)),
            "{extra}"
        );
    }
    // Without the flag, the same http loopback URI and secret are fine.
    let (status, body) = idp
        .post_json(
            "/register",
            &json!({ "redirect_uris": ["http://127.0.0.1:9000/cb"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["fapi2_security_profile"], false);
}

#[tokio::test]
async fn a_fapi_client_that_presents_a_secret_is_refused() {
    let idp = fapi_idp(|s| s.fapi2.all_clients = true).await;
    let secret = idp.confidential_client("portal").await;
    let grant = [("grant_type", "client_credentials")];
    let (status, _, body) = idp
        .post_as_client("/token", Some(("portal", &secret)), &grant)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{body}"
    );
    let pushed = request_of("portal", &[], &[]);
    let form: Vec<(&str, &str)> = pushed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, _, _) = idp
        .post_as_client("/par", Some(("portal", &secret)), &form)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "nor at PAR");
}

#[tokio::test]
async fn all_clients_puts_every_client_under_the_profile_and_discovery_says_so() {
    let before = fapi_idp(|_| {}).await;
    let (_, _, document) = before
        .call(
            axum::http::Request::get("/.well-known/openid-configuration")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(document["require_pushed_authorization_requests"], false);
    let methods = document["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("client_secret_basic")));

    let idp = fapi_idp(|s| {
        s.fapi2.all_clients = true;
        s.protocol.implicit_and_hybrid = true;
        s.registration.require_initial_access_token = false;
    })
    .await;
    let (_, _, document) = idp
        .call(
            axum::http::Request::get("/.well-known/openid-configuration")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(document["require_pushed_authorization_requests"], true);
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    assert_eq!(
        document["introspection_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    let algs = document["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    let mut algs: Vec<&str> = algs.iter().filter_map(Value::as_str).collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "EdDSA", "PS256"], "never RS256 or ES384");
    assert_eq!(document["response_types_supported"], json!(["code"]));
    assert_eq!(
        document["code_challenge_methods_supported"],
        json!(["S256"])
    );

    // A client registered without the flag is under the profile all the same, and told so.
    let (status, registered) = idp
        .post_json(
            "/register",
            &json!({ "redirect_uris": [REDIRECT], "jwks": TestKey::set(&[&TestKey::new("ES256", "r")]) }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["fapi2_security_profile"], false);
    assert_eq!(registered["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(registered["require_pushed_authorization_requests"], true);
    let key = TestKey::new("ES256", "k");
    key_client(&idp, "shop", &[&key], false).await;
    let direct = Browser::new(&idp).get(&authorize("shop", &[])).await;
    assert_eq!(
        param(direct.to(), "error").as_deref(),
        Some("invalid_request")
    );
    let (status, body) = push(
        &idp,
        "shop",
        &key,
        &request_of("shop", &[("response_type", "code id_token")], &[]),
    )
    .await;
    assert_eq!(body["error"], "unsupported_response_type", "{status}");
    // A redirect URI registered before the setting was turned on must now be https.
    let loopback = "http://127.0.0.1:9000/cb";
    idp.confidential_client_with("local", |client| {
        client.secret_hash = None;
        client.token_endpoint_auth_method = TokenEndpointAuthMethod::PrivateKeyJwt;
        client.metadata.jwks = Some(TestKey::set(&[&key]));
        client.redirect_uris = vec![loopback.to_owned()];
    })
    .await;
    let pairs = request_of("local", &[("redirect_uri", loopback)], &[]);
    let (status, body) = push(&idp, "local", &key, &pairs).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{body}"
    );
    let done = signed_in_through_par(&idp, "shop", &key).await;
    let token_endpoint = Value::from(format!("{}/token", idp.state.issuer()));
    let (status, _) = exchange_signed(&idp, &done, ("shop", &key, token_endpoint)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_fapi_clients_request_objects_must_be_signed() {
    let idp = fapi_idp(|s| s.protocol.unsigned_request_objects = true).await;
    let key = TestKey::new("ES256", "k");
    key_client(&idp, "bank", &[&key], true).await;
    key_client(&idp, "shop", &[&key], false).await;
    let unsigned = |id: &str| {
        let mut claims: serde_json::Map<String, Value> = request_of(id, &[], &[])
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect();
        claims.insert("iss".into(), Value::from(id));
        claims.insert("aud".into(), issuer(&idp));
        claims.insert("exp".into(), Value::from(idp.state.now() + 60));
        let part = |v: &Value| {
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                serde_json::to_vec(v).unwrap(),
            )
        };
        let request = format!(
            "{}.{}.",
            part(&json!({ "alg": "none" })),
            part(&Value::Object(claims))
        );
        vec![
            ("client_id".to_owned(), id.to_owned()),
            ("request".to_owned(), request),
        ]
    };
    let (status, body) = push(&idp, "bank", &key, &unsigned("bank")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request_object")),
        "{body}"
    );
    let (status, body) = push(&idp, "shop", &key, &unsigned("shop")).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the setting holds for others: {body}"
    );
}

#[tokio::test]
async fn the_cli_creates_fapi_clients_only_with_https_and_private_key_jwt() {
    let idp = fapi_idp(|_| {}).await;
    let key = TestKey::new("ES256", "k");
    let jwks = TestKey::set(&[&key]).to_string();
    let links = idp_server::cli::LinkArgs::default();
    let create_with =
        |redirect: &'static str, auth_method: &'static str, userinfo_alg: Option<&'static str>| {
            let redirect_uris = vec![redirect.to_owned()];
            let (state, links, jwks) = (&idp.state, &links, &jwks);
            async move {
                let person = idp_server::cli_person::ClientPersonArgs {
                    userinfo_alg: userinfo_alg.map(str::to_owned),
                    ..Default::default()
                };
                let person = &person;
                let new = idp_server::cli::NewClient {
                    name: "Bank",
                    redirect_uris: &redirect_uris,
                    post_logout_redirect_uris: &[],
                    backchannel_logout_uri: None,
                    public: false,
                    admin: false,
                    third_party: false,
                    resource_server: false,
                    auth_method,
                    id_token_alg: "ES256",
                    person,
                    jwks: Some(jwks),
                    jwks_uri: None,
                    request_uris: &[],
                    links,
                    fapi2: true,
                    owner: None,
                };
                idp_server::cli::create_client(state, new).await
            }
        };
    let create = |redirect, auth_method| create_with(redirect, auth_method, None);
    let created = create(REDIRECT, "private_key_jwt").await.unwrap();
    assert_eq!(created["fapi2_security_profile"], true);
    let id = created["client_id"].as_str().unwrap();
    let stored = idp
        .state
        .stores
        .clients
        .find_client(id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.metadata.fapi2_security_profile);
    assert!(
        create("http://127.0.0.1:9000/cb", "private_key_jwt")
            .await
            .is_err()
    );
    assert!(create(REDIRECT, "client_secret_basic").await.is_err());
    // Nothing the provider signs for it is RS256, UserInfo included.
    let refused = create_with(REDIRECT, "private_key_jwt", Some("RS256")).await;
    assert!(refused.unwrap_err().0.contains("RS256"));
    assert!(
        create_with(REDIRECT, "private_key_jwt", Some("ES256"))
            .await
            .is_ok()
    );
}
