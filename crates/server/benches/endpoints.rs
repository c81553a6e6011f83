//! The server's own work, without HTTP: rendering the discovery document, and exchanging an
//! authorization code (checks, PKCE, spending the code on a real SQLite database, recording
//! the grant, signing the access and ID tokens).
//!
//! `cargo bench -p idp-server`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use idp_core::clock::SystemClock;
use idp_core::model::{
    Client, ClientMetadata, EphemeralKind, NewUser, SigningAlg, TokenEndpointAuthMethod,
};
use idp_oauth::authorization_code::{CodeGrant, CodeRequest};
use idp_oauth::issuer::Proven;
use idp_oauth::tokens::UserGrant;
use idp_server::config::Settings;
use idp_server::oauth::grants::exchange_code;
use idp_server::state::AppState;
use sha2::{Digest as _, Sha256};

const REDIRECT: &str = "https://rp.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-bench";

fn discovery(c: &mut Criterion) {
    let settings = Settings::load(None).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = runtime.block_on(state(&dir));
    let keys = state.keys();
    c.bench_function("discovery document rendered as JSON", |b| {
        b.iter(|| {
            let document = idp_server::published::document(&settings, &keys);
            serde_json::to_vec(&document).unwrap()
        })
    });
}

async fn state(dir: &tempfile::TempDir) -> AppState {
    let mut settings = Settings::load(None).unwrap();
    settings.data_dir = dir.path().join("data");
    settings.database_url = format!("sqlite://{}/idp.db", settings.data_dir.display());
    AppState::build(settings, Arc::new(SystemClock))
        .await
        .unwrap()
}

fn code_exchange(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = runtime.block_on(state(&dir));
    let client = Client {
        id: "bench-client".into(),
        name: "Bench".into(),
        secret_hash: None,
        redirect_uris: vec![REDIRECT.into()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        id_token_signed_response_alg: SigningAlg::ES256,
        admin: false,
        created_at: state.now(),
        metadata: ClientMetadata {
            first_party: true,
            ..ClientMetadata::default()
        },
    };
    runtime.block_on(async {
        state.stores.clients.create_client(&client).await.unwrap();
        let user = NewUser {
            id: "bench-user".into(),
            username: "bench".into(),
            email: "bench@example.com".into(),
            email_verified: false,
            phone: None,
            phone_verified: false,
            password_hash: "$argon2id$unused".into(),
            pin_hash: "$argon2id$unused".into(),
            created_at: state.now(),
        };
        state.stores.users.create_user(&user).await.unwrap();
    });
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let mut n = 0u64;
    c.bench_function("authorization code exchanged (SQLite, ES256)", |b| {
        b.iter_batched(
            || {
                // The authorization endpoint's part: a code stored for the exchange.
                n += 1;
                let code = format!("bench-code-{n}");
                let record = CodeGrant {
                    grant: UserGrant {
                        client_id: client.id.clone(),
                        user_id: "bench-user".into(),
                        scopes: vec!["openid".into(), "email".into()],
                        auth_time: state.now(),
                        acr: "urn:idp:acr:pin".into(),
                        amr: vec!["pwd".into(), "pin".into()],
                        sid: "bench-sid".into(),
                        grant_id: format!("bench-grant-{n}"),
                        claims: None,
                        dpop_jkt: None,
                        certificate: None,
                    },
                    redirect_uri: REDIRECT.into(),
                    nonce: Some("bench-nonce".into()),
                    code_challenge: Some(challenge.clone()),
                    credential_epoch: Some(0),
                    grant_recorded: false,
                };
                let payload = serde_json::to_value(&record).unwrap();
                let id = idp_core::random::sha256_b64(&code);
                let expires = state.now() + 60;
                runtime
                    .block_on(state.stores.ephemeral.put(
                        EphemeralKind::AuthorizationCode,
                        &id,
                        &payload,
                        expires,
                    ))
                    .unwrap();
                code
            },
            |code| {
                let request = CodeRequest {
                    code: Some(&code),
                    redirect_uri: Some(REDIRECT),
                    code_verifier: Some(VERIFIER),
                };
                let tokens =
                    runtime.block_on(exchange_code(&state, &client, request, Proven::default()));
                assert!(tokens.is_ok(), "the code is exchanged");
                tokens
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, discovery, code_exchange);
criterion_main!(benches);
