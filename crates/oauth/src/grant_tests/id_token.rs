//! The ID token's claims about the person: those the `claims` parameter named, and, when no
//! access token comes with it, those of its scopes (OpenID Connect Core §5.4).

use idp_core::model::SubjectType;
use idp_token_issuer::IdTokenClaims;

use super::{Endpoint, PAIRWISE_KEY, code_grant};
use crate::claims::ClaimsRequest;
use crate::test_stores::person;
use crate::tokens::{IdTokenFor, id_token};

#[test]
fn without_an_access_token_the_scopes_claims_go_into_the_id_token() {
    let endpoint = Endpoint::new();
    let client = super::relying_party("rp", true);
    let grant = code_grant("rp", &["openid", "email"]).grant;
    let user = person("u1");
    let sign = |with: IdTokenFor<'_>| -> IdTokenClaims {
        let token = id_token(&endpoint.issuer(), endpoint.now(), &client, &grant, with).unwrap();
        endpoint
            .keys
            .verify(&token, "JWT", super::ISSUER, endpoint.now())
            .unwrap()
    };
    let alone = sign(IdTokenFor {
        user: Some(&user),
        nonce: Some("n"),
        scope_claims: true,
        ..IdTokenFor::default()
    });
    assert_eq!(alone.extra["email"], "u1@example.org");
    assert_eq!(alone.extra["email_verified"], true);
    assert_eq!(alone.at_hash, None, "no access token, no at_hash");
    assert_eq!(alone.nonce.as_deref(), Some("n"));
    let with_access = sign(IdTokenFor {
        user: Some(&user),
        access_token: Some("at"),
        ..IdTokenFor::default()
    });
    assert!(with_access.extra.is_empty(), "{:?}", with_access.extra);
    assert!(with_access.at_hash.is_some());
}

#[test]
fn named_claims_and_the_pairwise_sub_go_into_the_id_token() {
    let endpoint = Endpoint::new();
    let mut client = super::relying_party("rp", true);
    client.metadata.subject_type = SubjectType::Pairwise;
    let mut grant = code_grant("rp", &["openid"]).grant;
    grant.claims =
        ClaimsRequest::from_param(Some(r#"{"id_token":{"preferred_username":null}}"#)).unwrap();
    let user = person("u1");
    let token = id_token(
        &endpoint.issuer(),
        endpoint.now(),
        &client,
        &grant,
        IdTokenFor {
            user: Some(&user),
            ..IdTokenFor::default()
        },
    )
    .unwrap();
    let claims: IdTokenClaims = endpoint
        .keys
        .verify(&token, "JWT", super::ISSUER, endpoint.now())
        .unwrap();
    assert_eq!(claims.extra["preferred_username"], "u1");
    assert_eq!(
        claims.sub,
        crate::subject::subject_for(&PAIRWISE_KEY, &client, "u1")
    );
    assert_ne!(claims.sub, "u1");
}
