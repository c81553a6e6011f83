//! The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).

use idp_core::ErrorCode;
use idp_core::model::SigningAlg;
use idp_core::store::{ConsentStore, UserStore};
use idp_token_issuer::at_hash;

use super::*;
use crate::issuer::IssuedToken;

/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[tokio::test]
async fn a_code_gives_signed_tokens_once_and_a_second_use_revokes_its_grant() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let record = code_grant("rp", &["openid", "profile", "offline_access"]);
    let grant_id = record.grant.grant_id.clone();
    let code = endpoint.code_for(&record).await;

    let tokens = endpoint
        .exchange_code(&rp, &code, Some(REDIRECT_URI), None)
        .await
        .unwrap();
    let now = endpoint.now();
    assert_eq!(
        (tokens.token_type, tokens.expires_in),
        ("Bearer", LIFETIMES.access_token)
    );
    assert_eq!(tokens.scope, "openid profile offline_access");
    assert!(tokens.refresh_token.is_some(), "offline_access was granted");

    let access = endpoint.access_claims(&tokens);
    assert_eq!((access.iss.as_str(), access.aud.as_str()), (ISSUER, ISSUER));
    assert_eq!(
        (access.sub.as_str(), access.client_id.as_str()),
        ("u1", "rp")
    );
    assert_eq!(access.scope, "openid profile offline_access");
    assert_eq!(
        (access.iat, access.exp),
        (now, now + LIFETIMES.access_token)
    );
    assert_eq!(access.grant_id.as_deref(), Some(grant_id.as_str()));
    assert_eq!(access.auth_time, Some(record.grant.auth_time));
    assert_eq!(access.acr.as_deref(), Some(crate::acr::PASSWORD_PIN));
    assert_eq!(access.amr, Some(vec!["pwd".to_owned(), "pin".to_owned()]));

    let id = endpoint.id_claims(&tokens);
    assert_eq!(
        (id.iss.as_str(), id.sub.as_str(), id.aud.as_str()),
        (ISSUER, "u1", "rp")
    );
    assert_eq!((id.iat, id.exp), (now, now + LIFETIMES.id_token));
    assert_eq!(id.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    assert_eq!(
        (id.sid.as_str(), id.auth_time),
        ("sid-1", record.grant.auth_time)
    );
    assert_eq!(
        id.at_hash,
        Some(at_hash(&tokens.access_token, SigningAlg::ES256))
    );

    let stored = endpoint
        .grants
        .get(&grant_id)
        .expect("the grant is recorded");
    assert_eq!(
        (stored.user_id.as_str(), stored.client_id.as_str()),
        ("u1", "rp")
    );
    assert_eq!(
        (stored.sid.as_deref(), stored.created_at),
        (Some("sid-1"), now)
    );
    assert!(stored.revoked_at.is_none());
    for kind in [IssuedToken::Access, IssuedToken::Id, IssuedToken::Refresh] {
        assert_eq!(endpoint.counted.of(kind), 1, "{kind:?}");
    }

    // The second use: refused, and everything the first issued goes with the grant.
    endpoint.clock.advance(5);
    let again = endpoint
        .exchange_code(&rp, &code, Some(REDIRECT_URI), None)
        .await;
    assert_eq!(
        refusal(again),
        invalid_grant("the authorization code was already used")
    );
    assert_eq!(
        endpoint.grants.get(&grant_id).unwrap().revoked_at,
        Some(now + 5)
    );
    assert_eq!(endpoint.counted.of(IssuedToken::Access), 1);
}

#[tokio::test]
async fn without_offline_access_there_is_no_refresh_token() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let tokens = endpoint
        .signed_in(&rp, &code_grant("rp", &["openid"]))
        .await;
    assert!(tokens.refresh_token.is_none());
    assert_eq!(endpoint.counted.of(IssuedToken::Refresh), 0);
}

