//! The sender-constrained modules of the FAPI 2.0 Security Profile test plan (`docs/fapi2.md`
//! §5) that other tests drove only for clients outside the profile, or not at all: UserInfo
//! with the token type in another case, DPoP proofs with `nbf` and `exp`, the DPoP negative
//! tests at UserInfo, and the `mtls` variants (discovery, certificate-bound tokens at UserInfo
//! and on refresh, a token request with neither proof nor certificate). Every client here is
//! under the profile.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::model::{TlsClientAuthName, TokenEndpointAuthMethod};
use serde_json::{Value, json};

use crate::fapi::{
    JWT_BEARER, assertion, authorize_uri, issuer, key_client, post_signed_with, request_of,
    signed_in_through_par,
};
use crate::fapi_plan::{bank, pushed, redeem, signed_in_at};
use crate::mtls::{ALIAS_HOST, Cert, Via, post, send, start};
use crate::page::param;
use crate::request_objects::TestKey;
use crate::support::dpop::{ProofKey, access_claims, ath};
use crate::support::{Idp, REDIRECT, VERIFIER};

/// UserInfo (GET) with this `Authorization` value and these other headers, as `via` sends it.
async fn userinfo(
    idp: &Idp,
    via: Via<'_>,
    authorization: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::get("/userinfo").header(header::AUTHORIZATION, authorization);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(idp, via, request, Body::empty()).await
}

