//! Token signing per algorithm (ID tokens and RFC 9068 access tokens), and rendering the JWKS.
//!
//! `cargo bench -p idp-token-issuer`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use idp_core::model::SigningAlg;
use idp_token_issuer::{AccessTokenClaims, IdTokenClaims, KeySet, SigningKey};

fn keys() -> KeySet {
    let keys = SigningAlg::ALL
        .into_iter()
        .map(|alg| {
            let mut key = SigningKey::from_pkcs8(alg, &SigningKey::generate(alg).unwrap()).unwrap();
            key.signing = true;
            key
        })
        .collect();
    KeySet::new(keys)
}

fn id_token() -> IdTokenClaims {
    IdTokenClaims {
        iss: "https://idp.example".into(),
        sub: "0f8e6c2a-user".into(),
        aud: "tax-portal".into(),
        exp: 1_800_000_600,
        iat: 1_800_000_000,
        auth_time: 1_800_000_000,
        nonce: Some("n-0S6_WzA2Mj".into()),
        acr: "urn:idp:acr:pin".into(),
        amr: vec!["pwd".into(), "pin".into()],
        sid: "sid-8f2a".into(),
        at_hash: Some("77QmUPtjPfzWtF2AnpK9RQ".into()),
        c_hash: None,
        extra: Default::default(),
    }
}

fn access_token() -> AccessTokenClaims {
    AccessTokenClaims {
        iss: "https://idp.example".into(),
        sub: "tax-portal".into(),
        aud: "https://idp.example".into(),
        exp: 1_800_000_600,
        iat: 1_800_000_000,
        jti: "jti-5b1c".into(),
        client_id: "tax-portal".into(),
        scope: "".into(),
        auth_time: None,
        acr: None,
        amr: None,
        grant_id: None,
        userinfo_claims: None,
        cnf: None,
    }
}

fn signing(c: &mut Criterion) {
    let keys = keys();
    let (id, access) = (id_token(), access_token());
    for alg in SigningAlg::ALL {
        c.bench_function(&format!("ID token, {}", alg.as_str()), |b| {
            b.iter(|| keys.sign(alg, "JWT", std::hint::black_box(&id)).unwrap());
        });
    }
    c.bench_function("access token (RFC 9068), ES256", |b| {
        b.iter(|| {
            keys.sign(SigningAlg::ES256, "at+jwt", std::hint::black_box(&access))
                .unwrap()
        });
    });
    c.bench_function("JWKS rendered as JSON", |b| {
        b.iter(|| serde_json::to_vec(&keys.jwks()).unwrap());
    });
}

criterion_group!(benches, signing);
criterion_main!(benches);
