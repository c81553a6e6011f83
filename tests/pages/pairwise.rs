//! Pairwise subject identifiers (OpenID Connect Core §8.1): clients of different sectors see
//! one person under different `sub`s, clients of one sector under the same one, and every
//! place a client sees the person agrees; a pairwise client's sector identifier document is
//! fetched and checked when it is created.

use axum::http::StatusCode;
use idp_core::model::SubjectType;
use serde_json::{Value, json};

use crate::support::{Browser, Idp, REDIRECT, authorize, exchange_code};

/// A first-party confidential client redirecting to `REDIRECT` (host `rp.example`), pairwise
/// when `sector_uri` or `pairwise` says so; its secret.
async fn client(idp: &Idp, id: &str, pairwise: bool, sector_uri: Option<&str>) -> String {
    idp.confidential_client_with(id, |c| {
        if pairwise {
            c.metadata.subject_type = SubjectType::Pairwise;
        }
        c.metadata.sector_identifier_uri = sector_uri.map(str::to_owned);
    })
    .await
}

/// Signs alice in to `id`: the token response.
async fn tokens(idp: &Idp, id: &str, secret: &str, scope: &str) -> Value {
    let mut browser = Browser::new(idp);
    let answer = browser
        .sign_in(&authorize(id, &[("scope", scope)]), "alice")
        .await;
    let (status, tokens) = exchange_code(idp, Some((id, secret)), &answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

async fn userinfo_sub(idp: &Idp, tokens: &Value) -> Value {
    let bearer = tokens["access_token"].as_str().unwrap();
    let request = axum::http::Request::get("/userinfo")
        .header("authorization", format!("Bearer {bearer}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, _, body) = idp.call(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["sub"].clone()
}

async fn introspected_sub(idp: &Idp, id: &str, secret: &str, token: &str) -> Value {
    let form = [("token", token)];
    let (status, _, body) = idp
        .post_as_client("/introspect", Some((id, secret)), &form)
        .await;
    assert_eq!(
        (status, &body["active"]),
        (StatusCode::OK, &json!(true)),
        "{body}"
    );
    body["sub"].clone()
}

#[tokio::test]
async fn clients_in_different_sectors_see_different_subs_and_each_sees_one_everywhere() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    let alice = idp.user("alice").await;
    let a = client(&idp, "books", true, None).await;
    let b = client(&idp, "ledger", true, None).await;
    let c = client(
        &idp,
        "payroll",
        true,
        Some("https://sector.example/uris.json"),
    )
    .await;
    let public = client(&idp, "portal", false, None).await;
    let sub = |tokens: &Value| idp.id_token_claims(tokens)["sub"].clone();
    let books = tokens(&idp, "books", &a, "openid offline_access").await;
    let ledger = tokens(&idp, "ledger", &b, "openid").await;
    let payroll = tokens(&idp, "payroll", &c, "openid").await;
    let portal = tokens(&idp, "portal", &public, "openid").await;
    let pairwise = sub(&books);
    assert_eq!(sub(&ledger), pairwise, "one sector (rp.example), one sub");
    assert_ne!(sub(&payroll), pairwise, "another sector, another sub");
    assert_eq!(sub(&portal), json!(alice), "public: the person's own id");
    assert_ne!(pairwise, json!(alice));
    assert_eq!(
        pairwise.as_str().unwrap().len(),
        43,
        "base64url HMAC-SHA-256"
    );

    // The same sub at UserInfo, in introspection (access and refresh token), in the access
    // token itself, and after a refresh.
    assert_eq!(userinfo_sub(&idp, &books).await, pairwise);
    let access = books["access_token"].as_str().unwrap();
    assert_eq!(introspected_sub(&idp, "books", &a, access).await, pairwise);
    let refresh = books["refresh_token"].as_str().unwrap();
    assert_eq!(introspected_sub(&idp, "books", &a, refresh).await, pairwise);
    let state = &idp.state;
    let claims = state
        .published()
        .access_token_claims(access, state.issuer())
        .unwrap();
    assert_eq!(json!(claims.sub), pairwise);
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let (status, _, refreshed) = idp
        .post_as_client("/token", Some(("books", &a)), &form)
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(sub(&refreshed), pairwise);
    assert_eq!(userinfo_sub(&idp, &refreshed).await, pairwise);

    // The one function every place uses, for the helpers that compare an id_token_hint.
    let books_client = state
        .stores
        .clients
        .find_client("books")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(json!(state.subject_for(&books_client, &alice)), pairwise);
}

/// Serves `body` at `/uris.json` on a loopback port: the URL.
async fn serve(body: Value) -> String {
    let app = axum::Router::new().route(
        "/uris.json",
        axum::routing::get(move || async move { axum::Json(body) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/uris.json")
}

static LINKS: std::sync::LazyLock<idp_server::cli::LinkArgs> =
    std::sync::LazyLock::new(Default::default);

fn new_client<'a>(
    redirect_uris: &'a [String],
    person: &'a idp_server::cli_person::ClientPersonArgs,
) -> idp_server::cli::NewClient<'a> {
    idp_server::cli::NewClient {
        name: "Books",
        redirect_uris,
        post_logout_redirect_uris: &[],
        backchannel_logout_uri: None,
        public: false,
        admin: false,
        third_party: false,
        resource_server: false,
        auth_method: "client_secret_basic",
        id_token_alg: "ES256",
        jwks: None,
        jwks_uri: None,
        request_uris: &[],
        links: &LINKS,
        person,
        fapi2: false,
        owner: None,
    }
}

#[tokio::test]
async fn an_administrators_pairwise_client_must_list_its_redirect_uris_at_its_sector_uri() {
    let idp = Idp::start().await;
    let redirects = vec![REDIRECT.to_owned(), "https://other.example/cb".to_owned()];
    let good = serve(json!([
        REDIRECT,
        "https://other.example/cb",
        "https://more.example/x"
    ]))
    .await;
    let bad = serve(json!([REDIRECT])).await;
    let pairwise = |uri: Option<&str>| idp_server::cli_person::ClientPersonArgs {
        subject_type: Some("pairwise".into()),
        sector_identifier_uri: uri.map(str::to_owned),
        userinfo_alg: None,
        ..Default::default()
    };

    let refused =
        idp_server::cli::create_client(&idp.state, new_client(&redirects, &pairwise(Some(&bad))))
            .await
            .unwrap_err();
    assert!(refused.0.contains("https://other.example/cb"), "{refused}");
    let refused =
        idp_server::cli::create_client(&idp.state, new_client(&redirects, &pairwise(None)))
            .await
            .unwrap_err();
    assert!(refused.0.contains("more than one host"), "{refused}");
    assert_eq!(idp.count("clients", "TRUE"), 0);

    let made =
        idp_server::cli::create_client(&idp.state, new_client(&redirects, &pairwise(Some(&good))))
            .await
            .unwrap();
    assert_eq!(made["subject_type"], "pairwise");
    let id = made["client_id"].as_str().unwrap();
    let client = idp
        .state
        .stores
        .clients
        .find_client(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.metadata.subject_type, SubjectType::Pairwise);
    assert_eq!(
        idp_oauth::subject::sector(&client).as_deref(),
        Some("127.0.0.1")
    );
}

#[tokio::test]
async fn a_registered_pairwise_client_needs_an_https_public_sector_uri_that_lists_its_redirects() {
    let idp = Idp::start().await;
    let initial = idp_server::cli::create_registration_token(&idp.state, "1h", 1)
        .await
        .unwrap();
    let token = initial["initial_access_token"].as_str().unwrap();
    let local = serve(json!([REDIRECT])).await;
    let loopback_https = local.replace("http://", "https://");
    for (metadata, mentions) in [
        (
            json!({ "redirect_uris": [REDIRECT], "subject_type": "pairwise", "sector_identifier_uri": local }),
            "https",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "subject_type": "pairwise", "sector_identifier_uri": loopback_https }),
            "public address",
        ),
        (
            json!({ "redirect_uris": [REDIRECT, "https://other.example/cb"], "subject_type": "pairwise" }),
            "more than one host",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "subject_type": "secret" }),
            "subject_type",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "userinfo_signed_response_alg": "none" }),
            "userinfo_signed_response_alg",
        ),
    ] {
        let (status, body) = idp
            .json_request("POST", "/register", Some(token), Some(&metadata))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{metadata}: {body}");
        assert_eq!(body["error"], "invalid_client_metadata", "{body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(mentions), "{description}");
    }
    assert_eq!(idp.count("clients", "TRUE"), 0, "nothing registered");

    let metadata = json!({ "redirect_uris": [REDIRECT], "subject_type": "pairwise", "userinfo_signed_response_alg": "ES256" });
    let (status, body) = idp
        .json_request("POST", "/register", Some(token), Some(&metadata))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["subject_type"], "pairwise");
    assert_eq!(body["userinfo_signed_response_alg"], "ES256");
}