/// `bank` pushes its usual request, alice signs in, and the code is redeemed with a proof of
/// `holder`: the tokens, bound to `holder`'s key.
async fn dpop_tokens(idp: &Idp, key: &TestKey, holder: &ProofKey) -> Value {
    let request_uri = pushed(idp, key, &request_of("bank", &[], &[]), None).await;
    let done = signed_in_at(idp, &authorize_uri("bank", &request_uri)).await;
    let proof = holder.proof(idp, "POST", "/token", None);
    let (status, tokens) = redeem(idp, key, &done, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    tokens
}

/// A client `id` under the profile that authenticates with `tls_client_auth`, by the DNS name
/// of `Cert::new(id)`; registered for certificate-bound tokens or not, it gets them when it
/// sends no proof.
async fn tls_fapi_client(idp: &Idp, id: &str) {
    idp.confidential_client_with(id, |client| {
        client.secret_hash = None;
        client.token_endpoint_auth_method = TokenEndpointAuthMethod::TlsClientAuth;
        client.metadata.tls_client_auth = TlsClientAuthName {
            tls_client_auth_san_dns: Some(format!("{id}.example")),
            ..TlsClientAuthName::default()
        };
        client.metadata.fapi2_security_profile = true;
    })
    .await;
}

/// `id` pushes its request with its certificate, alice signs in, and the code is redeemed
/// with the certificate and no proof: the tokens.
async fn certificate_tokens(idp: &Idp, id: &str, cert: &Cert) -> Value {
    let pairs = request_of(id, &[], &[]);
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, _, pushed) = post(idp, Via::Proxy(Some(cert)), "/par", &form).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let done = signed_in_at(idp, &authorize_uri(id, request_uri)).await;
    let code = param(done.to(), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", id),
        ("code_verifier", VERIFIER),
    ];
    let (status, _, tokens) = post(idp, Via::Proxy(Some(cert)), "/token", &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

fn assert_refused(
    answer: &(StatusCode, HeaderMap, Value),
    status: StatusCode,
    error: &str,
    case: &str,
) {
    assert_eq!(
        (answer.0, answer.2["error"].as_str()),
        (status, Some(error)),
        "{case}: {}",
        answer.2
    );
}

/// #9 `access-token-type-header-case-sensitivity`: the module sends the token type it was
/// given with every letter's case inverted (`dpOp`, `bEARER`); UserInfo takes the scheme in
/// any case (RFC 9110 §11.1), for a DPoP-bound and for a certificate-bound token.
#[tokio::test]
async fn userinfo_takes_the_token_type_in_any_case() {
    let idp = start(|_| {}).await;
    let key = TestKey::new("ES256", "bank-es");
    key_client(&idp, "bank", &[&key], true).await;
    let holder = ProofKey::new();
    let tokens = dpop_tokens(&idp, &key, &holder).await;
    let access = tokens["access_token"].as_str().unwrap();
    for scheme in ["dpOp", "dPoP", "dpop", "DPOP"] {
        let proof = holder.proof(&idp, "GET", "/userinfo", Some(access));
        let answer = userinfo(
            &idp,
            Via::Proxy(None),
            &format!("{scheme} {access}"),
            &[("DPoP", &proof)],
        )
        .await;
        assert_eq!(answer.0, StatusCode::OK, "{scheme}: {}", answer.2);
        assert_eq!(answer.2["sub"], "id-alice");
    }

    tls_fapi_client(&idp, "mtls-bank").await;
    let cert = Cert::new("mtls-bank");
    let tokens = certificate_tokens(&idp, "mtls-bank", &cert).await;
    assert_eq!(tokens["token_type"], "Bearer");
    let access = tokens["access_token"].as_str().unwrap();
    for scheme in ["bEARER", "bearer", "BEARER"] {
        let answer = userinfo(
            &idp,
            Via::Proxy(Some(&cert)),
            &format!("{scheme} {access}"),
            &[],
        )
        .await;
        assert_eq!(answer.0, StatusCode::OK, "{scheme}: {}", answer.2);
        assert_eq!(answer.2["sub"], "id-alice");
    }
}

/// #10 `check-dpop-proof-nbf-exp`: proofs that also carry `nbf` (now) and `exp` (five minutes
/// ahead), as the module makes them, are taken at PAR, the token endpoint and UserInfo. We
/// ignore both claims: a proof whose `nbf` is an hour ahead and `exp` an hour past is taken too.
#[tokio::test]
async fn proofs_that_carry_nbf_and_exp_are_taken() {
    let (idp, key) = bank().await;
    let holder = ProofKey::new();
    let now = idp.state.now();
    let proof = |path: &str, token: Option<&str>, nbf: i64, exp: i64| {
        let method = if path == "/userinfo" { "GET" } else { "POST" };
        let mut claims = holder.claims(&idp, method, path, token);
        claims["nbf"] = json!(nbf);
        claims["exp"] = json!(exp);
        holder.sign(&holder.header(), &claims)
    };
    let at_par = proof("/par", None, now, now + 300);
    let request_uri = pushed(&idp, &key, &request_of("bank", &[], &[]), Some(&at_par)).await;
    let done = signed_in_at(&idp, &authorize_uri("bank", &request_uri)).await;
    let at_token = proof("/token", None, now, now + 300);
    let (status, tokens) = redeem(&idp, &key, &done, Some(&at_token)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(access_claims(&idp, access)["cnf"]["jkt"], holder.jkt());
    let dpop = format!("DPoP {access}");
    for (nbf, exp) in [(now, now + 300), (now + 3600, now - 3600)] {
        let at_userinfo = proof("/userinfo", Some(access), nbf, exp);
        let answer = userinfo(&idp, Via::Proxy(None), &dpop, &[("DPoP", &at_userinfo)]).await;
        assert_eq!(
            answer.0,
            StatusCode::OK,
            "nbf {nbf}, exp {exp}: {}",
            answer.2
        );
    }
}

/// #41 `dpop-negative-tests`: the module's proofs at UserInfo, each otherwise good, for a
/// token of a client under the profile. Taken: the header named `DPOP` (header names are
/// case-insensitive; in-process they arrive in lower case, as hyper hands them over), extra
/// claims in the header and the payload, `htu` with a query and fragment or an upper-case
/// scheme, the first use of a `jti`. Refused (401 `invalid_dpop_proof`, a `DPoP` challenge):
/// the rest, a proof without `alg` among them; the token as `Bearer`: `invalid_token`.
#[tokio::test]
async fn userinfo_refuses_the_bad_proofs_of_the_negative_tests_and_takes_the_harmless_ones() {
    let (idp, key) = bank().await;
    let holder = ProofKey::new();
    let tokens = dpop_tokens(&idp, &key, &holder).await;
    let access = tokens["access_token"].as_str().unwrap();
    let dpop = format!("DPoP {access}");
    let header = holder.header();
    let claims = |change: &dyn Fn(&mut Value)| {
        let mut claims = holder.claims(&idp, "GET", "/userinfo", Some(access));
        change(&mut claims);
        claims
    };
    let signed = |change: &dyn Fn(&mut Value)| holder.sign(&header, &claims(change));
    let with_header = |change: &dyn Fn(&mut Value)| {
        let mut header = header.clone();
        change(&mut header);
        holder.sign(&header, &claims(&|_| {}))
    };
    let b64 = |value: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap());
    let userinfo_url = format!("{}/userinfo", idp.state.issuer());
    let upper_scheme = userinfo_url.replacen("http", "HTTP", 1);

    let taken: Vec<(&str, &str, String)> = vec![
        ("DPOP", "the header named DPOP", signed(&|_| {})),
        ("DPoP", "extra claims", {
            let mut header = header.clone();
            header["tx_id"] = json!(idp.state.now() + 3600);
            holder.sign(
                &header,
                &claims(&|c| c["tx_id_key"] = json!(idp.state.now() + 3600)),
            )
        }),
        (
            "DPoP",
            "htu with a query and fragment",
            signed(&|c| {
                c["htu"] = json!(format!("{userinfo_url}?allthedoors#cheery"));
            }),
        ),
        (
            "DPoP",
            "htu with an upper-case scheme",
            signed(&|c| c["htu"] = json!(upper_scheme)),
        ),
        (
            "DPoP",
            "the first use of a jti",
            signed(&|c| c["jti"] = json!("fixed-jti")),
        ),
    ];
    for (name, case, proof) in &taken {
        let answer = userinfo(&idp, Via::Proxy(None), &dpop, &[(name, proof)]).await;
        assert_eq!(answer.0, StatusCode::OK, "{case}: {}", answer.2);
    }

    let good = signed(&|_| {});
    let (head, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut flipped = URL_SAFE_NO_PAD.decode(signature).unwrap();
    flipped[0] ^= 1;
    let mut without_alg = header.clone();
    let alg = without_alg.as_object_mut().unwrap().remove("alg").unwrap();
    without_alg["alg2"] = alg;
    let now = idp.state.now();
    let remove =
        |name: &'static str| move |c: &mut Value| drop(c.as_object_mut().unwrap().remove(name));
    let refused: Vec<(&str, String)> = vec![
        ("not a JWT", format!("{head}.{payload}")),
        (
            "no typ",
            with_header(&|h| drop(h.as_object_mut().unwrap().remove("typ"))),
        ),
        (
            "no alg",
            format!("{}.{payload}.{signature}", b64(&without_alg)),
        ),
        (
            "no jwk",
            with_header(&|h| drop(h.as_object_mut().unwrap().remove("jwk"))),
        ),
        ("no jti", signed(&remove("jti"))),
        ("no htm", signed(&remove("htm"))),
        ("no htu", signed(&remove("htu"))),
        ("no iat", signed(&remove("iat"))),
        ("no ath", signed(&remove("ath"))),
        (
            "a wrong typ",
            with_header(&|h| h["typ"] = json!("dpop+jwt+wrongyousee")),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({ "typ": "dpop+jwt", "alg": "none", "jwk": holder.jwk })),
                payload
            ),
        ),
        (
            "a bad signature",
            format!("{head}.{payload}.{}", URL_SAFE_NO_PAD.encode(flipped)),
        ),
        ("htm PUT", signed(&|c| c["htm"] = json!("PUT"))),
        (
            "another htu",
            signed(&|c| c["htu"] = json!(format!("{userinfo_url}ohnonotagain"))),
        ),
        (
            "iat an hour ahead",
            signed(&|c| c["iat"] = json!(now + 3600)),
        ),
        ("iat an hour ago", signed(&|c| c["iat"] = json!(now - 3600))),
        (
            "a jti used before",
            signed(&|c| c["jti"] = json!("fixed-jti")),
        ),
        (
            "a wrong ath",
            signed(&|c| c["ath"] = json!(ath("another token"))),
        ),
        (
            "another key",
            ProofKey::new().proof(&idp, "GET", "/userinfo", Some(access)),
        ),
    ];
    let refusal = |answer: &(StatusCode, HeaderMap, Value), error: &str, case: &str| {
        assert_refused(answer, StatusCode::UNAUTHORIZED, error, case);
        let challenge = answer.1[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            challenge.starts_with(&format!("DPoP error=\"{error}\"")),
            "{case}: {challenge}"
        );
    };
    for (case, proof) in &refused {
        let answer = userinfo(&idp, Via::Proxy(None), &dpop, &[("DPoP", proof)]).await;
        refusal(&answer, "invalid_dpop_proof", case);
    }
    let (one, two) = (signed(&|_| {}), signed(&|_| {}));
    let answer = userinfo(
        &idp,
        Via::Proxy(None),
        &dpop,
        &[("DPoP", &one), ("DPoP", &two)],
    )
    .await;
    refusal(&answer, "invalid_dpop_proof", "two proofs");
    let answer = userinfo(&idp, Via::Proxy(None), &dpop, &[]).await;
    refusal(&answer, "invalid_dpop_proof", "no proof");
    let bearer = format!("Bearer {access}");
    let answer = userinfo(
        &idp,
        Via::Proxy(None),
        &bearer,
        &[("DPoP", &signed(&|_| {}))],
    )
    .await;
    refusal(&answer, "invalid_token", "as Bearer");
    // Through all that, the token itself stayed good.
    let answer = userinfo(&idp, Via::Proxy(None), &dpop, &[("DPoP", &signed(&|_| {}))]).await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.2);
}

