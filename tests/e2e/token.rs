//! The token and UserInfo endpoints refusing what they must refuse.

use openidconnect::OAuth2TokenResponse as _;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// Signs alice in and returns the code and the PKCE verifier.
async fn code(f: &TaxPortal) -> (String, String) {
    let browser = Browser::new(&f.idp);
    let start = f.rp.start(&["email"], &[], true);
    let done = browser
        .sign_in(&browser.open(&start.url).await, "alice", PASSWORD, PIN)
        .await;
    let code = param(&done.location.unwrap(), "code").unwrap();
    (code, start.verifier.unwrap().secret().clone())
}

async fn post_token(
    f: &TaxPortal,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let http = reqwest::Client::new();
    let mut request = http.post(format!("{}/token", f.idp.issuer)).form(form);
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let f = TaxPortal::start().await;
    let (code, verifier) = code(&f).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", PORTAL_REDIRECT),
        ("code_verifier", &verifier),
    ];
    let auth = Some((f.client_id.as_str(), f.secret.as_str()));
    let (status, first) = post_token(&f, auth, &form).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let access_token = first["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo_status(&f.idp.issuer, access_token).await,
        StatusCode::OK
    );

    let (status, replay) = post_token(&f, auth, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(replay["error"], "invalid_grant");
    assert_eq!(
        userinfo_status(&f.idp.issuer, access_token).await,
        StatusCode::UNAUTHORIZED,
        "the first tokens are revoked"
    );
    assert_eq!(f.idp.count("grants", "revoked_at IS NOT NULL").await, 1);
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused_without_using_up_the_code() {
    let f = TaxPortal::start().await;
    let (code, verifier) = code(&f).await;
    let wrong = "x".repeat(43);
    let auth = Some((f.client_id.as_str(), f.secret.as_str()));
    for bad in [wrong.as_str(), "short"] {
        let (status, body) = post_token(
            &f,
            auth,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", PORTAL_REDIRECT),
                ("code_verifier", bad),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
    }
    assert_eq!(
        f.idp.count("grants", "TRUE").await,
        0,
        "no tokens were issued"
    );
    // Whoever holds a leaked code without the verifier cannot spoil it for the real client.
    let (status, body) = post_token(
        &f,
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", PORTAL_REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_missing_verifier_is_refused() {
    let f = TaxPortal::start().await;
    let (code, _) = code(&f).await;
    let auth = Some((f.client_id.as_str(), f.secret.as_str()));
    let (_, body) = post_token(
        &f,
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", PORTAL_REDIRECT),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "code_verifier is required");
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let f = TaxPortal::start().await;
    let other = f
        .idp
        .create_client(&["--name", "Other", "--redirect-uri", PORTAL_REDIRECT]);
    let other_auth = Some((
        other["client_id"].as_str().unwrap(),
        other["client_secret"].as_str().unwrap(),
    ));
    let auth = Some((f.client_id.as_str(), f.secret.as_str()));
    let (code, verifier) = code(&f).await;
    let form = |redirect: &'static str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", redirect.to_owned()),
            ("code_verifier", verifier.clone()),
        ]
    };
    let send = |auth, form: Vec<(&'static str, String)>| {
        let f = &f;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_token(f, auth, &pairs).await
        }
    };
    let (status, body) = send(other_auth, form(PORTAL_REDIRECT)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "another client"
    );
    for redirect in ["http://127.0.0.1:9/callback/", "http://127.0.0.1:9/other"] {
        let (status, body) = send(auth, form(redirect)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "{redirect}"
        );
    }
    let mut without_redirect = form(PORTAL_REDIRECT);
    without_redirect.retain(|(k, _)| *k != "redirect_uri");
    let (_, body) = send(auth, without_redirect).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "redirect_uri is required when the request had one"
    );
    assert_eq!(f.idp.count("grants", "TRUE").await, 0);
    let (status, body) = send(auth, form(PORTAL_REDIRECT)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the real client still redeems it: {body}"
    );

    // A replay by another client is refused without touching the real client's grant.
    let (_, body) = send(other_auth, form(PORTAL_REDIRECT)).await;
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(f.idp.count("grants", "revoked_at IS NULL").await, 1);
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    let f = TaxPortal::start().await;
    let (code, verifier) = code(&f).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", PORTAL_REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, body) = post_token(&f, Some((&f.client_id, "wrong secret")), &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, body) = post_token(&f, Some(("no-such-client", "x")), &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, body) = post_token(&f, None, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    // A confidential client cannot pass as public by leaving out its secret.
    let mut public_try = form.to_vec();
    public_try.push(("client_id", &f.client_id));
    let (status, body) = post_token(&f, None, &public_try).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    // A client registered for client_secret_basic may not send its secret in the body.
    let mut post_auth = form.to_vec();
    post_auth.push(("client_id", &f.client_id));
    post_auth.push(("client_secret", &f.secret));
    let (status, body) = post_token(&f, None, &post_auth).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    // Both at once is refused too.
    let (status, body) = post_token(&f, Some((&f.client_id, &f.secret)), &post_auth).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    // The code survived failed client authentication: the client redeems it.
    let (status, body) = post_token(&f, Some((&f.client_id, &f.secret)), &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn malformed_token_requests_get_rfc_6749_errors() {
    let f = TaxPortal::start().await;
    let auth = Some((f.client_id.as_str(), f.secret.as_str()));
    let (_, body) = post_token(
        &f,
        auth,
        &[("grant_type", "password"), ("username", "alice")],
    )
    .await;
    assert_eq!(body["error"], "unsupported_grant_type");
    let (_, body) = post_token(&f, auth, &[("code", "x")]).await;
    assert_eq!(body["error"], "invalid_request");
    let (_, body) = post_token(
        &f,
        auth,
        &[("grant_type", "authorization_code"), ("code", "forged")],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
    let (_, body) = post_token(
        &f,
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("grant_type", "authorization_code"),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn userinfo_needs_a_valid_bearer_token() {
    let f = TaxPortal::start().await;
    let url = format!("{}/userinfo", f.idp.issuer);
    let http = reqwest::Client::new();
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let response = http
        .get(&url)
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // An ID token is not an access token.
    let (code, verifier) = code(&f).await;
    let tokens =
        f.rp.exchange(&code, Some(openidconnect::PkceCodeVerifier::new(verifier)))
            .await
            .unwrap();
    let id_token = openidconnect::TokenResponse::id_token(&tokens)
        .unwrap()
        .to_string();
    let response = http.get(&url).bearer_auth(id_token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = http
        .get(&url)
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
