//! The token and UserInfo endpoints refusing what they must refuse, and changing nothing
//! when they do.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;

use crate::page::param;
use crate::support::{Browser, Idp, REDIRECT, VERIFIER, authorize};

/// The tax portal: a confidential client, and alice.
struct Portal {
    idp: Idp,
    secret: String,
}

impl Portal {
    async fn start() -> Self {
        let idp = Idp::with(|s| s.new_device.enabled = false).await;
        let secret = idp.confidential_client("portal").await;
        idp.user("alice").await;
        Self { idp, secret }
    }

    fn auth(&self) -> Option<(&str, &str)> {
        Some(("portal", self.secret.as_str()))
    }

    /// Signs alice in to the portal: the code.
    async fn code(&self) -> String {
        let mut browser = Browser::new(&self.idp);
        let answer = browser.sign_in(&authorize("portal", &[]), "alice").await;
        param(answer.to(), "code").unwrap()
    }

    /// A token request, with HTTP Basic client authentication when `auth` is given. Every
    /// answer of the token endpoint says `Cache-Control: no-store`.
    async fn token(
        &self,
        auth: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let (status, headers, body) = self.idp.post_as_client("/token", auth, form).await;
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{body}");
        (status, body)
    }

    /// The status UserInfo answers to `authorization` (a whole header value), or to none.
    async fn userinfo(&self, authorization: Option<&str>) -> (StatusCode, axum::http::HeaderMap) {
        let mut request = Request::builder().method("GET").uri("/userinfo");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let (status, headers, _) = self.idp.call(request.body(Body::empty()).unwrap()).await;
        (status, headers)
    }
}

fn exchange_form(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let portal = Portal::start().await;
    let form = exchange_form(&portal.code().await);
    let (status, first) = portal.token(portal.auth(), &pairs(&form)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let bearer = format!("Bearer {}", first["access_token"].as_str().unwrap());
    assert_eq!(portal.userinfo(Some(&bearer)).await.0, StatusCode::OK);

    let (status, replay) = portal.token(portal.auth(), &pairs(&form)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(replay["error"], "invalid_grant");
    assert_eq!(
        portal.userinfo(Some(&bearer)).await.0,
        StatusCode::UNAUTHORIZED,
        "the first tokens are revoked"
    );
    assert_eq!(portal.idp.count("grants", "revoked_at IS NOT NULL"), 1);
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused_without_using_up_the_code() {
    let portal = Portal::start().await;
    let code = portal.code().await;
    let wrong = "x".repeat(43);
    for bad in [wrong.as_str(), "short"] {
        let mut form = exchange_form(&code);
        form.retain(|(k, _)| *k != "code_verifier");
        form.push(("code_verifier", bad.to_owned()));
        let (status, body) = portal.token(portal.auth(), &pairs(&form)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
    }
    assert_eq!(
        portal.idp.count("grants", "TRUE"),
        0,
        "no tokens were issued"
    );
    // Whoever holds a leaked code without the verifier cannot spoil it for the real client.
    let (status, body) = portal
        .token(portal.auth(), &pairs(&exchange_form(&code)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_missing_verifier_is_refused() {
    let portal = Portal::start().await;
    let mut form = exchange_form(&portal.code().await);
    form.retain(|(k, _)| *k != "code_verifier");
    let (_, body) = portal.token(portal.auth(), &pairs(&form)).await;
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "code_verifier is required");
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let portal = Portal::start().await;
    let other_secret = portal.idp.confidential_client("other").await;
    let other = Some(("other", other_secret.as_str()));
    let code = portal.code().await;
    let form = exchange_form(&code);
    let (status, body) = portal.token(other, &pairs(&form)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "another client"
    );
    for redirect in [
        format!("{REDIRECT}/"),
        "https://rp.example/other".to_owned(),
    ] {
        let mut form = exchange_form(&code);
        form.retain(|(k, _)| *k != "redirect_uri");
        form.push(("redirect_uri", redirect.clone()));
        let (status, body) = portal.token(portal.auth(), &pairs(&form)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "{redirect}"
        );
    }
    let mut without_redirect = exchange_form(&code);
    without_redirect.retain(|(k, _)| *k != "redirect_uri");
    let (_, body) = portal.token(portal.auth(), &pairs(&without_redirect)).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "redirect_uri is required when the request had one"
    );
    assert_eq!(portal.idp.count("grants", "TRUE"), 0);
    let (status, body) = portal.token(portal.auth(), &pairs(&form)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the real client still redeems it: {body}"
    );

    // A replay by another client is refused without touching the real client's grant.
    let (_, body) = portal.token(other, &pairs(&form)).await;
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(portal.idp.count("grants", "revoked_at IS NULL"), 1);
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    let portal = Portal::start().await;
    let form = exchange_form(&portal.code().await);
    let form = pairs(&form);
    let invalid_client = (StatusCode::UNAUTHORIZED, Some("invalid_client"));
    for auth in [
        Some(("portal", "wrong secret")),
        Some(("no-such-client", "x")),
        None,
    ] {
        let (status, body) = portal.token(auth, &form).await;
        assert_eq!((status, body["error"].as_str()), invalid_client, "{auth:?}");
    }
    // A confidential client cannot pass as public by leaving out its secret.
    let mut public_try = form.clone();
    public_try.push(("client_id", "portal"));
    let (status, body) = portal.token(None, &public_try).await;
    assert_eq!((status, body["error"].as_str()), invalid_client);

    // A client registered for client_secret_basic may not send its secret in the body.
    let mut post_auth = public_try.clone();
    post_auth.push(("client_secret", &portal.secret));
    let (status, body) = portal.token(None, &post_auth).await;
    assert_eq!((status, body["error"].as_str()), invalid_client);
    // Both at once is refused too.
    let (status, body) = portal.token(portal.auth(), &post_auth).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    // The code survived failed client authentication: the client redeems it.
    let (status, body) = portal.token(portal.auth(), &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn malformed_token_requests_get_rfc_6749_errors() {
    let portal = Portal::start().await;
    let auth = portal.auth();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("grant_type", "password"), ("username", "alice")],
            "unsupported_grant_type",
        ),
        (&[("code", "x")], "invalid_request"),
        (
            &[("grant_type", "authorization_code"), ("code", "forged")],
            "invalid_grant",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("grant_type", "authorization_code"),
            ],
            "invalid_request",
        ),
    ];
    for (form, error) in cases {
        let (_, body) = portal.token(auth, form).await;
        assert_eq!(body["error"], error, "{form:?}");
    }
}

#[tokio::test]
async fn userinfo_needs_a_valid_bearer_token() {
    let portal = Portal::start().await;
    let (status, headers) = portal.userinfo(None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    let (status, _) = portal.userinfo(Some("Bearer not.a.jwt")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An ID token is not an access token.
    let form = exchange_form(&portal.code().await);
    let (_, tokens) = portal.token(portal.auth(), &pairs(&form)).await;
    let id_token = format!("Bearer {}", tokens["id_token"].as_str().unwrap());
    assert_eq!(
        portal.userinfo(Some(&id_token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let access = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    assert_eq!(portal.userinfo(Some(&access)).await.0, StatusCode::OK);
}
