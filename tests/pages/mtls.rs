//! Mutual TLS (RFC 8705) behind a trusted proxy that forwards the client's certificate in
//! `X-Client-Cert`: clients authenticate with a certificate (`tls_client_auth`,
//! `self_signed_tls_client_auth`), access tokens are bound to it (`cnf.x5t#S256`) and work
//! only with it, and a client under the FAPI 2.0 profile may use it instead of DPoP. The
//! certificates are made here.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use idp_core::model::{TlsClientAuthName, TokenEndpointAuthMethod};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::page::param;
use crate::support::dpop::{ProofKey, access_claims};
use crate::support::{Browser, Idp, Page, REDIRECT, VERIFIER, authorize};

pub(crate) const HEADER: &str = "x-client-cert";
pub(crate) const VERIFY: &str = "x-client-verify";
/// Where the proxy asks for certificates, when the aliases are set.
pub(crate) const ALIAS_HOST: &str = "mtls.idp.example";
pub(crate) const PROXY: &str = "127.0.0.1:40000";

/// A certificate the tests make: DER, and as nginx's `$ssl_client_escaped_cert` forwards it.
pub(crate) struct Cert {
    der: Vec<u8>,
    escaped: String,
}

impl Cert {
    /// For `CN={cn},O=Example,C=GB`, with the DNS name `{cn}.example`.
    pub(crate) fn new(cn: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CountryName, "GB");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Example");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.subject_alt_names = vec![SanType::DnsName(
            format!("{cn}.example").try_into().unwrap(),
        )];
        let cert = params.self_signed(&key).unwrap();
        let escaped = url::form_urlencoded::byte_serialize(cert.pem().as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        Self {
            der: cert.der().to_vec(),
            escaped,
        }
    }

    /// `x5t#S256`.
    pub(crate) fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.der))
    }

    /// A JWK Set with this certificate in `x5c` (a self-signed client's registration).
    fn jwks(&self) -> Value {
        json!({ "keys": [{ "kty": "EC", "crv": "P-256", "use": "sig", "x5c": [STANDARD.encode(&self.der)] }] })
    }
}

/// How a request reaches the provider: from the trusted proxy with a certificate it verified
/// against an authority it trusts (or none), or with one it let through unverified
/// (`optional_no_ca`), or straight from somewhere else with headers the sender wrote itself.
#[derive(Clone, Copy)]
pub(crate) enum Via<'a> {
    Proxy(Option<&'a Cert>),
    Unverified(&'a Cert),
    Elsewhere(&'a Cert),
}

pub(crate) async fn send(
    idp: &Idp,
    via: Via<'_>,
    request: axum::http::request::Builder,
    body: Body,
) -> (StatusCode, HeaderMap, Value) {
    let (peer, cert, verdict) = match via {
        Via::Proxy(cert) => (PROXY, cert, "SUCCESS"),
        Via::Unverified(cert) => (PROXY, Some(cert), "FAILED:self signed certificate"),
        Via::Elsewhere(cert) => ("203.0.113.9:5000", Some(cert), "SUCCESS"),
    };
    let mut request = request;
    if let Some(cert) = cert {
        request = request
            .header(HEADER, &cert.escaped)
            .header(VERIFY, verdict);
    }
    let mut request = request.body(body).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    idp.call(request).await
}

pub(crate) async fn post(
    idp: &Idp,
    via: Via<'_>,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let body = Body::from(serde_urlencoded::to_string(form).unwrap());
    send(idp, via, request, body).await
}

/// `post` to the host `host` (the `Host` the proxy passes on).
pub(crate) async fn post_at(
    idp: &Idp,
    host: &str,
    via: Via<'_>,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let request = Request::post(path)
        .header(header::HOST, host)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let body = Body::from(serde_urlencoded::to_string(form).unwrap());
    send(idp, via, request, body).await
}

async fn userinfo(idp: &Idp, via: Via<'_>, token: &str) -> (StatusCode, HeaderMap, Value) {
    let request =
        Request::get("/userinfo").header(header::AUTHORIZATION, format!("Bearer {token}"));
    send(idp, via, request, Body::empty()).await
}

pub(crate) async fn start(adjust: impl FnOnce(&mut idp_server::config::Settings)) -> Idp {
    let idp = Idp::with(|s| {
        s.new_device.enabled = false;
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.mtls.certificate_header = "X-Client-Cert".into();
        s.mtls.verify_header = "X-Client-Verify".into();
        adjust(s);
    })
    .await;
    idp.user("alice").await;
    idp
}

/// A first-party client `id` that authenticates with a certificate naming `{cn}.example`,
/// its tokens bound to it when `bound`.
pub(crate) async fn tls_client(idp: &Idp, id: &str, cn: &str, bound: bool) {
    idp.confidential_client_with(id, |client| {
        client.secret_hash = None;
        client.token_endpoint_auth_method = TokenEndpointAuthMethod::TlsClientAuth;
        client.metadata.tls_client_auth = TlsClientAuthName {
            tls_client_auth_san_dns: Some(format!("{cn}.example")),
            ..TlsClientAuthName::default()
        };
        client.metadata.tls_client_certificate_bound_access_tokens = bound;
    })
    .await;
}

async fn signed_in(idp: &Idp, id: &str) -> Page {
    let done = Browser::new(idp)
        .sign_in(
            &authorize(id, &[("scope", "openid email offline_access")]),
            "alice",
        )
        .await;
    assert!(done.gives_code(), "{done:?}");
    done
}

fn code_form<'a>(id: &'a str, code: &'a str) -> [(&'static str, &'a str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", id),
        ("code_verifier", VERIFIER),
    ]
}

