//! A client assertion (RFC 7523) as any client may present it: the claimed client is read, and
//! the assertion verified against registered keys, refused or accepted, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(assertion) = std::str::from_utf8(data) else {
        return;
    };
    let _ = idp_token_issuer::client_assertion::claimed_client(assertion);
    let jwks = serde_json::json!({ "keys": [{
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "k1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    }]});
    let _ = idp_token_issuer::client_assertion::verify(
        assertion,
        "c1",
        &jwks,
        &["https://idp.example", "https://idp.example/token"],
        1_800_000_000,
    );
});
