//! Mutual TLS (RFC 8705) with the real binary behind a proxy on loopback that forwards the
//! client's certificate: `idp client create` sets up a client that authenticates with it,
//! and its access token is bound to it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{CertificateParams, KeyPair, SanType};
use reqwest::StatusCode;
use sha2::{Digest as _, Sha256};

use crate::support::*;

const MTLS: [(&str, &str); 3] = [
    ("IDP_MTLS__CERTIFICATE_HEADER", "X-Client-Cert"),
    ("IDP_MTLS__VERIFY_HEADER", "X-Client-Verify"),
    ("IDP_TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
];

#[tokio::test]
async fn a_client_the_cli_created_authenticates_with_its_certificate() {
    let idp = TestIdp::start_with(&MTLS).await;
    // Refused without the name its certificate must carry.
    let out = idp.cli(
        &[
            "client",
            "create",
            "--name",
            "Batch",
            "--redirect-uri",
            "https://batch.example/cb",
            "--token-endpoint-auth-method",
            "tls_client_auth",
        ],
        "",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tls_client_auth needs exactly one of"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client = idp.create_client(&[
        "--name",
        "Batch",
        "--redirect-uri",
        "https://batch.example/cb",
        "--token-endpoint-auth-method",
        "tls_client_auth",
        "--tls-client-auth-san-dns",
        "batch.example",
        "--tls-client-certificate-bound-access-tokens",
    ]);
    assert_eq!(client["token_endpoint_auth_method"], "tls_client_auth");
    assert_eq!(client["tls_client_auth_san_dns"], "batch.example");
    assert!(client.get("client_secret").is_none(), "{client}");
    let id = client["client_id"].as_str().unwrap();

    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.subject_alt_names = vec![SanType::DnsName("batch.example".try_into().unwrap())];
    let cert = params.self_signed(&key).unwrap();
    let escaped: String = url::form_urlencoded::byte_serialize(cert.pem().as_bytes()).collect();
    let http = reqwest::Client::new();
    let token = |with_cert: bool| {
        let mut request = http
            .post(format!("{}/token", idp.address))
            .form(&[("grant_type", "client_credentials"), ("client_id", id)]);
        if with_cert {
            request = request
                .header("X-Client-Cert", escaped.replace('+', "%20"))
                .header("X-Client-Verify", "SUCCESS");
        }
        request.send()
    };
    let answer = token(false).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let answer = token(true).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let tokens: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    let access = tokens["access_token"].as_str().unwrap();
    let payload = access.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(cert.der()));
    assert_eq!(claims["cnf"]["x5t#S256"], thumbprint);

    // A provider that reads no certificates refuses to create such a client.
    let out = idp.cli_with(
        &[
            ("IDP_MTLS__CERTIFICATE_HEADER", ""),
            ("IDP_MTLS__VERIFY_HEADER", ""),
        ],
        &[
            "client",
            "create",
            "--name",
            "Other",
            "--redirect-uri",
            "https://o.example/cb",
            "--token-endpoint-auth-method",
            "self_signed_tls_client_auth",
            "--jwks",
            r#"{"keys":[{"kty":"EC"}]}"#,
        ],
        "",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("mutual TLS is not offered"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
