//! `RelyingParty::finish_authentication` of a valid ES256 assertion: parsing the state, the
//! answer and the stored passkey, and one ECDSA P-256 verification, on the sign-in path of
//! everyone with a passkey.
//!
//! `cargo bench -p idp-factors --bench passkey`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use idp_factors::passkey::RelyingParty;
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

fn finish_authentication(c: &mut Criterion) {
    let origin = Url::parse("https://id.example.com").unwrap();
    let rp = RelyingParty::new("id.example.com", &origin, "Example").unwrap();
    // A software passkey that sets the user-verified flag.
    let mut authenticator = SoftPasskey::new(true);

    let (options, state) = rp.start_registration([1; 16], "ana", "Ana", &[]).unwrap();
    let options = serde_json::from_value(options).unwrap();
    let answer = authenticator
        .do_registration(origin.clone(), options)
        .unwrap();
    let new = rp
        .finish_registration(&serde_json::to_value(answer).unwrap(), &state)
        .unwrap();

    let stored = vec![new.stored];
    let (options, state) = rp.start_authentication(&stored).unwrap();
    let options = serde_json::from_value(options).unwrap();
    let answer = authenticator.do_authentication(origin, options).unwrap();
    let answer = serde_json::to_value(answer).unwrap();
    // The stored passkey is not updated between runs, so every run is a first use.
    rp.finish_authentication(&answer, &state, &stored).unwrap();

    c.bench_function("passkey_finish_authentication_es256", |b| {
        b.iter(|| {
            rp.finish_authentication(black_box(&answer), black_box(&state), black_box(&stored))
                .unwrap()
        });
    });
}

criterion_group!(benches, finish_authentication);
criterion_main!(benches);