/// #1 `discovery-end-point-verification` with the `mtls` variants: under `fapi2.all_clients`
/// with mutual TLS configured, discovery keeps `private_key_jwt` and the two certificate
/// methods (only `self_signed_tls_client_auth` without `mtls.verify_header`), at the token,
/// revocation and introspection endpoints, and says `tls_client_certificate_bound_access_tokens`
/// and the aliases.
#[tokio::test]
async fn discovery_under_the_profile_with_mutual_tls_lists_the_certificate_methods() {
    for verified in [true, false] {
        let idp = start(|s| {
            s.fapi2.all_clients = true;
            s.mtls.endpoint_aliases_base = format!("https://{ALIAS_HOST}");
            if !verified {
                s.mtls.verify_header = String::new();
            }
        })
        .await;
        let request = Request::get("/.well-known/openid-configuration").body(Body::empty());
        let (_, _, document) = idp.call(request.unwrap()).await;
        let expected: &[&str] = if verified {
            &[
                "private_key_jwt",
                "self_signed_tls_client_auth",
                "tls_client_auth",
            ]
        } else {
            &["private_key_jwt", "self_signed_tls_client_auth"]
        };
        for endpoint in [
            "token_endpoint",
            "revocation_endpoint",
            "introspection_endpoint",
        ] {
            let list = document[format!("{endpoint}_auth_methods_supported")]
                .as_array()
                .unwrap();
            let mut methods: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
            methods.sort_unstable();
            assert_eq!(methods, expected, "{endpoint}, verified {verified}");
        }
        assert_eq!(document["tls_client_certificate_bound_access_tokens"], true);
        assert_eq!(document["require_pushed_authorization_requests"], true);
        assert_eq!(
            document["mtls_endpoint_aliases"]["userinfo_endpoint"],
            format!("https://{ALIAS_HOST}/userinfo")
        );
        assert_eq!(
            document["dpop_signing_alg_values_supported"],
            json!(["ES256", "PS256", "EdDSA"])
        );
    }
}