#[tokio::test]
async fn a_client_signs_in_with_its_certificate_and_its_tokens_work_only_with_it() {
    let idp = start(|_| {}).await;
    tls_client(&idp, "portal", "portal", true).await;
    let cert = Cert::new("portal");
    let code = param(signed_in(&idp, "portal").await.to(), "code").unwrap();
    let form = code_form("portal", &code);

    // Without a certificate, with another one, or with one written by the client itself
    // rather than the proxy: the client is not authenticated, and the code is not spent.
    let stranger = Cert::new("stranger");
    for (via, case) in [
        (Via::Proxy(None), "no certificate"),
        (Via::Proxy(Some(&stranger)), "another certificate"),
        (
            Via::Unverified(&cert),
            "a certificate no trusted authority issued",
        ),
        (Via::Elsewhere(&cert), "a header not from the proxy"),
    ] {
        let (status, _, body) = post(&idp, via, "/token", &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client")),
            "{case}: {body}"
        );
    }

    let (status, _, tokens) = post(&idp, Via::Proxy(Some(&cert)), "/token", &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    // Bound to the certificate, the token is still a Bearer token (RFC 8705 §3).
    assert_eq!(tokens["token_type"], "Bearer");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        access_claims(&idp, token)["cnf"],
        json!({ "x5t#S256": cert.thumbprint() })
    );

    let (status, _, body) = userinfo(&idp, Via::Proxy(Some(&cert)), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "alice@example.com");
    for (via, case) in [
        (Via::Proxy(None), "no certificate"),
        (Via::Proxy(Some(&stranger)), "another certificate"),
        (Via::Elsewhere(&cert), "a header not from the proxy"),
    ] {
        let (status, headers, body) = userinfo(&idp, via, token).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            "{case}: {body}"
        );
        assert!(headers.contains_key(header::WWW_AUTHENTICATE), "{case}");
    }

    // Introspection tells a resource server the certificate (RFC 8705 §3.2).
    let (status, _, answer) = post(
        &idp,
        Via::Proxy(Some(&cert)),
        "/introspect",
        &[("token", token), ("client_id", "portal")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["cnf"], json!({ "x5t#S256": cert.thumbprint() }));

    // Refresh, authenticated by the certificate; the new access token is bound to it too.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", "portal"),
    ];
    let (status, _, refreshed) = post(&idp, Via::Proxy(Some(&cert)), "/token", &form).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let token = refreshed["access_token"].as_str().unwrap();
    assert_eq!(
        access_claims(&idp, token)["cnf"]["x5t#S256"],
        cert.thumbprint()
    );

    // Revocation, authenticated the same way.
    let (status, _, body) = post(
        &idp,
        Via::Proxy(Some(&cert)),
        "/revoke",
        &[("token", token), ("client_id", "portal")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = userinfo(&idp, Via::Proxy(Some(&cert)), token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_self_signed_client_uses_a_certificate_of_its_jwks() {
    let idp = start(|_| {}).await;
    let cert = Cert::new("batch");
    let jwks = cert.jwks();
    idp.confidential_client_with("batch", |client| {
        client.secret_hash = None;
        client.token_endpoint_auth_method = TokenEndpointAuthMethod::SelfSignedTlsClientAuth;
        client.metadata.jwks = Some(jwks);
    })
    .await;
    let form = [("grant_type", "client_credentials"), ("client_id", "batch")];
    // A self-signed certificate is one no authority vouches for: the proxy lets it through.
    let (status, _, tokens) = post(&idp, Via::Unverified(&cert), "/token", &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    // Not registered for bound tokens: the token is a plain bearer token.
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(access_claims(&idp, token).get("cnf"), None);
    // A certificate with the same names but another key is not the one registered.
    let twin = Cert::new("batch");
    let (status, _, body) = post(&idp, Via::Proxy(Some(&twin)), "/token", &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{body}"
    );
}

#[tokio::test]
async fn what_the_proxy_forwards_must_be_one_readable_certificate() {
    let idp = start(|_| {}).await;
    tls_client(&idp, "svc", "svc", false).await;
    let cert = Cert::new("svc");
    let form =
        serde_urlencoded::to_string([("grant_type", "client_credentials"), ("client_id", "svc")])
            .unwrap();
    let request = |values: &[&str]| {
        let mut request = Request::post("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for value in values {
            request = request.header(HEADER, *value);
        }
        request
    };
    for (values, case) in [
        (vec!["not a certificate"], "unreadable"),
        (
            vec![cert.escaped.as_str(), cert.escaped.as_str()],
            "two headers",
        ),
    ] {
        let (status, _, body) = send(
            &idp,
            Via::Proxy(None),
            request(&values),
            Body::from(form.clone()),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{case}: {body}"
        );
    }
    // An empty header (nginx without a certificate) is no certificate.
    let (status, _, body) = send(
        &idp,
        Via::Proxy(None),
        request(&[""]),
        Body::from(form.clone()),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{body}"
    );
    let (status, _, body) = send(
        &idp,
        Via::Proxy(Some(&cert)),
        request(&[]),
        Body::from(form),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_fapi_client_may_bind_its_tokens_to_its_certificate_instead_of_a_dpop_key() {
    let idp = start(|s| s.fapi2.all_clients = true).await;
    tls_client(&idp, "bank", "bank", false).await;
    let cert = Cert::new("bank");
    // Through PAR, authenticated by the certificate.
    let url = authorize("bank", &[("scope", "openid email")]);
    let query = url.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, _, pushed) = post(&idp, Via::Proxy(Some(&cert)), "/par", &form).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let query = serde_urlencoded::to_string([("client_id", "bank"), ("request_uri", request_uri)]);
    let done = Browser::new(&idp)
        .sign_in(&format!("/authorize?{}", query.unwrap()), "alice")
        .await;
    let code = param(done.to(), "code").unwrap();
    // No DPoP proof: the profile's sender constraint is the certificate.
    let (status, _, tokens) = post(
        &idp,
        Via::Proxy(Some(&cert)),
        "/token",
        &code_form("bank", &code),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        access_claims(&idp, token)["cnf"],
        json!({ "x5t#S256": cert.thumbprint() })
    );
    // With a DPoP proof, the DPoP key binds the token instead.
    let key = ProofKey::new();
    let form = [("grant_type", "client_credentials"), ("client_id", "bank")];
    let request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("DPoP", key.proof(&idp, "POST", "/token", None));
    let body = Body::from(serde_urlencoded::to_string(form).unwrap());
    let (status, _, tokens) = send(&idp, Via::Proxy(Some(&cert)), request, body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        access_claims(&idp, token)["cnf"],
        json!({ "jkt": key.jkt() })
    );
}

#[tokio::test]
async fn discovery_and_registration_offer_mutual_tls_only_when_it_is_configured() {
    async fn discovery(idp: &Idp) -> Value {
        let request = Request::get("/.well-known/openid-configuration").body(Body::empty());
        idp.call(request.unwrap()).await.2
    }
    let off = Idp::with(|s| s.registration.require_initial_access_token = false).await;
    let document = discovery(&off).await;
    assert!(
        document
            .get("tls_client_certificate_bound_access_tokens")
            .is_none()
    );
    assert!(document.get("mtls_endpoint_aliases").is_none());
    assert!(
        !document["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("tls_client_auth"))
    );
    let tls = json!({
        "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "tls_client_auth",
        "tls_client_auth_subject_dn": "CN=portal,O=Example,C=GB",
        "tls_client_certificate_bound_access_tokens": true,
    });
    let (status, body) = off.post_json("/register", &tls).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client_metadata")),
        "{body}"
    );

    let on = start(|s| {
        s.registration.require_initial_access_token = false;
        s.mtls.endpoint_aliases_base = format!("https://{ALIAS_HOST}");
    })
    .await;
    let document = discovery(&on).await;
    assert_eq!(document["tls_client_certificate_bound_access_tokens"], true);
    for list in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        for method in ["tls_client_auth", "self_signed_tls_client_auth"] {
            assert!(
                document[list].as_array().unwrap().contains(&json!(method)),
                "{list}"
            );
        }
    }
    assert_eq!(
        document["mtls_endpoint_aliases"]["token_endpoint"],
        "https://mtls.idp.example/token"
    );
    assert_eq!(
        document["mtls_endpoint_aliases"]["pushed_authorization_request_endpoint"],
        "https://mtls.idp.example/par"
    );
    let (status, client) = on.post_json("/register", &tls).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(
        client["tls_client_auth_subject_dn"],
        "CN=portal,O=Example,C=GB"
    );
    assert_eq!(client["tls_client_certificate_bound_access_tokens"], true);
    assert!(client.get("client_secret").is_none());
    // The registered client authenticates with a certificate of that subject.
    let id = client["client_id"].as_str().unwrap();
    let cert = Cert::new("portal");
    let form = [("grant_type", "client_credentials"), ("client_id", id)];
    let (status, _, tokens) =
        post_at(&on, ALIAS_HOST, Via::Proxy(Some(&cert)), "/token", &form).await;
    // Registered over HTTP for the code flow only: not for client_credentials.
    assert_eq!(tokens["error"], "unauthorized_client", "{tokens}");
    assert_eq!(status, StatusCode::BAD_REQUEST);

    for (bad, case) in [
        (json!({ "tls_client_auth_subject_dn": null }), "no name"),
        (
            json!({ "tls_client_auth_san_dns": "portal.example" }),
            "two names",
        ),
        (
            json!({ "token_endpoint_auth_method": "self_signed_tls_client_auth", "tls_client_auth_subject_dn": null, "jwks": { "keys": [{ "kty": "EC" }] } }),
            "no x5c",
        ),
    ] {
        let mut body = tls.clone();
        for (k, v) in bad.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = on.post_json("/register", &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_client_metadata")),
            "{case}: {answer}"
        );
    }
}