#[tokio::test]
async fn a_registered_pairwise_client_keeps_its_sector() {
    let idp = Idp::start().await;
    let initial = idp_server::cli::create_registration_token(&idp.state, "1h", 1)
        .await
        .unwrap();
    let token = initial["initial_access_token"].as_str().unwrap();
    let metadata = json!({ "redirect_uris": [REDIRECT], "subject_type": "pairwise" });
    let (status, client) = idp
        .json_request("POST", "/register", Some(token), Some(&metadata))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let id = client["client_id"].as_str().unwrap();
    let path = format!("/register/{id}");
    let manage = client["registration_access_token"].as_str().unwrap();
    let same_host = json!({ "client_id": id, "redirect_uris": [REDIRECT, "https://rp.example/other"], "subject_type": "pairwise" });
    let (status, body) = idp
        .json_request("PUT", &path, Some(manage), Some(&same_host))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for moved in [
        json!({ "client_id": id, "redirect_uris": ["https://elsewhere.example/cb"], "subject_type": "pairwise" }),
        json!({ "client_id": id, "redirect_uris": [REDIRECT] }),
    ] {
        let (status, body) = idp
            .json_request("PUT", &path, Some(manage), Some(&moved))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{moved}: {body}");
        assert_eq!(body["error"], "invalid_client_metadata");
    }
    let stored = idp
        .state
        .stores
        .clients
        .find_client(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.redirect_uris.len(),
        2,
        "the refused changes changed nothing"
    );
}

