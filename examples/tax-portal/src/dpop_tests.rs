//! The DPoP backchannel against a small stand-in provider that asks for nonces the way RFC 9449
//! §8 and §9 say: 400 `use_dpop_nonce` at its token endpoint, 401 with a `DPoP` challenge at
//! its UserInfo, each with a `DPoP-Nonce` header.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use axum::Json;
use axum::http::{HeaderMap, StatusCode as AxumStatus, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use openidconnect::http::{Method, Request};

use super::*;

/// What the stand-in provider received: the path and the `DPoP` and `Authorization` headers.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    proof: Option<String>,
    authorization: Option<String>,
}

type Log = Arc<Mutex<Vec<Received>>>;

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).map(|v| v.to_str().unwrap().to_owned())
}

/// The nonce a proof carries.
fn nonce_in(proof: Option<&str>) -> Option<String> {
    let (_, claims) = decode(proof?);
    claims["nonce"].as_str().map(str::to_owned)
}

/// Header and claims of a proof, after checking its signature with the key in its header.
fn decode(proof: &str) -> (Value, Value) {
    let parts: Vec<&str> = proof.split('.').collect();
    assert_eq!(parts.len(), 3, "{proof}");
    let json = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let (header, claims) = (json(parts[0]), json(parts[1]));
    let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(header["jwk"][name].as_str().unwrap());
    let mut point = vec![4u8];
    point.extend(coordinate("x").unwrap());
    point.extend(coordinate("y").unwrap());
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("signed with the key in the header");
    (header, claims)
}

/// A stand-in provider; its base URL and what it received.
async fn provider() -> (String, Log) {
    let log: Log = Arc::default();
    let record = |log: &Log, uri: &Uri, headers: &HeaderMap| {
        let received = Received {
            path: uri.path().to_owned(),
            proof: header(headers, "dpop"),
            authorization: header(headers, "authorization"),
        };
        log.lock().unwrap().push(received.clone());
        received
    };
    let nonce = |n: &str| [("DPoP-Nonce", n.to_owned())];
    let (token_log, userinfo_log, always_log) = (log.clone(), log.clone(), log.clone());
    let app = axum::Router::new()
        .route(
            "/token",
            post(move |uri: Uri, headers: HeaderMap| async move {
                let got = record(&token_log, &uri, &headers);
                if nonce_in(got.proof.as_deref()).as_deref() == Some("n1") {
                    (nonce("n1"), Json(json!({ "ok": true }))).into_response()
                } else {
                    let error = Json(json!({ "error": "use_dpop_nonce" }));
                    (AxumStatus::BAD_REQUEST, nonce("n1"), error).into_response()
                }
            }),
        )
        .route(
            "/userinfo",
            get(move |uri: Uri, headers: HeaderMap| async move {
                let got = record(&userinfo_log, &uri, &headers);
                if nonce_in(got.proof.as_deref()).as_deref() == Some("n2") {
                    return Json(json!({ "sub": "alice" })).into_response();
                }
                // The nonce moved on since the token answer.
                let challenge = ("WWW-Authenticate", r#"DPoP error="use_dpop_nonce""#.into());
                let [fresh] = nonce("n2");
                (AxumStatus::UNAUTHORIZED, [fresh, challenge]).into_response()
            }),
        )
        .route(
            "/always",
            post(move |uri: Uri, headers: HeaderMap| async move {
                let got = record(&always_log, &uri, &headers);
                let fresh = format!("n{}", got.proof.map_or(0, |p| p.len()));
                let error = Json(json!({ "error": "use_dpop_nonce" }));
                let response: Response =
                    (AxumStatus::BAD_REQUEST, nonce(&fresh), error).into_response();
                response
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, log)
}

fn request(method: Method, url: &str, authorization: Option<&str>) -> HttpRequest {
    let mut builder = Request::builder().method(method).uri(url);
    if let Some(value) = authorization {
        builder = builder.header("Authorization", value);
    }
    builder.body(Vec::new()).unwrap()
}

fn backchannel(dpop: bool) -> Backchannel {
    let http = openidconnect::reqwest::Client::new();
    Backchannel::new(http, dpop.then(|| DpopKey::generate().unwrap()))
}

fn taken(log: &Log) -> Vec<Received> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[tokio::test]
async fn proofs_name_the_request_and_a_nonce_asked_for_is_used_once_and_kept() {
    let (base, log) = provider().await;
    let client = backchannel(true);
    let jwk = client.dpop().unwrap().jwk.clone();

    // The token endpoint asks for a nonce: one retry with it.
    let token_url = format!("{base}/token?ignored=1#fragment");
    let answer = client
        .call(request(Method::POST, &token_url, Some("Basic cG9ydGFs")))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let sent = taken(&log);
    assert_eq!(sent.len(), 2, "{sent:?}");
    let mut jtis = Vec::new();
    for (at, received) in sent.iter().enumerate() {
        assert_eq!(received.path, "/token");
        let (header, claims) = decode(received.proof.as_deref().unwrap());
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"], jwk);
        assert!(header["jwk"].get("d").is_none(), "only the public key");
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], format!("{base}/token"));
        assert!((claims["iat"].as_i64().unwrap() - now()).abs() < 60);
        assert!(claims.get("ath").is_none());
        assert_eq!(
            claims["nonce"].as_str(),
            [None, Some("n1")][at],
            "no nonce known at first"
        );
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
        // Client authentication stays as it was.
        assert_eq!(received.authorization.as_deref(), Some("Basic cG9ydGFs"));
    }
    assert_ne!(jtis[0], jtis[1], "a fresh jti for each proof");

    // UserInfo: the kept nonce first, the DPoP scheme, and the token's hash; the nonce it
    // asks for next is used once.
    let answer = client
        .call(request(
            Method::GET,
            &format!("{base}/userinfo"),
            Some("Bearer the-token"),
        ))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let sent = taken(&log);
    assert_eq!(sent.len(), 2, "{sent:?}");
    for (received, nonce) in sent.iter().zip(["n1", "n2"]) {
        let (_, claims) = decode(received.proof.as_deref().unwrap());
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], format!("{base}/userinfo"));
        assert_eq!(claims["nonce"], nonce);
        assert_eq!(claims["ath"], ath("the-token"));
        assert_eq!(received.authorization.as_deref(), Some("DPoP the-token"));
    }

    // The latest nonce serves the next proof without a refusal.
    let answer = client
        .call(request(Method::GET, &format!("{base}/userinfo"), None))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(taken(&log).len(), 1);

    // A provider that keeps asking gets one retry, then its answer goes to the caller.
    let answer = client
        .call(request(Method::POST, &format!("{base}/always"), None))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert_eq!(taken(&log).len(), 2);
}

