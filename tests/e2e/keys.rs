//! Signing-key rotation that never breaks a relying party, and revocation that takes effect.

use std::time::{Duration, Instant};

use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{OAuth2TokenResponse as _, TokenResponse as _};
use reqwest::StatusCode;
use serde_json::Value;

use crate::code_flow::decode_header;
use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A relying party that caches the provider's metadata and JWKS exactly as long as the JWKS
/// `Cache-Control: max-age` allows, and fetches them again after.
struct CachingRp {
    idp_issuer: String,
    client_id: String,
    secret: String,
    rp: Option<RelyingParty>,
    expires: Instant,
}

impl CachingRp {
    async fn current(&mut self, idp: &TestIdp) -> &RelyingParty {
        if self.rp.is_none() || Instant::now() >= self.expires {
            let jwks = reqwest::get(format!("{}/jwks", self.idp_issuer))
                .await
                .unwrap();
            let max_age: u64 = jwks.headers()["cache-control"]
                .to_str()
                .unwrap()
                .split("max-age=")
                .nth(1)
                .and_then(|v| v.parse().ok())
                .expect("the JWKS says how long to cache it");
            self.rp = Some(
                RelyingParty::discover(idp, &self.client_id, Some(&self.secret), REDIRECT).await,
            );
            self.expires = Instant::now() + Duration::from_secs(max_age);
        }
        self.rp.as_ref().unwrap()
    }
}