#[tokio::test]
async fn a_wrong_redirect_uri_is_refused_and_leaves_the_code_usable() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let record = code_grant("rp", &["openid"]);
    let code = endpoint.code_for(&record).await;
    let differs = invalid_grant("redirect_uri differs from the authorization request");
    for redirect_uri in [Some("https://rp.example/other"), None] {
        let refused = endpoint.exchange_code(&rp, &code, redirect_uri, None).await;
        assert_eq!(refusal(refused), differs, "{redirect_uri:?}");
    }
    assert!(endpoint.grants.get(&record.grant.grant_id).is_none());
    let tokens = endpoint
        .exchange_code(&rp, &code, Some(REDIRECT_URI), None)
        .await;
    assert!(tokens.is_ok(), "the checks run before the code is used up");
}

#[tokio::test]
async fn pkce_is_checked_at_the_exchange() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let mut record = code_grant("rp", &["openid"]);
    record.code_challenge = Some(CHALLENGE.to_owned());
    let code = endpoint.code_for(&record).await;
    let exchange = |verifier| endpoint.exchange_code(&rp, &code, Some(REDIRECT_URI), verifier);
    assert_eq!(
        refusal(exchange(None).await),
        invalid_grant("code_verifier is required")
    );
    let wrong = format!("{}x", &VERIFIER[..42]);
    assert_eq!(
        refusal(exchange(Some(&wrong)).await),
        invalid_grant("code_verifier does not match the code_challenge")
    );
    assert_eq!(
        refusal(exchange(Some("too-short")).await),
        invalid_grant("code_verifier is malformed")
    );
    assert!(exchange(Some(VERIFIER)).await.is_ok());

    // A verifier for a code that had no challenge is a downgrade (RFC 9700 §2.1.1).
    let plain = endpoint.code_for(&code_grant("rp", &["openid"])).await;
    let downgrade = endpoint
        .exchange_code(&rp, &plain, Some(REDIRECT_URI), Some(VERIFIER))
        .await;
    assert_eq!(
        refusal(downgrade),
        invalid_grant("code_verifier sent, but the authorization request had no code_challenge")
    );
}

#[tokio::test]
async fn a_code_of_another_client_is_refused_without_spoiling_it() {
    let endpoint = Endpoint::new();
    let (rp, other) = (relying_party("rp", true), relying_party("other", true));
    let record = code_grant("rp", &["openid"]);
    let code = endpoint.code_for(&record).await;
    let stolen = endpoint
        .exchange_code(&other, &code, Some(REDIRECT_URI), None)
        .await;
    assert_eq!(
        refusal(stolen),
        invalid_grant("the authorization code is invalid or expired")
    );
    assert!(endpoint.grants.get(&record.grant.grant_id).is_none());
    let tokens = endpoint
        .exchange_code(&rp, &code, Some(REDIRECT_URI), None)
        .await
        .unwrap();
    assert_eq!(endpoint.access_claims(&tokens).client_id, "rp");
    assert!(!endpoint.grant_is_revoked(&record.grant.grant_id));
}

#[tokio::test]
async fn a_code_is_void_once_the_persons_credentials_change_or_they_are_disabled() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let code = endpoint.code_for(&code_grant("rp", &["openid"])).await;
    endpoint.users.change_credentials("u1");
    let changed = endpoint
        .exchange_code(&rp, &code, Some(REDIRECT_URI), None)
        .await;
    assert_eq!(
        refusal(changed),
        invalid_grant("the user's credentials changed since the code was issued")
    );

    // Codes of earlier releases carry no epoch: only a disabled account voids them.
    let mut earlier = code_grant("rp", &["openid"]);
    earlier.credential_epoch = None;
    let code = endpoint.code_for(&earlier).await;
    endpoint
        .users
        .set_disabled("u1", Some(endpoint.now()))
        .await
        .unwrap();
    let disabled = endpoint
        .exchange_code(&rp, &code, Some(REDIRECT_URI), None)
        .await;
    assert_eq!(
        refusal(disabled),
        invalid_grant("the user no longer exists")
    );
    assert_eq!(endpoint.counted.of(IssuedToken::Access), 0);
}

