//! The token endpoint's reads on the embedded default (SQLite in a file, on the calling
//! thread): a short-lived record, whether a grant is active, a person. Each introspection and
//! refresh makes some of these, so a change to how they run is measured here first.
//!
//! `cargo bench -p idp-store-sql`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use idp_core::model::{
    Client, ClientMetadata, EphemeralKind, Grant, NewUser, SigningAlg, TokenEndpointAuthMethod,
};
use idp_core::store::{ClientStore as _, EphemeralStore as _, GrantStore as _, UserStore as _};
use idp_store_sql::SqlStore;

fn hot_reads(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let store = runtime.block_on(async {
        let store = SqlStore::open(&url, 4).await.unwrap();
        store.migrate().await.unwrap();
        let user = NewUser {
            id: "u1".into(),
            username: "alice".into(),
            email: "alice@example.com".into(),
            email_verified: true,
            phone: None,
            phone_verified: false,
            password_hash: "$argon2id$placeholder".into(),
            pin_hash: "$argon2id$placeholder".into(),
            created_at: 1,
        };
        store.create_user(&user).await.unwrap();
        let client = Client {
            id: "rp".into(),
            name: "RP".into(),
            secret_hash: None,
            redirect_uris: vec!["https://rp.example/cb".into()],
            token_endpoint_auth_method: TokenEndpointAuthMethod::None,
            id_token_signed_response_alg: SigningAlg::ES256,
            admin: false,
            created_at: 1,
            metadata: ClientMetadata::default(),
        };
        store.create_client(&client).await.unwrap();
        let grant = Grant {
            id: "g1".into(),
            user_id: "u1".into(),
            client_id: "rp".into(),
            created_at: 1,
            revoked_at: None,
            sid: None,
        };
        store.create_grant(&grant).await.unwrap();
        let record = serde_json::json!({ "grant_id": "g1", "scope": "openid" });
        let kind = EphemeralKind::RefreshToken;
        store.put(kind, "r1", &record, 10_000).await.unwrap();
        store
    });
    c.bench_function("ephemeral record, live", |b| {
        b.iter(|| {
            runtime
                .block_on(store.get(EphemeralKind::RefreshToken, "r1", 5))
                .unwrap()
        })
    });
    c.bench_function("grant is active", |b| {
        b.iter(|| runtime.block_on(store.grant_is_active("g1")).unwrap())
    });
    c.bench_function("person by id", |b| {
        b.iter(|| runtime.block_on(store.find_user("u1")).unwrap())
    });
}

criterion_group!(benches, hot_reads);
criterion_main!(benches);
