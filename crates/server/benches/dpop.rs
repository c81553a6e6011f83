//! Checking one DPoP proof (RFC 9449) as the token endpoint does: its header, key and ES256
//! signature (`idp_token_issuer::dpop::verify`), then its claims and its `jti` recorded as
//! used (`idp_oauth::dpop::check`), here in a replay cache in memory. The goal is under 100 µs
//! of CPU per proof.
//!
//! `cargo bench -p idp-server --bench dpop`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{Consumed, EphemeralKind, SigningAlg};
use idp_core::store::EphemeralStore;
use idp_oauth::dpop::{Expected, check};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

const URL: &str = "https://idp.example/token";
const NOW: UnixTime = 1_800_000_000;

/// Short-lived records in memory by kind and id: payload, expiry, consumed.
#[derive(Default)]
struct Memory(Mutex<HashMap<String, (Value, UnixTime, bool)>>);

fn key(kind: EphemeralKind, id: &str) -> String {
    format!("{kind:?}:{id}")
}

#[async_trait]
impl EphemeralStore for Memory {
    async fn put(
        &self,
        kind: EphemeralKind,
        id: &str,
        payload: &Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let mut records = self.0.lock().unwrap();
        let consumed = records.get(&key(kind, id)).is_some_and(|r| r.2);
        records.insert(key(kind, id), (payload.clone(), expires_at, consumed));
        Ok(())
    }
    async fn get(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<Value>, StoreError> {
        let records = self.0.lock().unwrap();
        Ok(records
            .get(&key(kind, id))
            .filter(|(_, expires_at, consumed)| *expires_at > now && !consumed)
            .map(|(payload, _, _)| payload.clone()))
    }
    async fn consume(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Consumed, StoreError> {
        let mut records = self.0.lock().unwrap();
        Ok(match records.get_mut(&key(kind, id)) {
            Some((_, expires_at, _)) if *expires_at <= now => Consumed::Missing,
            Some((payload, _, consumed)) if *consumed => Consumed::Replayed(payload.clone()),
            Some((payload, _, consumed)) => {
                *consumed = true;
                Consumed::Fresh(payload.clone())
            }
            None => Consumed::Missing,
        })
    }
    async fn delete(&self, kind: EphemeralKind, id: &str) -> Result<(), StoreError> {
        self.0.lock().unwrap().remove(&key(kind, id));
        Ok(())
    }
    /// One step, as the stores with an atomic insert-if-absent answer it.
    async fn first_use(
        &self,
        kind: EphemeralKind,
        id: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut records = self.0.lock().unwrap();
        let record = records
            .entry(key(kind, id))
            .or_insert((Value::Null, 0, false));
        let first = record.1 <= now;
        if first {
            *record = (Value::Null, expires_at, true);
        }
        Ok(first)
    }
    async fn purge_expired(&self, before: UnixTime) -> Result<u64, StoreError> {
        let mut records = self.0.lock().unwrap();
        let count = records.len();
        records.retain(|_, (_, expires_at, _)| *expires_at >= before);
        Ok((count - records.len()) as u64)
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A client's ES256 proof key: what signs, and the proof's header with its public JWK.
struct ProofKey {
    key: EncodingKey,
    header: String,
}

impl ProofKey {
    fn new() -> Self {
        let der = idp_token_issuer::SigningKey::generate(SigningAlg::ES256).unwrap();
        let key = EncodingKey::from_ec_der(&der);
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap()).unwrap();
        jwk.as_object_mut().unwrap().remove("alg");
        let header = b64(&json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk }));
        Self { key, header }
    }

    /// A fresh proof (a new `jti`) for a POST to the token endpoint at `NOW`.
    fn proof(&self) -> String {
        let claims = json!({
            "jti": idp_core::random::random_token(16),
            "htm": "POST",
            "htu": URL,
            "iat": NOW,
        });
        let input = format!("{}.{}", self.header, b64(&claims));
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, Algorithm::ES256).unwrap();
        format!("{input}.{signature}")
    }
}

fn dpop(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let key = ProofKey::new();
    let replays = Memory::default();
    let expected = Expected {
        method: "POST",
        url: URL,
        access_token: None,
        nonces: None,
    };
    c.bench_function(
        "dpop proof checked (ES256): header, key, signature, claims, jti first use",
        |b| {
            b.iter_batched(
                || key.proof(),
                |proof| {
                    runtime
                        .block_on(check(&proof, expected, &replays, NOW))
                        .is_ok()
                },
                BatchSize::SmallInput,
            )
        },
    );
    let proof = key.proof();
    c.bench_function(
        "dpop proof's signature alone (ES256): header, key, signature",
        |b| b.iter(|| idp_token_issuer::dpop::verify(&proof).is_ok()),
    );
}

criterion_group!(benches, dpop);
criterion_main!(benches);