/// #2 `happy-flow` and #42 `refresh-token` with `client_auth_type=mtls` and
/// `sender_constrain=mtls`: a `tls_client_auth` client under the profile gets tokens bound to
/// its certificate; UserInfo serves them only with it (not without, not with the other
/// client's); a refresh with the certificate answers the same refresh token and an access
/// token bound to it; without a certificate the refresh is `invalid_client`, and the other
/// client cannot use this one's refresh token (`invalid_grant`).
#[tokio::test]
async fn a_tls_client_under_the_profile_uses_and_refreshes_its_certificate_bound_tokens() {
    let idp = start(|_| {}).await;
    tls_fapi_client(&idp, "bank").await;
    tls_fapi_client(&idp, "bank2").await;
    let (cert, cert2) = (Cert::new("bank"), Cert::new("bank2"));
    let tokens = certificate_tokens(&idp, "bank", &cert).await;
    assert_eq!(tokens["token_type"], "Bearer");
    let bound = json!({ "x5t#S256": cert.thumbprint() });
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(access_claims(&idp, access)["cnf"], bound);
    let works_only_with_its_certificate = async |access: &str| {
        let bearer = format!("Bearer {access}");
        let answer = userinfo(&idp, Via::Proxy(Some(&cert)), &bearer, &[]).await;
        assert_eq!(answer.0, StatusCode::OK, "{}", answer.2);
        assert_eq!(answer.2["email"], "alice@example.com");
        for (via, case) in [
            (Via::Proxy(None), "no certificate"),
            (Via::Proxy(Some(&cert2)), "bank2's"),
        ] {
            let answer = userinfo(&idp, via, &bearer, &[]).await;
            assert_refused(&answer, StatusCode::UNAUTHORIZED, "invalid_token", case);
        }
    };
    works_only_with_its_certificate(access).await;

    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = |id| {
        [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", id),
        ]
    };
    let (status, _, refreshed) = post(&idp, Via::Proxy(Some(&cert)), "/token", &form("bank")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["refresh_token"], refresh, "not rotated");
    let again = refreshed["access_token"].as_str().unwrap();
    assert_ne!(again, access);
    assert_eq!(access_claims(&idp, again)["cnf"], bound);
    works_only_with_its_certificate(again).await;

    let answer = post(&idp, Via::Proxy(None), "/token", &form("bank")).await;
    assert_refused(
        &answer,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "no certificate",
    );
    let answer = post(&idp, Via::Proxy(Some(&cert2)), "/token", &form("bank2")).await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_grant", "bank2");
}