#[tokio::test]
async fn a_pairwise_clients_id_token_hint_names_the_person_of_the_session() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.user("alice").await;
    let secret = client(&idp, "books", true, None).await;
    let mut browser = Browser::new(&idp);
    let answer = browser
        .sign_in(&authorize("books", &[("scope", "openid")]), "alice")
        .await;
    let (status, tokens) = exchange_code(&idp, Some(("books", &secret)), &answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let hint = tokens["id_token"].as_str().unwrap();
    let silent = browser
        .get(&authorize(
            "books",
            &[("prompt", "none"), ("id_token_hint", hint)],
        ))
        .await;
    assert!(
        silent.gives_code(),
        "the hint's pairwise sub is the session's person: {silent:?}"
    );
}

#[tokio::test]
async fn a_sub_asked_for_with_a_value_answers_only_for_that_persons_session() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.user("alice").await;
    let secret = client(&idp, "books", true, None).await;
    let mut browser = Browser::new(&idp);
    let answer = browser
        .sign_in(&authorize("books", &[("scope", "openid")]), "alice")
        .await;
    let (_, tokens) = exchange_code(&idp, Some(("books", &secret)), &answer).await;
    let sub = idp.id_token_claims(&tokens)["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let asking = |value: &str| json!({ "id_token": { "sub": { "value": value } } }).to_string();
    let silent = |claims: String| authorize("books", &[("prompt", "none"), ("claims", &claims)]);
    let same = browser.get(&silent(asking(&sub))).await;
    assert!(same.gives_code(), "{same:?}");
    let other = browser.get(&silent(asking("someone-else"))).await;
    assert_eq!(
        crate::page::param(other.to(), "error").as_deref(),
        Some("login_required"),
        "{other:?}"
    );
}
