//! A token-endpoint request body with any content type: parsed into parameters (each at most
//! once, valid UTF-8) or refused, never a panic.
#![no_main]

use idp_oauth::form_body::FormBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.split_first() {
        Some((0, rest)) => ("application/x-www-form-urlencoded", rest),
        Some((1, rest)) => ("application/x-www-form-urlencoded; charset=UTF-8", rest),
        Some((2, rest)) => ("application/json", rest),
        Some((_, rest)) => ("text/plain", rest),
        None => return,
    };
    if let Ok(form) = FormBody::parse(Some(content_type), body) {
        for name in ["grant_type", "code", "refresh_token", "client_id", "scope"] {
            let _ = form.get(name);
        }
    }
});