#[tokio::test]
async fn consent_withdrawn_before_the_exchange_voids_a_third_party_code() {
    let endpoint = Endpoint::new();
    let third_party = relying_party("rp", false);
    let scopes = ["openid".to_owned(), "profile".to_owned()];
    endpoint
        .consents
        .grant_consent("u1", "rp", &scopes, endpoint.now())
        .await
        .unwrap();
    let record = code_grant("rp", &["openid", "profile"]);
    assert!(
        endpoint
            .signed_in(&third_party, &record)
            .await
            .id_token
            .is_some()
    );

    // A scope beyond the consent, and then no consent at all.
    let wider = endpoint
        .code_for(&code_grant("rp", &["openid", "email"]))
        .await;
    let code = endpoint.code_for(&code_grant("rp", &["openid"])).await;
    let withdrew = invalid_grant("the user withdrew their consent");
    let refused = endpoint
        .exchange_code(&third_party, &wider, Some(REDIRECT_URI), None)
        .await;
    assert_eq!(refusal(refused), withdrew);
    endpoint
        .consents
        .withdraw_consent("u1", "rp")
        .await
        .unwrap();
    let refused = endpoint
        .exchange_code(&third_party, &code, Some(REDIRECT_URI), None)
        .await;
    assert_eq!(refusal(refused), withdrew);

    // A first-party client is not asked for consent.
    let first_party = relying_party("app", true);
    assert!(
        endpoint
            .signed_in(&first_party, &code_grant("app", &["openid"]))
            .await
            .id_token
            .is_some()
    );
}

#[tokio::test]
async fn an_expired_unknown_or_missing_code_is_refused() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let code = endpoint.code_for(&code_grant("rp", &["openid"])).await;
    endpoint.clock.advance(CODE_TTL);
    let invalid = invalid_grant("the authorization code is invalid or expired");
    for code in [code.as_str(), "never-issued"] {
        let refused = endpoint
            .exchange_code(&rp, code, Some(REDIRECT_URI), None)
            .await;
        assert_eq!(refusal(refused), invalid, "{code}");
    }
    let issuer = endpoint.issuer();
    let exchange = CodeExchange {
        ephemeral: &endpoint.records,
        grants: &endpoint.grants,
        users: &endpoint.users,
        consents: &endpoint.consents,
        clock: &endpoint.clock,
        issuer: &issuer,
    };
    let request = CodeRequest {
        code: None,
        redirect_uri: Some(REDIRECT_URI),
        code_verifier: None,
    };
    assert_eq!(
        refusal(exchange.exchange(&rp, request).await),
        (ErrorCode::InvalidRequest, "code is required".to_owned())
    );
}

/// Keys read only once the exchange's writes are done: the grant stored under `grant_id`. A
/// key revoked while the exchange waited on the database thus signs nothing.
struct ReadAfterTheWrites<'a> {
    grants: &'a MemoryGrants,
    grant_id: String,
    keys: Arc<KeySet>,
    reads: std::sync::atomic::AtomicUsize,
}

impl crate::issuer::KeySource for ReadAfterTheWrites<'_> {
    fn current(&self) -> Arc<KeySet> {
        assert!(
            self.grants.get(&self.grant_id).is_some(),
            "the keys were read before the grant was stored"
        );
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.keys.clone()
    }
}

#[tokio::test]
async fn the_keys_that_sign_are_read_once_the_database_work_is_done() {
    let endpoint = Endpoint::new();
    let rp = relying_party("rp", true);
    let record = code_grant("rp", &["openid", "offline_access"]);
    let code = endpoint.code_for(&record).await;
    let keys = ReadAfterTheWrites {
        grants: &endpoint.grants,
        grant_id: record.grant.grant_id.clone(),
        keys: endpoint.keys.clone(),
        reads: Default::default(),
    };
    let issuer = Issuer {
        keys: &keys,
        ..endpoint.issuer()
    };
    let exchange = CodeExchange {
        ephemeral: &endpoint.records,
        grants: &endpoint.grants,
        users: &endpoint.users,
        consents: &endpoint.consents,
        clock: &endpoint.clock,
        issuer: &issuer,
    };
    let request = CodeRequest {
        code: Some(&code),
        redirect_uri: Some(REDIRECT_URI),
        code_verifier: None,
    };
    let tokens = exchange.exchange(&rp, request).await.unwrap();
    assert_eq!(keys.reads.load(Ordering::SeqCst), 2, "access and ID token");
    assert!(
        tokens.refresh_token.is_some(),
        "stored before the keys were read"
    );
    assert_eq!(endpoint.id_claims(&tokens).sub, "u1");
}
