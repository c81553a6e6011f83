//! `totp::verify` of a right and of a wrong code: three HMAC-SHA-1 computations each, on the
//! sign-in path of everyone with an authenticator app.
//!
//! `cargo bench -p idp-factors --bench verify`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use idp_factors::totp::{self, Secret};

fn verify(c: &mut Criterion) {
    let secret = Secret::generate();
    let now = 1_800_000_000;
    let right = totp::code_at(&secret, now);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    c.bench_function("totp_verify_right", |b| {
        b.iter(|| totp::verify(black_box(&secret), black_box(&right), now, 0));
    });
    c.bench_function("totp_verify_wrong", |b| {
        b.iter(|| totp::verify(black_box(&secret), black_box(wrong), now, 0));
    });
}

criterion_group!(benches, verify);
criterion_main!(benches);
