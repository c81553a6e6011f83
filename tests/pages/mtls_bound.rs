//! Tokens bound to a TLS client certificate (RFC 8705) or a DPoP key (RFC 9449) where the
//! proxy asks for certificates at a host of its own (`mtls.endpoint_aliases_base`), and at the
//! admin API: each works only with what it is bound to.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use idp_core::model::{TlsClientAuthName, TokenEndpointAuthMethod};
use serde_json::json;

use crate::mtls::{ALIAS_HOST, Cert, Via, post, post_at, send, start, tls_client};
use crate::support::dpop::{ProofKey, access_claims};

#[tokio::test]
async fn with_endpoint_aliases_certificates_count_only_at_their_host_and_proofs_name_it() {
    let idp = start(|s| s.mtls.endpoint_aliases_base = format!("https://{ALIAS_HOST}")).await;
    tls_client(&idp, "svc", "svc", false).await;
    let cert = Cert::new("svc");
    let form = [("grant_type", "client_credentials"), ("client_id", "svc")];
    // At the issuer's host no certificate is asked for: whatever the header says is not one.
    let (status, _, body) = post(&idp, Via::Proxy(Some(&cert)), "/token", &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{body}"
    );
    let host = idp.state.issuer().trim_start_matches("http://").to_owned();
    let (status, _, body) = post_at(&idp, &host, Via::Proxy(Some(&cert)), "/token", &form).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _, body) =
        post_at(&idp, ALIAS_HOST, Via::Proxy(Some(&cert)), "/token", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A DPoP proof sent to the alias names the alias's URL (RFC 9449 §4.2), not the issuer's.
    let key = ProofKey::new();
    let proof_for = |url: &str| {
        let mut claims = key.claims(&idp, "POST", "/token", None);
        claims["htu"] = json!(url);
        key.sign(&key.header(), &claims)
    };
    for (url, expected) in [
        (format!("https://{ALIAS_HOST}/token"), StatusCode::OK),
        (
            format!("{}/token", idp.state.issuer()),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let request = Request::post("/token")
            .header(header::HOST, ALIAS_HOST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("DPoP", proof_for(&url));
        let body = Body::from(serde_urlencoded::to_string(form).unwrap());
        let (status, _, tokens) = send(&idp, Via::Proxy(Some(&cert)), request, body).await;
        assert_eq!(status, expected, "{url}: {tokens}");
        if status == StatusCode::OK {
            assert_eq!(tokens["token_type"], "DPoP");
        } else {
            assert_eq!(tokens["error"], "invalid_dpop_proof");
        }
    }
}

#[tokio::test]
async fn the_admin_api_takes_a_certificate_bound_token_only_with_its_certificate() {
    let idp = start(|_| {}).await;
    idp.confidential_client_with("ops", |client| {
        client.secret_hash = None;
        client.admin = true;
        client.token_endpoint_auth_method = TokenEndpointAuthMethod::TlsClientAuth;
        client.metadata.tls_client_auth = TlsClientAuthName {
            tls_client_auth_san_dns: Some("ops.example".into()),
            ..TlsClientAuthName::default()
        };
        client.metadata.tls_client_certificate_bound_access_tokens = true;
    })
    .await;
    let cert = Cert::new("ops");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "ops"),
        ("scope", "admin"),
    ];
    let (status, _, tokens) = post(&idp, Via::Proxy(Some(&cert)), "/token", &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        access_claims(&idp, token)["cnf"]["x5t#S256"],
        cert.thumbprint()
    );
    let keys = |via| {
        let request =
            Request::get("/admin/keys").header(header::AUTHORIZATION, format!("Bearer {token}"));
        send(&idp, via, request, Body::empty())
    };
    let (status, _, body) = keys(Via::Proxy(Some(&cert))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stranger = Cert::new("stranger");
    for (via, case) in [
        (Via::Proxy(None), "no certificate"),
        (Via::Proxy(Some(&stranger)), "another certificate"),
        (Via::Elsewhere(&cert), "a header not from the proxy"),
    ] {
        let (status, _, body) = keys(via).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            "{case}: {body}"
        );
    }
}

#[tokio::test]
async fn the_admin_api_takes_a_dpop_bound_token_only_with_a_proof_from_its_key() {
    let idp = start(|_| {}).await;
    let secret = idp
        .confidential_client_with("ops", |client| client.admin = true)
        .await;
    let key = ProofKey::new();
    let request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(
            header::AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(format!("ops:{secret}"))),
        )
        .header("DPoP", key.proof(&idp, "POST", "/token", None));
    let form = [("grant_type", "client_credentials"), ("scope", "admin")];
    let body = Body::from(serde_urlencoded::to_string(form).unwrap());
    let (status, _, tokens) = send(&idp, Via::Proxy(None), request, body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    let keys = |scheme: &str, proof: Option<String>| {
        let mut request =
            Request::get("/admin/keys").header(header::AUTHORIZATION, format!("{scheme} {token}"));
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        send(&idp, Via::Proxy(None), request, Body::empty())
    };
    let (status, headers, body) = keys("Bearer", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token")),
        "{body}"
    );
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("DPoP")
    );
    let thief = ProofKey::new().proof(&idp, "GET", "/admin/keys", Some(token));
    let (status, _, body) = keys("DPoP", Some(thief)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_dpop_proof")),
        "{body}"
    );
    let proof = key.proof(&idp, "GET", "/admin/keys", Some(token));
    let (status, _, body) = keys("DPoP", Some(proof)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
