//! Request objects (RFC 9101, OpenID Connect Core §6): the request's parameters in a JWT the
//! client signed, by value (`request`), at a URL (`request_uri`) or pushed (RFC 9126).

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use idp_core::model::SigningAlg;
use idp_token_issuer::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::page::param;
use crate::support::{Browser, Idp, REDIRECT, VERIFIER, exchange_code};

/// A key pair a relying party made, and its public half as a JWK.
pub struct TestKey {
    alg: Algorithm,
    pub kid: String,
    encoding: EncodingKey,
    pub jwk: Jwk,
}

impl TestKey {
    /// A new key for `alg` (`ES256`, `RS256`, `PS256` or `EdDSA`) named `kid`.
    pub fn new(alg: &str, kid: &str) -> Self {
        let (alg, der) = match alg {
            "ES256" => (Algorithm::ES256, SigningKey::generate(SigningAlg::ES256)),
            "RS256" => (Algorithm::RS256, SigningKey::generate(SigningAlg::RS256)),
            "PS256" => (Algorithm::PS256, SigningKey::generate(SigningAlg::RS256)),
            _ => (Algorithm::EdDSA, SigningKey::generate(SigningAlg::EdDSA)),
        };
        let der = der.unwrap();
        let encoding = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_der(&der),
            Algorithm::EdDSA => EncodingKey::from_ed_der(&der),
            // jsonwebtoken takes an RSA key as PKCS#8 in PEM.
            _ => {
                let body = STANDARD.encode(&der);
                let lines: Vec<&str> = body
                    .as_bytes()
                    .chunks(64)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect();
                let pem = format!(
                    "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                    lines.join("\n")
                );
                EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
            }
        };
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            alg,
            kid: kid.to_owned(),
            encoding,
            jwk,
        }
    }

    /// A JWK Set of these keys.
    pub fn set(keys: &[&TestKey]) -> Value {
        json!({ "keys": keys.iter().map(|k| &k.jwk).collect::<Vec<_>>() })
    }

    /// `claims` signed with this key, its `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_typed(claims, "oauth-authz-req+jwt")
    }

    /// `claims` signed with this key, the header's `typ` as given.
    pub fn sign_typed(&self, claims: &Value, typ: &str) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// `claims` as an unsigned JWT (`alg: none`).
fn unsigned(claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!("{}.{}.", part(&json!({ "alg": "none" })), part(claims))
}

/// The claims of a good request object from `client_id`, valid for a minute from `now`.
fn request_claims(idp: &Idp, client_id: &str) -> Value {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    json!({
        "iss": client_id,
        "aud": idp.state.issuer(),
        "exp": idp.state.now() + 60,
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid email",
        "state": "inside",
        "nonce": "nonce-inside",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    })
}

/// The `/authorize` URL that carries `object` as `name` (`request` or `request_uri`), with
/// `extra` query parameters.
fn authorize_with(client_id: &str, name: &str, object: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("scope", "openid"),
        (name, object),
    ];
    pairs.extend_from_slice(extra);
    format!(
        "/authorize?{}",
        serde_urlencoded::to_string(&pairs).unwrap()
    )
}

/// A first-party confidential client with `keys`, changed by `adjust`; its secret.
async fn client_with_keys(
    idp: &Idp,
    id: &str,
    keys: Value,
    adjust: impl FnOnce(&mut idp_core::model::Client),
) -> String {
    idp.confidential_client_with(id, |client| {
        client.metadata.jwks = Some(keys);
        adjust(client);
    })
    .await
}

/// The error a request is sent back to the relying party with, and its `state`.
async fn refused(idp: &Idp, url: &str) -> (String, Option<String>, String) {
    let page = Browser::new(idp).get(url).await;
    let to = page.to();
    assert!(to.starts_with(REDIRECT), "{page:?}");
    (
        param(to, "error").unwrap_or_default(),
        param(to, "state"),
        param(to, "error_description").unwrap_or_default(),
    )
}

/// Serves `body` at `/object` on a loopback port; its URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

