//! How the authorization endpoint answers the relying party: in the query, in the fragment, or
//! by a page that posts the answer (OAuth 2.0 Form Post Response Mode), successes and errors
//! alike; and the implicit and hybrid response types behind `protocol.implicit_and_hybrid`.

use axum::http::{StatusCode, header};
use base64::Engine as _;
use idp_core::model::SigningAlg;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::page::param;
use crate::support::{Browser, Idp, Page, REDIRECT, VERIFIER, authorize};

/// A provider with a person `ana` and a first-party public client `rp` (no consent page), the
/// implicit and hybrid response types on or off.
async fn provider(implicit_and_hybrid: bool) -> Idp {
    let idp = Idp::with(|settings| {
        settings.protocol.implicit_and_hybrid = implicit_and_hybrid;
        settings.new_device.enabled = false;
    })
    .await;
    idp.user("ana").await;
    idp.client("rp", true).await;
    idp
}

/// The value of `name` in the fragment of `url`, decoded.
fn fragment(url: &str, name: &str) -> Option<String> {
    let (_, fragment) = url.split_once('#')?;
    url::form_urlencoded::parse(fragment.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The form-post page's checks: the page posts to the redirect URI, its one script is the one
/// its policy allows by hash, its form may go to the client's origin only, and no cache
/// keeps it. Returns the fields it posts.
fn posted_fields(page: &Page, headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.is("form-post"), "{page:?}");
    let (action, fields) = page.form();
    assert_eq!(action, REDIRECT);
    assert!(
        page.contains("id=\"form-post-submit\""),
        "a button to press"
    );
    let start = page.body.find("<script>").unwrap() + "<script>".len();
    let end = start + page.body[start..].find("</script>").unwrap();
    let script = &page.body[start..end];
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        policy.contains(&format!("script-src 'sha256-{hash}'")),
        "{policy}"
    );
    assert!(
        policy.contains("form-action https://rp.example;")
            || policy.ends_with("form-action https://rp.example"),
        "{policy}"
    );
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    fields
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[tokio::test]
async fn form_post_delivers_the_code_in_a_page_that_posts_it() {
    let idp = provider(false).await;
    let mut browser = Browser::new(&idp);
    let request = authorize("rp", &[("response_mode", "form_post")]);
    let answer = browser.sign_in(&request, "ana").await;
    let fields = posted_fields(&answer, &browser.headers);
    assert_eq!(field(&fields, "state"), Some("st"));
    assert_eq!(field(&fields, "iss"), Some(idp.state.issuer()));
    let code = field(&fields, "code").unwrap();
    let (status, _, tokens) = idp
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("client_id", "rp"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    // Other pages keep the policy that runs no script and posts nowhere else.
    let front = browser.get("/help").await;
    assert!(!front.contains("<script>"));
    let policy = browser.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(!policy.contains("rp.example"), "{policy}");
}

#[tokio::test]
async fn form_post_delivers_errors_too() {
    let idp = provider(false).await;
    let mut browser = Browser::new(&idp);
    // Checked at the endpoint: no session for prompt=none.
    let request = authorize("rp", &[("response_mode", "form_post"), ("prompt", "none")]);
    let answer = browser.get(&request).await;
    let fields = posted_fields(&answer, &browser.headers);
    assert_eq!(field(&fields, "error"), Some("login_required"));
    assert_eq!(field(&fields, "state"), Some("st"));
    assert_eq!(field(&fields, "iss"), Some(idp.state.issuer()));
    assert_eq!(field(&fields, "code"), None);
    // Refused by the request's checks.
    let request = authorize("rp", &[("response_mode", "form_post"), ("scope", "email")]);
    let answer = browser.get(&request).await;
    let fields = posted_fields(&answer, &browser.headers);
    assert_eq!(field(&fields, "error"), Some("invalid_scope"));
    // Refused with its request object, in the mode the query asked for.
    let request = authorize(
        "rp",
        &[("response_mode", "form_post"), ("request", "not.a.jwt")],
    );
    let answer = browser.get(&request).await;
    let fields = posted_fields(&answer, &browser.headers);
    assert_eq!(field(&fields, "error"), Some("invalid_request_object"));
    assert_eq!(field(&fields, "state"), Some("st"));
}

#[tokio::test]
async fn fragment_mode_puts_the_answer_after_the_hash() {
    let idp = provider(false).await;
    let mut browser = Browser::new(&idp);
    let request = authorize("rp", &[("response_mode", "fragment")]);
    let answer = browser.sign_in(&request, "ana").await;
    let to = answer.to();
    assert!(to.starts_with(&format!("{REDIRECT}#")), "{to}");
    assert!(fragment(to, "code").is_some());
    assert_eq!(fragment(to, "state").as_deref(), Some("st"));
    assert_eq!(fragment(to, "iss").as_deref(), Some(idp.state.issuer()));
    assert_eq!(param(to, "code"), None, "nothing in the query");
    // query is still accepted by name.
    let again = browser
        .get(&authorize("rp", &[("response_mode", "query")]))
        .await;
    assert!(again.gives_code(), "{again:?}");
}

#[tokio::test]
async fn implicit_and_hybrid_response_types_are_refused_while_the_setting_is_off() {
    let idp = provider(false).await;
    let mut browser = Browser::new(&idp);
    for response_type in ["id_token", "id_token token", "code id_token", "code token"] {
        let page = browser
            .get(&authorize("rp", &[("response_type", response_type)]))
            .await;
        let to = page.to();
        assert!(to.starts_with(REDIRECT), "{to}");
        assert_eq!(
            param(to, "error").as_deref(),
            Some("unsupported_response_type"),
            "{response_type}"
        );
    }
    let discovery = browser.get("/.well-known/openid-configuration").await;
    let discovery: Value = serde_json::from_str(&discovery.body).unwrap();
    assert_eq!(discovery["response_types_supported"], json!(["code"]));
    assert_eq!(
        discovery["response_modes_supported"],
        json!(["query", "fragment", "form_post"])
    );
    assert!(
        !discovery["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("implicit"))
    );
}

/// The answer in the fragment of `page`, as name → value.
fn answer_of(page: &Page) -> std::collections::HashMap<String, String> {
    let to = page.to();
    assert!(to.starts_with(&format!("{REDIRECT}#")), "{page:?}");
    let (_, fragment) = to.split_once('#').unwrap();
    url::form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect()
}

/// The left half of the SHA-256 of `value`, base64url (OpenID Connect Core §3.3.2.11, ES256).
fn half_hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[tokio::test]
async fn each_implicit_and_hybrid_response_type_answers_in_the_fragment() {
    let idp = provider(true).await;
    let mut browser = Browser::new(&idp);
    // Signed in once with the code flow; each request below is answered from the session.
    assert!(
        browser
            .sign_in(&authorize("rp", &[]), "ana")
            .await
            .gives_code()
    );
    for response_type in [
        "id_token",
        "token id_token",
        "code id_token",
        "code token",
        "id_token code token",
    ] {
        let words: Vec<&str> = response_type.split(' ').collect();
        let request = authorize("rp", &[("response_type", response_type), ("nonce", "n-1")]);
        let page = browser.get(&request).await;
        let answer = answer_of(&page);
        assert_eq!(answer["state"], "st", "{response_type}");
        assert_eq!(answer["iss"], idp.state.issuer());
        let access_token = answer.get("access_token");
        let code = answer.get("code");
        assert_eq!(
            access_token.is_some(),
            words.contains(&"token"),
            "{response_type}"
        );
        assert_eq!(code.is_some(), words.contains(&"code"), "{response_type}");
        if let Some(token) = access_token {
            assert_eq!(answer["token_type"], "Bearer");
            assert_eq!(answer["expires_in"], "600");
            let (status, info) = idp
                .json_request("GET", "/userinfo", Some(token), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{info}");
            assert_eq!(info["sub"], "id-ana");
        }
        match answer.get("id_token") {
            Some(id_token) => {
                assert!(words.contains(&"id_token"));
                let claims = idp.id_token_claims(&json!({ "id_token": id_token }));
                assert_eq!(claims["nonce"], "n-1");
                assert_eq!(claims["aud"], "rp");
                assert_eq!(claims["sub"], "id-ana");
                // With no access token beside it the ID token is all the relying party gets:
                // the scopes' claims are in it (OpenID Connect Core §5.4), and only then.
                let alone = words == ["id_token"];
                assert_eq!(
                    claims.get("email").and_then(Value::as_str),
                    alone.then_some("ana@example.com"),
                    "{response_type}"
                );
                assert_eq!(
                    claims.get("at_hash").and_then(Value::as_str),
                    access_token.map(|t| half_hash(t)).as_deref(),
                    "{response_type}"
                );
                assert_eq!(
                    claims.get("c_hash").and_then(Value::as_str),
                    code.map(|c| half_hash(c)).as_deref(),
                    "{response_type}"
                );
            }
            None => assert!(!words.contains(&"id_token"), "{response_type}"),
        }
        if let Some(code) = code {
            let (status, _, tokens) = idp
                .post_form(
                    "/token",
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", code),
                        ("redirect_uri", REDIRECT),
                        ("client_id", "rp"),
                        ("code_verifier", VERIFIER),
                    ],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{response_type}: {tokens}");
            let claims = idp.id_token_claims(&tokens);
            assert_eq!(claims["nonce"], "n-1");
        }
    }
    // One grant recorded for each of the five answers, naming the session (so back-channel
    // logout reaches the client); the codes exchanged added none (the first sign-in's code
    // was never exchanged).
    assert_eq!(
        idp.count("grants", "client_id = 'rp' AND sid IS NOT NULL"),
        5
    );
    // The helper hashes as the provider does for ES256.
    assert_eq!(
        half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
        idp_token_issuer::at_hash(
            "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
            SigningAlg::ES256
        )
    );
}

#[tokio::test]
async fn an_id_token_from_the_authorization_endpoint_needs_a_nonce_and_never_the_query() {
    let idp = provider(true).await;
    let mut browser = Browser::new(&idp);
    let without_nonce = authorize("rp", &[("response_type", "id_token"), ("nonce", "")]);
    let page = browser.get(&without_nonce).await;
    let answer = answer_of(&page);
    assert_eq!(answer["error"], "invalid_request");
    assert_eq!(answer["state"], "st");
    let in_query = authorize(
        "rp",
        &[
            ("response_type", "code id_token"),
            ("response_mode", "query"),
        ],
    );
    let page = browser.get(&in_query).await;
    let answer = answer_of(&page);
    assert_eq!(
        answer["error"], "invalid_request",
        "refused, in the fragment"
    );
    // form_post is allowed, and carries the tokens.
    assert!(
        browser
            .sign_in(&authorize("rp", &[]), "ana")
            .await
            .gives_code()
    );
    let posted = authorize(
        "rp",
        &[
            ("response_type", "id_token token"),
            ("response_mode", "form_post"),
        ],
    );
    let page = browser.get(&posted).await;
    let fields = posted_fields(&page, &browser.headers);
    assert!(field(&fields, "id_token").is_some());
    assert!(field(&fields, "access_token").is_some());
}

/// The token endpoint's answer to exchanging `code` as the public client `rp`.
async fn exchange(idp: &Idp, code: &str) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", "rp"),
        ("code_verifier", VERIFIER),
    ];
    let (status, _, body) = idp.post_form("/token", &form).await;
    (status, body)
}

#[tokio::test]
async fn tokens_from_the_authorization_endpoint_belong_to_a_recorded_grant() {
    let idp = provider(true).await;
    let mut browser = Browser::new(&idp);
    assert!(
        browser
            .sign_in(&authorize("rp", &[]), "ana")
            .await
            .gives_code()
    );
    let hybrid = authorize("rp", &[("response_type", "code id_token token")]);
    // An access token revoked on its own (RFC 7009) is no good, like the token endpoint's.
    let answer = answer_of(&browser.get(&hybrid).await);
    let token = answer["access_token"].clone();
    let (status, _, _) = idp
        .post_form("/revoke", &[("token", &token), ("client_id", "rp")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = idp
        .json_request("GET", "/userinfo", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The code issued beside an access token shares its grant: a replayed code revokes the
    // grant (RFC 6749 §4.1.2), and with it the access token the authorization endpoint gave.
    let answer = answer_of(&browser.get(&hybrid).await);
    let token = answer["access_token"].clone();
    let (status, _) = idp
        .json_request("GET", "/userinfo", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, tokens) = exchange(&idp, &answer["code"]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, refused) = exchange(&idp, &answer["code"]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "invalid_grant");
    let (status, _) = idp
        .json_request("GET", "/userinfo", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked with its grant");
    let exchanged = tokens["access_token"].as_str().unwrap();
    let (status, _) = idp
        .json_request("GET", "/userinfo", Some(exchanged), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn registration_and_discovery_offer_implicit_and_hybrid_only_when_on() {
    for on in [false, true] {
        let idp = Idp::with(|settings| {
            settings.protocol.implicit_and_hybrid = on;
            settings.registration.require_initial_access_token = false;
        })
        .await;
        let (status, registered) = idp
            .post_json(
                "/register",
                &json!({
                    "redirect_uris": ["https://rp.example/cb"],
                    "grant_types": ["authorization_code", "implicit"],
                    "response_types": ["code id_token"],
                }),
            )
            .await;
        if on {
            assert_eq!(status, StatusCode::CREATED, "{registered}");
            assert!(
                registered["response_types"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("code id_token"))
            );
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{registered}");
            assert_eq!(registered["error"], "invalid_client_metadata");
        }
        let mut browser = Browser::new(&idp);
        let discovery = browser.get("/.well-known/openid-configuration").await;
        let discovery: Value = serde_json::from_str(&discovery.body).unwrap();
        let types = discovery["response_types_supported"].as_array().unwrap();
        assert_eq!(types.contains(&json!("code id_token token")), on);
        let grants = discovery["grant_types_supported"].as_array().unwrap();
        assert_eq!(grants.contains(&json!("implicit")), on);
    }
}

#[tokio::test]
async fn a_client_whose_tokens_are_bound_gets_no_access_token_from_the_authorization_endpoint() {
    let idp = provider(true).await;
    idp.confidential_client_with("bound", |client| {
        client.metadata.dpop_bound_access_tokens = true;
    })
    .await;
    idp.confidential_client_with("certified", |client| {
        client.metadata.tls_client_certificate_bound_access_tokens = true;
    })
    .await;
    let mut browser = Browser::new(&idp);
    for client in ["bound", "certified"] {
        for response_type in ["code token", "id_token token", "code id_token token"] {
            let page = browser
                .get(&authorize(client, &[("response_type", response_type)]))
                .await;
            assert_eq!(
                fragment(page.to(), "error").as_deref(),
                Some("unsupported_response_type"),
                "{client} {response_type}: {page:?}"
            );
        }
        // An ID token alone, or a code, binds nothing and is still answered.
        let page = browser
            .get(&authorize(client, &[("response_type", "code id_token")]))
            .await;
        assert_eq!(fragment(page.to(), "error"), None, "{client}: {page:?}");
    }
}
