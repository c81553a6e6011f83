//! Client metadata for dynamic registration (RFC 7591), as anyone may post it: accepted as a
//! registration or refused with an error, never a panic.
#![no_main]

use idp_oauth::client_metadata::{RegistrationRequest, check};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<RegistrationRequest>(data) {
        let _ = check(&request);
    }
});
