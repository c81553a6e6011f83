//! Language preferences from strangers (`Accept-Language`, `ui_locales`): a language or none,
//! never a panic.
#![no_main]

use idp_core::locale::Locale;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Locale::from_accept_language(text);
    let _ = Locale::first_of_list(text);
    let _ = Locale::of_tag(text);
});
