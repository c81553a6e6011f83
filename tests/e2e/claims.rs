//! What a relying party on the `openidconnect` crate reads about a person the operator
//! described with `idp user profile`: the profile and address claims at UserInfo and, asked
//! for with `claims`, in the ID token; and a pairwise client's `sub`, the same in the ID token
//! and in its signed UserInfo.

use openidconnect::OAuth2TokenResponse as _;
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreUserInfoClaims};

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn describe_alice(idp: &TestIdp) -> serde_json::Value {
    let out = idp.cli(
        &[
            "user",
            "profile",
            "alice",
            "--name",
            "Alice Example",
            "--given-name",
            "Alice",
            "--family-name",
            "Example",
            "--street-address",
            "1 Main St\\nApt 2",
            "--locality",
            "Springfield",
            "--region",
            "IL",
            "--postal-code",
            "62701",
            "--country",
            "US",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "user profile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("user profile prints JSON")
}

#[tokio::test]
async fn the_operator_describes_a_person_and_a_relying_party_reads_every_claim() {
    let idp = TestIdp::start().await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let sub = idp.create_user("alice");
    let printed = describe_alice(&idp);
    assert_eq!(printed["sub"], sub.as_str());
    assert_eq!(
        printed["address"]["formatted"],
        "1 Main St\nApt 2\nSpringfield IL 62701\nUS"
    );

    // A refused value changes nothing.
    let refused = idp.cli(&["user", "profile", "alice", "--name", "A\u{7}"], "");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--name"));
    let refused = idp.cli(&["user", "profile", "nobody", "--name", "X"], "");
    assert!(!refused.status.success());

    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let claims = r#"{"id_token":{"name":null,"address":{"essential":true}}}"#;
    let mut start = rp.start(
        &["profile", "address", "email"],
        &[("claims", claims)],
        true,
    );
    let tokens = rp.sign_in(&browser, "alice", &mut start).await;
    let id = rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    assert_eq!(id.subject().as_str(), sub);
    let name = id
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned());
    assert_eq!(name.as_deref(), Some("Alice Example"));
    let address = id.address().expect("the address asked for in the ID token");
    assert_eq!(
        address.locality.as_ref().map(|l| l.as_str()),
        Some("Springfield")
    );
    assert!(id.email().is_none(), "not asked of the ID token");

    let userinfo: CoreUserInfoClaims = rp
        .client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo endpoint")
        .request_async(&rp.http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject().as_str(), sub);
    let given = userinfo
        .given_name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned());
    assert_eq!(given.as_deref(), Some("Alice"));
    let family = userinfo
        .family_name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned());
    assert_eq!(family.as_deref(), Some("Example"));
    assert_eq!(userinfo.preferred_username().unwrap().as_str(), "alice");
    assert!(userinfo.updated_at().is_some());
    let address = userinfo.address().expect("address");
    assert_eq!(
        address.formatted.as_ref().map(|f| f.as_str()),
        Some("1 Main St\nApt 2\nSpringfield IL 62701\nUS")
    );
    assert_eq!(
        address.postal_code.as_ref().map(|p| p.as_str()),
        Some("62701")
    );
    assert_eq!(address.country.as_ref().map(|c| c.as_str()), Some("US"));
    assert_eq!(userinfo.email().unwrap().as_str(), "alice@example.com");
}

#[tokio::test]
async fn a_pairwise_client_sees_its_own_sub_in_the_id_token_and_in_signed_userinfo() {
    let idp = TestIdp::start().await;
    let pairwise = idp.create_client(&[
        "--name",
        "Books",
        "--redirect-uri",
        REDIRECT,
        "--subject-type",
        "pairwise",
        "--userinfo-alg",
        "RS256",
    ]);
    assert_eq!(pairwise["subject_type"], "pairwise");
    assert_eq!(pairwise["userinfo_signed_response_alg"], "RS256");
    let public = idp.create_client(&["--name", "Portal", "--redirect-uri", REDIRECT]);
    let own = idp.create_user("alice");

    let browser = Browser::new(&idp);
    let rp = RelyingParty::of_client(&idp, &pairwise, REDIRECT).await;
    let mut start = rp.start(&["email"], &[], true);
    let tokens = rp.sign_in(&browser, "alice", &mut start).await;
    let id = rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    let sub = id.subject().clone();
    assert_ne!(sub.as_str(), own, "not the person's own id");
    // The library checks the JWT's signature against the published keys, its issuer, its
    // audience, and that its sub is the ID token's.
    let userinfo: CoreUserInfoClaims = rp
        .client
        .user_info(tokens.access_token().clone(), Some(sub.clone()))
        .expect("userinfo endpoint")
        .require_signed_response(true)
        .request_async(&rp.http)
        .await
        .expect("signed userinfo");
    assert_eq!(userinfo.email().unwrap().as_str(), "alice@example.com");

    // A public client of the same host sees the person's own id.
    let browser = Browser::new(&idp);
    let rp = RelyingParty::of_client(&idp, &public, REDIRECT).await;
    let mut start = rp.start(&[], &[], true);
    let tokens = rp.sign_in(&browser, "alice", &mut start).await;
    let id = rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    assert_eq!(id.subject().as_str(), own);
}

#[tokio::test]
async fn a_pairwise_clients_logout_token_names_the_person_by_its_sub() {
    let (backchannel, received) = crate::sinks::logout_sink().await;
    let idp = TestIdp::start().await;
    let client = idp.create_client(&[
        "--name",
        "Books",
        "--redirect-uri",
        REDIRECT,
        "--subject-type",
        "pairwise",
        "--backchannel-logout-uri",
        &backchannel,
    ]);
    let own = idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let mut start = rp.start(&[], &[], true);
    let tokens = rp.sign_in(&browser, "alice", &mut start).await;
    let id = rp.verify_id_token(
        &tokens,
        &start.nonce,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    );
    let sub = id.subject().as_str().to_owned();
    assert_ne!(sub, own);

    let confirm = browser.get(&format!("{}/logout", idp.issuer)).await;
    browser.submit(&confirm, &[]).await;
    let token = received.wait_for("rp", ".", 0).await.text;
    let claims = crate::code_flow::decode_payload(&token);
    assert_eq!(claims["sub"], sub.as_str(), "the sub the client knows");
}
