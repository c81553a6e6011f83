use idp_core::model::SigningAlg;
use idp_token_issuer::SigningKey;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;

use super::*;
use crate::test_stores::MemoryEphemeral;

const URL: &str = "https://idp.example/token";
const NOW: UnixTime = 10_000;

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A client's ES256 proof key.
struct ProofKey {
    key: EncodingKey,
    jwk: serde_json::Value,
}

impl ProofKey {
    fn new() -> Self {
        let der = SigningKey::generate(SigningAlg::ES256).unwrap();
        let key = EncodingKey::from_ec_der(&der);
        let jwk = serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap());
        Self {
            key,
            jwk: jwk.unwrap(),
        }
    }

    fn proof(&self, claims: serde_json::Value) -> String {
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        let input = format!("{}.{}", b64(&header), b64(&claims));
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, Algorithm::ES256).unwrap();
        format!("{input}.{signature}")
    }
}

fn claims(jti: &str) -> serde_json::Value {
    json!({ "jti": jti, "htm": "POST", "htu": URL, "iat": NOW })
}

fn expected() -> Expected<'static> {
    Expected {
        method: "POST",
        url: URL,
        access_token: None,
        nonces: None,
    }
}

fn refusal(result: Result<impl std::fmt::Debug, DpopError>) -> (ErrorCode, String) {
    match result {
        Err(DpopError::OAuth(error)) => (error.code, error.description.into_owned()),
        other => panic!("not refused: {other:?}"),
    }
}

fn refused_claims(claims: serde_json::Value, expected: Expected<'_>) -> String {
    let map = claims.as_object().unwrap().clone();
    let (code, description) = refusal(check_claims(&map, expected, NOW));
    assert_eq!(code, ErrorCode::InvalidDpopProof, "{description}");
    description
}

#[tokio::test]
async fn a_proof_is_accepted_once_and_names_its_key() {
    let key = ProofKey::new();
    let records = MemoryEphemeral::default();
    let proof = key.proof(claims("j1"));
    let accepted = check(&proof, expected(), &records, NOW).await.unwrap();
    let jwk: Jwk = serde_json::from_value(key.jwk.clone()).unwrap();
    let thumbprint = jwk
        .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
        .unwrap();
    assert_eq!(accepted.jkt, thumbprint);
    let (code, description) = refusal(check(&proof, expected(), &records, NOW + 1).await);
    assert_eq!(code, ErrorCode::InvalidDpopProof);
    assert!(description.contains("already used"), "{description}");
    // Another key may use the same jti.
    let other = ProofKey::new();
    check(&other.proof(claims("j1")), expected(), &records, NOW)
        .await
        .unwrap();
    // A bad signature is refused before the jti is spent.
    let (code, _) = refusal(check("x.y.z", expected(), &records, NOW).await);
    assert_eq!(code, ErrorCode::InvalidDpopProof);
}

#[test]
fn claims_that_do_not_fit_the_request_are_refused() {
    let mut cases = vec![];
    let without = |name: &str| {
        let mut c = claims("j");
        c.as_object_mut().unwrap().remove(name);
        c
    };
    cases.push((without("jti"), "jti"));
    cases.push((without("htm"), "htm"));
    cases.push((without("htu"), "htu"));
    cases.push((without("iat"), "iat"));
    let with = |name: &str, value: serde_json::Value| {
        let mut c = claims("j");
        c[name] = value;
        c
    };
    cases.push((with("jti", json!("")), "jti"));
    cases.push((with("jti", json!("x".repeat(257))), "jti"));
    cases.push((with("htm", json!("GET")), "htm"));
    cases.push((with("htm", json!("post")), "htm"));
    cases.push((with("htu", json!("https://idp.example/userinfo")), "htu"));
    cases.push((with("htu", json!("https://other.example/token")), "htu"));
    cases.push((with("htu", json!("http://idp.example/token")), "htu"));
    cases.push((with("htu", json!("not a url")), "htu"));
    cases.push((with("iat", json!(NOW - 61)), "iat"));
    cases.push((with("iat", json!(NOW + 61)), "iat"));
    cases.push((with("iat", json!("10000")), "iat"));
    for (claims, what) in cases {
        let description = refused_claims(claims.clone(), expected());
        assert!(description.contains(what), "{claims}: {description}");
    }
}