#[tokio::test]
async fn a_request_object_signed_with_each_algorithm_carries_the_request() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.user("alice").await;
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        let key = TestKey::new(alg, &format!("k-{alg}"));
        let id = format!("rp-{alg}");
        let secret = client_with_keys(&idp, &id, TestKey::set(&[&key]), |_| {}).await;
        let object = key.sign(&request_claims(&idp, &id));
        let url = authorize_with(&id, "request", &object, &[]);
        let done = Browser::new(&idp).sign_in(&url, "alice").await;
        assert!(done.gives_code(), "{alg}: {done:?}");
        assert_eq!(
            param(done.to(), "state").as_deref(),
            Some("inside"),
            "{alg}"
        );
        let (status, tokens) = exchange_code(&idp, Some((&id, &secret)), &done).await;
        assert_eq!(status, StatusCode::OK, "{alg}: {tokens}");
        let claims = idp.id_token_claims(&tokens);
        assert_eq!(claims["nonce"], "nonce-inside", "{alg}");
        let scope = tokens["scope"].as_str().unwrap_or_default();
        assert!(
            scope.contains("email"),
            "{alg}: scope from inside: {tokens}"
        );
    }
}

#[tokio::test]
async fn the_objects_parameters_win_over_the_querys() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.user("alice").await;
    let key = TestKey::new("ES256", "k1");
    let secret = client_with_keys(&idp, "rp", TestKey::set(&[&key]), |_| {}).await;
    let object = key.sign(&request_claims(&idp, "rp"));
    let outside = [
        ("state", "outside"),
        ("nonce", "nonce-outside"),
        ("redirect_uri", REDIRECT),
    ];
    let url = authorize_with("rp", "request", &object, &outside);
    let done = Browser::new(&idp).sign_in(&url, "alice").await;
    assert_eq!(param(done.to(), "state").as_deref(), Some("inside"));
    let (status, tokens) = exchange_code(&idp, Some(("rp", &secret)), &done).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(idp.id_token_claims(&tokens)["nonce"], "nonce-inside");
}