/// #32 `ensure-holder-of-key-required` with `client_auth_type=private_key_jwt` and
/// `sender_constrain=mtls`: a code exchange with neither a DPoP proof nor a certificate is
/// `invalid_request` for a client under the profile registered for certificate-bound tokens
/// (what the module accepts; section 2's clients), `invalid_dpop_proof` for one that is not.
/// The codes stay good: with the certificate, or a proof, the tokens are bound to it.
#[tokio::test]
async fn a_token_request_without_proof_or_certificate_is_refused_by_how_the_client_registered() {
    let idp = start(|_| {}).await;
    let key = TestKey::new("ES256", "bank-es");
    idp.confidential_client_with("bank", |client| {
        client.secret_hash = None;
        client.token_endpoint_auth_method = TokenEndpointAuthMethod::PrivateKeyJwt;
        client.metadata.jwks = Some(TestKey::set(&[&key]));
        client.metadata.fapi2_security_profile = true;
        client.metadata.tls_client_certificate_bound_access_tokens = true;
    })
    .await;
    key_client(&idp, "shop", &[&key], true).await;
    for (id, error) in [("bank", "invalid_request"), ("shop", "invalid_dpop_proof")] {
        let done = signed_in_through_par(&idp, id, &key).await;
        let code = param(done.to(), "code").unwrap();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let (status, body) =
            post_signed_with(&idp, "/token", (id, &key, issuer(&idp)), &form, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(error)),
            "{id}: {body}"
        );

        let cert = Cert::new(id);
        let assertion = assertion(&idp, id, &key, issuer(&idp));
        let mut form = form.to_vec();
        form.extend([
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ]);
        let (status, _, tokens) = post(&idp, Via::Proxy(Some(&cert)), "/token", &form).await;
        assert_eq!(status, StatusCode::OK, "{id}: {tokens}");
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(
            access_claims(&idp, access)["cnf"],
            json!({ "x5t#S256": cert.thumbprint() })
        );
    }
}
