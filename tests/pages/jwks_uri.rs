//! Clients that publish their keys at a URL (`jwks_uri`): registered, fetched when needed,
//! kept for the answer's lifetime, and fetched again when the client signs with a new key.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use idp_core::model::TokenEndpointAuthMethod;
use serde_json::{Value, json};

use crate::request_objects::{TestKey, serve};
use crate::support::{Browser, Idp, REDIRECT};

/// A relying party's JWK Set on a loopback port, which it can replace, counting the fetches.
struct Published {
    keys: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    url: String,
}

impl Published {
    async fn start(keys: Value) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (shared, counter) = (keys.clone(), fetches.clone());
        let router = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let body = shared.lock().unwrap().to_string();
                async move {
                    (
                        [
                            ("content-type", "application/jwk-set+json"),
                            ("cache-control", "public, max-age=120"),
                        ],
                        body,
                    )
                }
            }),
        );
        let base = serve(router).await;
        Self {
            keys,
            fetches,
            url: format!("{base}/jwks"),
        }
    }

    fn replace(&self, keys: Value) {
        *self.keys.lock().unwrap() = keys;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// A first-party client `id` that authenticates with `private_key_jwt`, its keys at `uri`.
async fn key_client(idp: &Idp, id: &str, uri: &str, first_party: bool) {
    idp.confidential_client_with(id, |client| {
        client.secret_hash = None;
        client.token_endpoint_auth_method = TokenEndpointAuthMethod::PrivateKeyJwt;
        client.metadata.jwks_uri = Some(uri.to_owned());
        client.metadata.first_party = first_party;
    })
    .await;
}

/// The token endpoint's answer to a client credentials grant authenticated by an assertion
/// that `key` signed for client `id`.
async fn token_with(idp: &Idp, id: &str, key: &TestKey, jti: &str) -> (StatusCode, Value) {
    let claims = json!({
        "iss": id, "sub": id, "aud": format!("{}/token", idp.state.issuer()),
        "exp": idp.state.now() + 60, "jti": jti,
    });
    let assertion = key.sign(&claims);
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let (status, _, body) = idp.post_form("/token", &form).await;
    (status, body)
}

#[tokio::test]
async fn keys_at_a_jwks_uri_are_kept_and_fetched_again_when_the_client_rotates_them() {
    let idp = Idp::start().await;
    let first = TestKey::new("ES256", "k1");
    let published = Published::start(TestKey::set(&[&first])).await;
    key_client(&idp, "rp", &published.url, true).await;

    let (status, body) = token_with(&idp, "rp", &first, "j1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = token_with(&idp, "rp", &first, "j2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(published.fetches(), 1, "kept while the answer allows");

    // The client rotates its key: the unknown kid makes the provider look again.
    let second = TestKey::new("RS256", "k2");
    published.replace(TestKey::set(&[&second]));
    let (status, body) = token_with(&idp, "rp", &second, "j3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(published.fetches(), 2);

    // Again within ten seconds: not fetched again, so the new key is not known yet.
    let third = TestKey::new("EdDSA", "k3");
    published.replace(TestKey::set(&[&third]));
    let (status, body) = token_with(&idp, "rp", &third, "j4").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(published.fetches(), 2, "rate limited");
    idp.clock.advance(11);
    let (status, body) = token_with(&idp, "rp", &third, "j5").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(published.fetches(), 3);

    // Request objects are verified with the same keys.
    let claims = json!({
        "iss": "rp", "aud": idp.state.issuer(), "client_id": "rp", "response_type": "code",
        "redirect_uri": REDIRECT, "scope": "openid", "state": "inside",
    });
    let query = [
        ("client_id", "rp"),
        ("response_type", "code"),
        ("request", &third.sign(&claims)),
    ];
    let url = format!("/authorize?{}", serde_urlencoded::to_string(query).unwrap());
    let page = Browser::new(&idp).get(&url).await;
    assert!(!page.to().contains("error="), "{page:?}");

    // Once the answer's lifetime (max-age=120) has passed, the keys are fetched again.
    idp.clock.advance(121);
    let (status, body) = token_with(&idp, "rp", &third, "j6").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(published.fetches(), 4);
}

#[tokio::test]
async fn keys_that_cannot_be_fetched_are_a_clear_refusal() {
    let idp = Idp::start().await;
    let key = TestKey::new("ES256", "k1");
    let published = Published::start(TestKey::set(&[&key])).await;
    let gone = published.url.replace("/jwks", "/gone");
    key_client(&idp, "lost", &gone, true).await;
    let (status, body) = token_with(&idp, "lost", &key, "j1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"].as_str().unwrap().contains("404"),
        "{body}"
    );
    // A client registered over HTTP is never served from the provider's own network.
    key_client(&idp, "outsider", &published.url, false).await;
    let (status, body) = token_with(&idp, "outsider", &key, "j2").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(published.fetches(), 0);
}

#[tokio::test]
async fn a_client_registers_a_jwks_uri_or_jwks_not_both() {
    let idp = Idp::with(|s| s.registration.require_initial_access_token = false).await;
    let keys = TestKey::set(&[&TestKey::new("ES256", "k1")]);
    let uri = "https://rp.example/jwks";
    let idp = &idp;
    let register = |body: Value| async move {
        let mut body = body;
        body["redirect_uris"] = json!([REDIRECT]);
        body["token_endpoint_auth_method"] = json!("private_key_jwt");
        idp.post_json("/register", &body).await
    };
    let (status, made) =
        register(json!({ "jwks_uri": uri, "request_object_signing_alg": "PS256" })).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        (
            made["jwks_uri"].as_str(),
            made["request_object_signing_alg"].as_str()
        ),
        (Some(uri), Some("PS256"))
    );
    for refused in [
        json!({ "jwks_uri": uri, "jwks": keys }),
        json!({ "jwks_uri": "http://rp.example/jwks" }),
        json!({ "jwks_uri": "https://127.0.0.1/jwks" }),
        json!({ "jwks": keys, "request_object_signing_alg": "HS256" }),
        json!({}),
    ] {
        let (status, body) = register(refused.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}: {body}");
        assert_eq!(body["error"], "invalid_client_metadata", "{refused}");
    }
}

#[tokio::test]
async fn a_slow_jwks_uri_delays_no_other_client() {
    let idp = Idp::start().await;
    let (slow_key, fast_key) = (TestKey::new("ES256", "s1"), TestKey::new("ES256", "f1"));
    let (slow_keys, fast_keys) = (TestKey::set(&[&slow_key]), TestKey::set(&[&fast_key]));
    // The slow relying party answers only once the other client has had its token.
    let release = Arc::new(tokio::sync::Notify::new());
    let held = release.clone();
    let router = axum::Router::new()
        .route(
            "/slow",
            axum::routing::get(move || {
                let (held, keys) = (held.clone(), slow_keys.to_string());
                async move {
                    held.notified().await;
                    keys
                }
            }),
        )
        .route(
            "/fast",
            axum::routing::get(move || {
                let keys = fast_keys.to_string();
                async move { keys }
            }),
        );
    let base = serve(router).await;
    key_client(&idp, "slow", &format!("{base}/slow"), true).await;
    key_client(&idp, "fast", &format!("{base}/fast"), true).await;
    let slow = token_with(&idp, "slow", &slow_key, "j1");
    let fast = async {
        let answer = token_with(&idp, "fast", &fast_key, "j2").await;
        release.notify_one();
        answer
    };
    let both = async { tokio::join!(slow, fast) };
    let ((slow, _), (fast, body)) = tokio::time::timeout(std::time::Duration::from_secs(4), both)
        .await
        .expect("the fast client waited for the slow one");
    assert_eq!(fast, StatusCode::OK, "{body}");
    assert_eq!(slow, StatusCode::OK);
}

#[tokio::test]
async fn a_failed_refetch_keeps_the_keys_the_client_still_has() {
    let idp = Idp::start().await;
    let first = TestKey::new("ES256", "k1");
    let published = Published::start(TestKey::set(&[&first])).await;
    key_client(&idp, "rp", &published.url, true).await;
    let (status, body) = token_with(&idp, "rp", &first, "j1").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The client's URL breaks, and an assertion with a key it never had (anyone can send
    // one) makes the provider look again: that fails.
    published.replace(json!("not a key set"));
    let stranger = TestKey::new("ES256", "other");
    let (status, body) = token_with(&idp, "rp", &stranger, "j2").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(published.fetches(), 2);
    // The client's own key goes on working for the rest of its keys' lifetime.
    let (status, body) = token_with(&idp, "rp", &first, "j3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