#[tokio::test]
async fn a_bad_request_object_is_refused_at_the_redirect_uri() {
    let idp = Idp::start().await;
    let key = TestKey::new("ES256", "k1");
    client_with_keys(&idp, "rp", TestKey::set(&[&key]), |_| {}).await;
    let pinned = TestKey::new("RS256", "r1");
    client_with_keys(&idp, "pinned", TestKey::set(&[&pinned, &key]), |c| {
        c.metadata.request_object_signing_alg = Some("RS256".into());
    })
    .await;
    let good = request_claims(&idp, "rp");
    let with = |change: Value| {
        let mut claims = good.clone();
        for (k, v) in change.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    let forger = TestKey::new("ES256", "k1");
    let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d".to_owned();
    let cases = [
        (
            "client_id differs",
            key.sign(&with(json!({ "client_id": "other" }))),
        ),
        ("iss is another", key.sign(&with(json!({ "iss": "other" })))),
        (
            "aud is another",
            key.sign(&with(json!({ "aud": "https://other.example" }))),
        ),
        (
            "expired",
            key.sign(&with(json!({ "exp": idp.state.now() - 1 }))),
        ),
        (
            "not yet valid",
            key.sign(&with(json!({ "nbf": idp.state.now() + 600 }))),
        ),
        (
            "signed by another key with the same kid",
            forger.sign(&good),
        ),
        ("unsigned", unsigned(&good)),
        ("encrypted", jwe),
        (
            "a JWT made for something else",
            key.sign_typed(&good, "logout+jwt"),
        ),
    ];
    for (what, object) in cases {
        let extra = [("state", "s"), ("redirect_uri", REDIRECT)];
        let url = authorize_with("rp", "request", &object, &extra);
        let (error, state, description) = refused(&idp, &url).await;
        assert_eq!(error, "invalid_request_object", "{what}: {description}");
        assert_eq!(state.as_deref(), Some("s"), "{what}");
        if what == "encrypted" {
            assert!(description.contains("JWE"), "{description}");
        }
    }
    // The algorithm the client registered is the only one taken.
    let es256 = key.sign(&request_claims(&idp, "pinned"));
    let url = authorize_with("pinned", "request", &es256, &[("state", "s")]);
    let (error, _, description) = refused(&idp, &url).await;
    assert_eq!(error, "invalid_request_object");
    assert!(description.contains("RS256"), "{description}");
    let rs256 = pinned.sign(&request_claims(&idp, "pinned"));
    let page = Browser::new(&idp)
        .get(&authorize_with("pinned", "request", &rs256, &[]))
        .await;
    assert!(!page.to().contains("error="), "{page:?}");
    // response_type must also be in the query (Core §6.1).
    let url = format!(
        "/authorize?{}",
        serde_urlencoded::to_string([("client_id", "rp"), ("request", &key.sign(&good))]).unwrap()
    );
    let (error, state, _) = refused(&idp, &url).await;
    assert_eq!(
        (error.as_str(), state.as_deref()),
        ("invalid_request", Some("inside"))
    );
    // Without a good redirect URI anywhere, a page, never a redirect.
    let nowhere = key.sign(&with(
        json!({ "redirect_uri": "https://attacker.example/" }),
    ));
    let bad = forger.sign(&with(
        json!({ "redirect_uri": "https://attacker.example/" }),
    ));
    for object in [bad, nowhere] {
        let page = Browser::new(&idp)
            .get(&authorize_with("rp", "request", &object, &[]))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{page:?}");
        assert!(page.location.is_none());
    }
}

#[tokio::test]
async fn unsigned_request_objects_are_taken_only_where_the_setting_allows() {
    let idp = Idp::with(|s| {
        s.protocol.unsigned_request_objects = true;
        s.new_device.enabled = false;
    })
    .await;
    idp.user("alice").await;
    idp.confidential_client("rp").await;
    let (_, _, discovery) = idp
        .call(
            axum::http::Request::get("/.well-known/openid-configuration")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    let algs = discovery["request_object_signing_alg_values_supported"].to_string();
    assert!(
        algs.contains("\"none\"") && algs.contains("PS256"),
        "{algs}"
    );
    assert_eq!(discovery["request_parameter_supported"], true);
    assert_eq!(discovery["request_uri_parameter_supported"], true);
    let object = unsigned(&request_claims(&idp, "rp"));
    let url = authorize_with("rp", "request", &object, &[]);
    let done = Browser::new(&idp).sign_in(&url, "alice").await;
    assert_eq!(param(done.to(), "state").as_deref(), Some("inside"));
    // An unsigned object must have no signature.
    let (error, _, _) = refused(
        &idp,
        &authorize_with("rp", "request", &format!("{object}x"), &[]),
    )
    .await;
    assert_eq!(error, "invalid_request_object");
}

#[tokio::test]
async fn a_request_uri_is_fetched_from_the_client() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.user("alice").await;
    let key = TestKey::new("PS256", "k1");
    let object = key.sign(&request_claims(&idp, "rp"));
    let router = axum::Router::new().route(
        "/object",
        axum::routing::get(move || async move {
            (
                [("content-type", "application/oauth-authz-req+jwt")],
                object,
            )
        }),
    );
    let base = serve(router).await;
    // An administrator's client, its URLs registered: fetched at any address (loopback here).
    let listed = vec![format!("{base}/object"), format!("{base}/gone")];
    client_with_keys(&idp, "rp", TestKey::set(&[&key]), |c| {
        c.metadata.request_uris = listed;
    })
    .await;
    let url = authorize_with("rp", "request_uri", &format!("{base}/object"), &[]);
    let done = Browser::new(&idp).sign_in(&url, "alice").await;
    assert!(done.gives_code(), "{done:?}");
    assert_eq!(param(done.to(), "state").as_deref(), Some("inside"));
    // Nothing at that URL.
    let extra = [("redirect_uri", REDIRECT), ("state", "s")];
    let url = authorize_with("rp", "request_uri", &format!("{base}/gone"), &extra);
    let (error, state, description) = refused(&idp, &url).await;
    assert_eq!(
        (error.as_str(), state.as_deref()),
        ("invalid_request_uri", Some("s"))
    );
    assert!(description.contains("404"), "{description}");
}

#[tokio::test]
async fn only_the_request_uris_a_client_registered_are_fetched() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.user("alice").await;
    let key = TestKey::new("ES256", "k1");
    let object = key.sign(&request_claims(&idp, "rp"));
    let fetched = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = fetched.clone();
    let router = axum::Router::new().fallback(axum::routing::get(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let object = object.clone();
        async move { object }
    }));
    let base = serve(router).await;
    let registered = format!("{base}/registered");
    let list = vec![format!("{registered}#sha256-of-the-object")];
    client_with_keys(&idp, "rp", TestKey::set(&[&key]), |c| {
        c.metadata.request_uris = list;
    })
    .await;
    let extra = [("redirect_uri", REDIRECT), ("state", "s")];
    let url = authorize_with("rp", "request_uri", &format!("{base}/other"), &extra);
    let (error, _, description) = refused(&idp, &url).await;
    assert_eq!(error, "invalid_request_uri", "{description}");
    assert_eq!(fetched.load(std::sync::atomic::Ordering::SeqCst), 0);
    let url = authorize_with("rp", "request_uri", &format!("{registered}#v2"), &[]);
    let done = Browser::new(&idp).sign_in(&url, "alice").await;
    assert_eq!(param(done.to(), "state").as_deref(), Some("inside"));
}

