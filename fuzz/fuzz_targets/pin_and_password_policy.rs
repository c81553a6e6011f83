//! New PINs and passwords as people type them (with their confirmation, phone number and
//! username): accepted or refused with a reason, never a panic.
#![no_main]

use idp_core::password_policy::PasswordPolicy;
use idp_pin_verifier::PinPolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\n');
    let (first, second, third) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next(),
    );
    let _ = PinPolicy::default().check_new(first, second, third);
    let _ = PinPolicy::default().check_new(first, first, third);
    let _ = PasswordPolicy::default().check(first, second, third.unwrap_or_default());
    let _ = PasswordPolicy::default().check(first, first, third.unwrap_or_default());
    let _ = idp_core::validate::username(first);
    let _ = idp_core::validate::email(first);
    let _ = idp_core::validate::phone(first);
});