#[tokio::test]
async fn without_dpop_requests_go_as_they_are() {
    let (base, log) = provider().await;
    let client = backchannel(false);
    let answer = client
        .call(request(
            Method::GET,
            &format!("{base}/userinfo"),
            Some("Bearer the-token"),
        ))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "not retried");
    let sent = taken(&log);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].proof, None);
    assert_eq!(sent[0].authorization.as_deref(), Some("Bearer the-token"));
    assert_eq!(client.unbound("Bearer"), None);
}

#[test]
fn the_thumbprint_is_rfc_7638s_and_a_bearer_answer_is_refused_in_dpop_mode() {
    let key = DpopKey::generate().unwrap();
    let jwk = &key.jwk;
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":{},"y":{}}}"#,
        jwk["x"], jwk["y"]
    );
    assert_eq!(
        key.jkt(),
        b64(digest(&SHA256, canonical.as_bytes()).as_ref())
    );
    assert_eq!(key.jkt().len(), 43);
    assert_ne!(
        key.jkt(),
        DpopKey::generate().unwrap().jkt(),
        "a key per instance"
    );

    let client = backchannel(true);
    assert!(client.unbound("bearer").is_some());
    assert_eq!(client.unbound("DPoP"), None);
    assert_eq!(client.unbound("dpop"), None);
}

#[test]
fn a_nonce_is_asked_for_only_by_a_use_dpop_nonce_refusal() {
    let response = |status: u16, headers: &[(&str, &str)], body: &str| {
        let mut builder = openidconnect::http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(body.as_bytes().to_vec()).unwrap()
    };
    let asked = r#"{"error":"use_dpop_nonce"}"#;
    let nonce = ("DPoP-Nonce", "abc");
    let challenge = ("WWW-Authenticate", r#"DPoP error="use_dpop_nonce""#);
    assert_eq!(
        nonce_asked(&response(400, &[nonce], asked)).as_deref(),
        Some("abc")
    );
    assert_eq!(
        nonce_asked(&response(401, &[nonce, challenge], "")).as_deref(),
        Some("abc")
    );
    // A nonce handed out with a success, or another refusal, is kept but not retried for.
    assert_eq!(nonce_asked(&response(200, &[nonce], "{}")), None);
    let other = r#"{"error":"invalid_dpop_proof"}"#;
    assert_eq!(nonce_asked(&response(400, &[nonce], other)), None);
    let bearer = ("WWW-Authenticate", r#"Bearer error="use_dpop_nonce""#);
    assert_eq!(nonce_asked(&response(401, &[nonce, bearer], "")), None);
    assert_eq!(
        nonce_asked(&response(400, &[], asked)),
        None,
        "no nonce given"
    );
}