#[tokio::test]
async fn a_registered_clients_request_uri_must_be_https_at_a_public_address() {
    let idp = Idp::start().await;
    let key = TestKey::new("ES256", "k1");
    client_with_keys(&idp, "rp", TestKey::set(&[&key]), |c| {
        c.metadata.first_party = false;
    })
    .await;
    let extra = [("redirect_uri", REDIRECT), ("state", "s")];
    for uri in ["http://127.0.0.1:9/object", "https://127.0.0.1:9/object"] {
        let (error, _, description) =
            refused(&idp, &authorize_with("rp", "request_uri", uri, &extra)).await;
        assert_eq!(error, "invalid_request_uri", "{uri}: {description}");
    }
    // An administrator's client is no different for a URL it did not register: the URL comes
    // with the request, from anyone, and must not reach into the provider's network.
    client_with_keys(&idp, "admin-rp", TestKey::set(&[&key]), |_| {}).await;
    for uri in ["http://127.0.0.1:9/object", "https://10.0.0.7/object"] {
        let url = authorize_with("admin-rp", "request_uri", uri, &extra);
        let (error, _, description) = refused(&idp, &url).await;
        assert_eq!(error, "invalid_request_uri", "{uri}: {description}");
        assert!(
            description.contains("https") || description.contains("public"),
            "{description}"
        );
    }
}

#[tokio::test]
async fn a_pushed_request_may_carry_a_request_object() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.user("alice").await;
    let key = TestKey::new("EdDSA", "k1");
    let secret = client_with_keys(&idp, "rp", TestKey::set(&[&key]), |_| {}).await;
    let object = key.sign(&request_claims(&idp, "rp"));
    // RFC 9126 §3: the object alone (the client is known from its authentication).
    let form = [("request", object.as_str())];
    let (status, _, pushed) = idp
        .post_as_client("/par", Some(("rp", &secret)), &form)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let url = format!(
        "/authorize?{}",
        serde_urlencoded::to_string([("client_id", "rp"), ("request_uri", request_uri)]).unwrap()
    );
    let done = Browser::new(&idp).sign_in(&url, "alice").await;
    assert_eq!(param(done.to(), "state").as_deref(), Some("inside"));
    let (status, tokens) = exchange_code(&idp, Some(("rp", &secret)), &done).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(idp.id_token_claims(&tokens)["nonce"], "nonce-inside");

    let expired = key.sign(&json!({ "exp": idp.state.now() - 1, "client_id": "rp" }));
    let form = [("response_type", "code"), ("request", expired.as_str())];
    let (status, _, body) = idp
        .post_as_client("/par", Some(("rp", &secret)), &form)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request_object", "{body}");
}

#[tokio::test]
async fn request_uris_one_address_has_fetched_stop_at_the_limit() {
    let idp = Idp::with(|s| s.limits.request_uri_fetches_per_hour = 2).await;
    let key = TestKey::new("ES256", "k1");
    client_with_keys(&idp, "rp", TestKey::set(&[&key]), |c| {
        c.metadata.first_party = false;
    })
    .await;
    let extra = [("redirect_uri", REDIRECT), ("state", "s")];
    let url = authorize_with("rp", "request_uri", "https://127.0.0.1:9/object", &extra);
    for _ in 0..2 {
        let (error, _, _) = refused(&idp, &url).await;
        assert_eq!(error, "invalid_request_uri");
    }
    let page = Browser::new(&idp).get(&url).await;
    assert_eq!(
        page.status,
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "{page:?}"
    );
    assert!(page.location.is_none(), "{page:?}");
}