#[test]
fn htu_is_compared_normalised() {
    for htu in [
        "HTTPS://IDP.example/token",
        "https://idp.example:443/token",
        "https://idp.example/token?a=1",
        "https://idp.example/token#x",
    ] {
        let mut c = claims("j");
        c["htu"] = json!(htu);
        let map = c.as_object().unwrap().clone();
        assert!(check_claims(&map, expected(), NOW).is_ok(), "{htu}");
    }
    assert_eq!(
        normalise_url("HTTP://Idp.Example:80/a?b#c").as_deref(),
        Some("http://idp.example/a")
    );
    assert_eq!(
        normalise_url("https://idp.example:8443/a").as_deref(),
        Some("https://idp.example:8443/a")
    );
    // The iat window's edges are accepted.
    for iat in [NOW - 60, NOW + 60] {
        let mut c = claims("j");
        c["iat"] = json!(iat);
        assert!(check_claims(c.as_object().unwrap(), expected(), NOW).is_ok());
    }
}

#[test]
fn ath_must_hash_the_presented_token() {
    let with_token = Expected {
        method: "GET",
        url: URL,
        access_token: Some("the-token"),
        nonces: None,
    };
    let mut c = claims("j");
    c["htm"] = json!("GET");
    let description = refused_claims(c.clone(), with_token);
    assert!(description.contains("ath"), "{description}");
    c["ath"] = json!(access_token_hash("another-token"));
    refused_claims(c.clone(), with_token);
    c["ath"] = json!(access_token_hash("the-token"));
    assert!(check_claims(c.as_object().unwrap(), with_token, NOW).is_ok());
}

#[test]
fn nonces_rotate_and_are_asked_for() {
    let nonces = Nonces::new(b"a server key");
    let asking = Expected {
        nonces: Some(&nonces),
        ..expected()
    };
    let map = |c: serde_json::Value| c.as_object().unwrap().clone();
    let (code, _) = refusal(check_claims(&map(claims("j")), asking, NOW));
    assert_eq!(code, ErrorCode::UseDpopNonce);
    let mut c = claims("j");
    c["nonce"] = json!(nonces.current(NOW));
    assert!(check_claims(&map(c.clone()), asking, NOW).is_ok());
    // Good in its slot and the next, not after; another server key's nonces are not.
    assert!(nonces.accepts(&nonces.current(NOW), NOW + NONCE_SLOT_SECS));
    assert!(!nonces.accepts(&nonces.current(NOW), NOW + 2 * NONCE_SLOT_SECS));
    assert!(!Nonces::new(b"another key").accepts(&nonces.current(NOW), NOW));
    c["nonce"] = json!(nonces.current(NOW - 2 * NONCE_SLOT_SECS));
    let (code, _) = refusal(check_claims(&map(c), asking, NOW));
    assert_eq!(code, ErrorCode::UseDpopNonce);
}

#[test]
fn only_one_proof_is_taken() {
    assert_eq!(one_proof(&[]).unwrap(), None);
    assert_eq!(one_proof(&["a"]).unwrap(), Some("a"));
    let (code, _) = refusal(one_proof(&["a", "b"]));
    assert_eq!(code, ErrorCode::InvalidDpopProof);
}

#[test]
fn a_pushed_request_is_bound_to_the_proofs_key_or_its_dpop_jkt() {
    let jkt = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let other = URL_SAFE_NO_PAD.encode([8u8; 32]);
    assert_eq!(pushed_key(None, None).unwrap(), None);
    assert_eq!(pushed_key(Some(&jkt), None).unwrap(), Some(jkt.clone()));
    assert_eq!(pushed_key(None, Some(&jkt)).unwrap(), Some(jkt.clone()));
    assert_eq!(
        pushed_key(Some(&jkt), Some(&jkt)).unwrap(),
        Some(jkt.clone())
    );
    let (code, _) = refusal(pushed_key(Some(&jkt), Some(&other)));
    assert_eq!(code, ErrorCode::InvalidDpopProof);
    for bad in ["", "short", &"A".repeat(44)] {
        let (code, _) = refusal(pushed_key(None, Some(bad)));
        assert_eq!(code, ErrorCode::InvalidRequest, "{bad}");
    }
}
