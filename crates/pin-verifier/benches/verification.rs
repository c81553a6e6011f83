//! What a sign-in costs beyond the network: verifying the password and the PIN (Argon2id at
//! the provider's default parameters, the PIN keyed with a pepper), and the PIN policy.
//!
//! `cargo bench -p idp-pin-verifier`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use idp_core::hashing::{HashParams, HashPool, Pepper, Turn};
use idp_pin_verifier::PinPolicy;

fn hashing(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = HashPool::new(HashParams::default(), 1, Duration::from_secs(60)).unwrap();
    let pepper: Pepper = Arc::from(&[7u8; 32][..]);
    let password = runtime
        .block_on(pool.hash("correct horse battery staple".into(), None))
        .unwrap();
    let pin = runtime
        .block_on(pool.hash("482916".into(), Some(pepper.clone())))
        .unwrap();
    let mut group = c.benchmark_group("argon2id (19 MiB, 2 passes)");
    group.sample_size(20);
    group.bench_function("password verification", |b| {
        b.iter(|| {
            let ok = runtime
                .block_on(pool.verify(
                    Turn::New,
                    "correct horse battery staple".into(),
                    password.clone(),
                    None,
                ))
                .unwrap();
            assert!(ok);
        });
    });
    group.bench_function("PIN verification (keyed)", |b| {
        b.iter(|| {
            let ok = runtime
                .block_on(pool.verify(
                    Turn::Continuing,
                    "482916".into(),
                    pin.clone(),
                    Some(pepper.clone()),
                ))
                .unwrap();
            assert!(ok);
        });
    });
    group.finish();
}

fn policy(c: &mut Criterion) {
    let policy = PinPolicy::default();
    c.bench_function("PIN policy: a new PIN accepted", |b| {
        b.iter(|| {
            policy
                .check_new(
                    std::hint::black_box("482916"),
                    "482916",
                    Some("+44 7700 900123"),
                )
                .unwrap();
        });
    });
    c.bench_function("PIN policy: a common PIN refused", |b| {
        b.iter(|| {
            policy
                .check_new(std::hint::black_box("112233"), "112233", None)
                .unwrap_err();
        });
    });
}

criterion_group!(benches, hashing, policy);
criterion_main!(benches);