fn kids(idp: &TestIdp) -> Vec<Value> {
    let out = idp.cli(&["keys", "list"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_rotation_never_breaks_a_relying_party_that_caches_the_jwks() {
    let idp = TestIdp::start_with(&[
        ("IDP_KEYS__JWKS_MAX_AGE_SECS", "1"),
        ("IDP_KEYS__PREPUBLISH_SECS", "2"),
        ("IDP_KEYS__TICK_SECS", "1"),
    ])
    .await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let mut rp = CachingRp {
        idp_issuer: idp.issuer.clone(),
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        secret: client["client_secret"].as_str().unwrap().to_owned(),
        rp: None,
        expires: Instant::now(),
    };
    let browser = Browser::new(&idp);
    let first_tokens = {
        let relying = rp.current(&idp).await;
        relying
            .sign_in(&browser, "alice", &mut relying.start(&[], &[], true))
            .await
    };
    let first_kid = decode_header(&first_tokens.id_token().unwrap().to_string())["kid"]
        .as_str()
        .unwrap()
        .to_owned();

    let out = idp.cli(&["keys", "rotate"], "");
    assert!(out.status.success());
    let listed = kids(&idp);
    assert_eq!(
        listed.iter().filter(|k| k["state"] == "next").count(),
        3,
        "one next key per algorithm: {listed:?}"
    );

    // Before, during and after the rotation, every token validates with the cached JWKS: checked
    // while the old key still signs, and on until the new one has signed a few. (The deadline
    // only bounds a failure: a slow machine takes longer, never fails for it.)
    let mut seen = std::collections::BTreeSet::new();
    let (mut while_old, mut with_new) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while with_new < 3 {
        assert!(
            Instant::now() < deadline,
            "the new key never signed: {seen:?} after {while_old} checks"
        );
        let relying = rp.current(&idp).await;
        let mut start = relying.start(&[], &[], true);
        let answer = browser.get(&start.url).await;
        let code = param(
            &answer.location.expect("a code through the session"),
            "code",
        )
        .unwrap();
        let tokens = relying
            .exchange(&code, start.verifier.take())
            .await
            .unwrap();
        relying.verify_id_token(
            &tokens,
            &start.nonce,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        );
        seen.insert(
            decode_header(&tokens.id_token().unwrap().to_string())["kid"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        if seen.len() >= 2 {
            with_new += 1;
        } else {
            while_old += 1;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        while_old >= 1,
        "tokens were checked while the old key still signed"
    );
    let listed = kids(&idp);
    let first = listed
        .iter()
        .find(|k| k["kid"] == first_kid.as_str())
        .expect("the old key is still published");
    assert_eq!(first["state"], "retired");
    // A token of the retired key still validates and still works.
    assert_eq!(
        userinfo_status(&idp.issuer, first_tokens.access_token().secret()).await,
        StatusCode::OK
    );

    // Revoked, the old key's tokens stop working on every endpoint.
    let out = idp.cli(&["keys", "revoke", &first_kid], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The access token was signed by the ES256 key that signed the first ID token: refused
    // once the node has taken the revocation in (at its next tick, a second here).
    let deadline = Instant::now() + Duration::from_secs(15);
    while userinfo_status(&idp.issuer, first_tokens.access_token().secret()).await
        != StatusCode::UNAUTHORIZED
    {
        assert!(
            Instant::now() < deadline,
            "the revoked key's token still works"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let jwks: Value = reqwest::get(format!("{}/jwks", idp.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !jwks.to_string().contains(&first_kid),
        "removed from the JWKS"
    );
    assert_eq!(idp.count("audit_log", "kind = 'key_revoked'").await, 1);
}

#[tokio::test]
async fn retiring_needs_a_published_successor() {
    let idp = TestIdp::start_with(&[
        ("IDP_KEYS__JWKS_MAX_AGE_SECS", "1"),
        ("IDP_KEYS__PREPUBLISH_SECS", "3600"),
        ("IDP_KEYS__TICK_SECS", "1"),
    ])
    .await;
    let active: Vec<String> = kids(&idp)
        .iter()
        .filter(|k| k["state"] == "active" && k["alg"] == "ES256")
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    let refused = idp.cli(&["keys", "retire", &active[0]], "");
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("idp keys rotate"), "{why}");
    assert!(idp.cli(&["keys", "rotate"], "").status.success());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let retired = idp.cli(&["keys", "retire", &active[0]], "");
    assert!(
        retired.status.success(),
        "{}",
        String::from_utf8_lossy(&retired.stderr)
    );
    let listed = kids(&idp);
    assert_eq!(
        listed
            .iter()
            .find(|k| k["kid"] == active[0].as_str())
            .unwrap()["state"],
        "retired"
    );
    assert_eq!(
        listed
            .iter()
            .filter(|k| k["alg"] == "ES256" && k["state"] == "active")
            .count(),
        1
    );
    assert!(
        !idp.cli(&["keys", "retire", "no-such-kid"], "")
            .status
            .success()
    );
}

#[tokio::test]
async fn the_jwks_says_how_long_to_cache_it() {
    let idp = TestIdp::start().await;
    let response = reqwest::get(format!("{}/jwks", idp.issuer)).await.unwrap();
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
}

#[tokio::test]
async fn a_scheduled_rotation_never_breaks_a_relying_party_either() {
    let idp = TestIdp::start_with(&[
        ("IDP_KEYS__JWKS_MAX_AGE_SECS", "1"),
        ("IDP_KEYS__PREPUBLISH_SECS", "2"),
        ("IDP_KEYS__ROTATION_INTERVAL_SECS", "2"),
        ("IDP_KEYS__TICK_SECS", "1"),
    ])
    .await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let mut rp = CachingRp {
        idp_issuer: idp.issuer.clone(),
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        secret: client["client_secret"].as_str().unwrap().to_owned(),
        rp: None,
        expires: Instant::now(),
    };
    let browser = Browser::new(&idp);
    {
        let relying = rp.current(&idp).await;
        relying
            .sign_in(&browser, "alice", &mut relying.start(&[], &[], true))
            .await;
    }
    // Until the schedule has rotated the key once (the deadline only bounds a failure).
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the schedule never rotated the key: {seen:?}"
        );
        let relying = rp.current(&idp).await;
        let mut start = relying.start(&[], &[], true);
        let answer = browser.get(&start.url).await;
        let code = param(
            &answer.location.expect("a code through the session"),
            "code",
        )
        .unwrap();
        let tokens = relying
            .exchange(&code, start.verifier.take())
            .await
            .unwrap();
        relying.verify_id_token(
            &tokens,
            &start.nonce,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        );
        seen.insert(
            decode_header(&tokens.id_token().unwrap().to_string())["kid"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
