//! Time-based one-time passwords (RFC 6238) with the parameters every authenticator app
//! supports: HMAC-SHA-1, 6 digits, 30-second steps.

use std::fmt;

use idp_core::clock::UnixTime;
use rand::{RngCore as _, TryRngCore as _};
use subtle::ConstantTimeEq as _;
use totp_rs::{Algorithm, Builder, Totp};

/// Seconds per time step (RFC 6238 §5.2 recommends 30).
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Bytes of a generated secret: 160 bits, the length RFC 4226 §4 recommends.
pub const SECRET_BYTES: usize = 20;
/// The shortest secret accepted: 128 bits (RFC 4226 §4).
pub const MIN_SECRET_BYTES: usize = 16;

/// The shared secret of one authenticator. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct Secret(Totp);

impl Secret {
    /// 20 random bytes from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        // Without the OS RNG no secret can be made; UnwrapErr panics, as rand::rng() would.
        rand::rngs::OsRng.unwrap_err().fill_bytes(&mut bytes);
        match Self::from_bytes(bytes.to_vec()) {
            Some(secret) => secret,
            None => unreachable!("a 20-byte secret is long enough"),
        }
    }

    /// A stored secret; `None` when shorter than 128 bits.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        if bytes.len() < MIN_SECRET_BYTES {
            return None;
        }
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_step_duration(30)
            .with_skew(0)
            .with_secret(bytes)
            .build()
            .ok()
            .map(Self)
    }

    /// A secret as typed from base32 (case, spaces, hyphens and padding ignored).
    pub fn from_base32(text: &str) -> Option<Self> {
        let cleaned: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '='))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let secret = totp_rs::Secret::try_from_base32(cleaned).ok()?;
        Self::from_bytes(secret.as_ref().to_vec())
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.secret().as_ref()
    }

    /// RFC 4648 base32, upper case, no padding: what people type into an app.
    pub fn base32(&self) -> String {
        self.0.secret().to_base32()
    }

    /// [`Self::base32`] in groups of four separated by spaces, for display.
    pub fn base32_grouped(&self) -> String {
        let plain = self.base32();
        let mut grouped = String::with_capacity(plain.len() + plain.len() / 4);
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                grouped.push(' ');
            }
            grouped.push(c);
        }
        grouped
    }

    /// The code of one time step, or `None` for a step before the epoch.
    fn code_of_step(&self, step: i64) -> Option<String> {
        let time = u64::try_from(step.checked_mul(STEP_SECONDS)?).ok()?;
        Some(self.0.generate(time).to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The outcome of checking a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The code is right for `step`; store it as the new last step.
    Accepted {
        step: i64,
    },
    /// The code is right but for a step already used (RFC 6238 §5.2: accept a code once).
    Replayed,
    Wrong,
}

/// The time step of `now`.
pub fn step_at(now: UnixTime) -> i64 {
    now.div_euclid(STEP_SECONDS)
}

/// Checks `code` at `now`, accepting the current step and one step either side (RFC 6238
/// §5.2, clock skew), the current first, and refusing any step at or before `last_step`.
pub fn verify(secret: &Secret, code: &str, now: UnixTime, last_step: i64) -> Verdict {
    let Some(code) = normalise_code(code) else {
        return Verdict::Wrong;
    };
    let current = step_at(now);
    let mut verdict = Verdict::Wrong;
    // Every candidate is computed and compared, so the time taken does not say which matched.
    for step in [
        Some(current),
        current.checked_sub(1),
        current.checked_add(1),
    ]
    .into_iter()
    .flatten()
    {
        let Some(expected) = secret.code_of_step(step) else {
            continue;
        };
        let matches: bool = expected.as_bytes().ct_eq(&code).into();
        verdict = match (verdict, matches) {
            (Verdict::Accepted { .. }, _) | (_, false) => verdict,
            (_, true) if step > last_step => Verdict::Accepted { step },
            (_, true) => Verdict::Replayed,
        };
    }
    verdict
}

/// The code an authenticator app shows at `now` (for tests).
pub fn code_at(secret: &Secret, now: UnixTime) -> String {
    secret.code_of_step(step_at(now)).unwrap_or_default()
}

/// Strips spaces and hyphens; `None` unless exactly six ASCII digits remain.
fn normalise_code(input: &str) -> Option<[u8; DIGITS]> {
    let mut digits = [0u8; DIGITS];
    let mut len = 0;
    for byte in input.bytes().filter(|b| !matches!(b, b' ' | b'-')) {
        if !byte.is_ascii_digit() || len == DIGITS {
            return None;
        }
        digits[len] = byte;
        len += 1;
    }
    (len == DIGITS).then_some(digits)
}

/// The Key URI Format provisioning URI an authenticator app scans:
/// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
///
/// The label may not hold a colon other than its separator, so an issuer with a colon is
/// given by the `issuer` parameter alone (the one apps prefer), and the label is the account.
pub fn otpauth_uri(secret: &Secret, issuer: &str, account: &str) -> String {
    let label = if issuer.contains(':') {
        percent_encode(account)
    } else {
        format!("{}:{}", percent_encode(issuer), percent_encode(account))
    };
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        secret.base32(),
        percent_encode(issuer),
    )
}

/// Percent-encodes all but RFC 3986's unreserved characters (so a space is `%20`, not `+`).
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The URI as an inline SVG QR code, for an HTML page: no XML declaration, a quiet zone,
/// black on white, a `viewBox` in modules so CSS can scale it, `role="img"` and
/// `aria-label` set to `label` (which the page translates). `None` when the URI is too long
/// for a QR code (some 2,300 bytes at this error-correction level).
pub fn qr_svg(uri: &str, label: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M).ok()?;
    let rendered = code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    // The renderer's own header has an XML declaration and a size in pixels; keep its drawing.
    let body = &rendered[rendered.find("<rect")?..];
    let size = code.width() + 8; // 4 modules of quiet zone each side
    let px = size * 4;
    Some(format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{px}" height="{px}" shape-rendering="crispEdges" role="img" aria-label="{}">{body}"#,
        escape_attribute(label)
    ))
}

fn escape_attribute(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> Secret {
        Secret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        // RFC 6238 Appendix B: time, 8-digit TOTP for SHA-1; 6 digits are the last six.
        let vectors: [(i64, &str); 6] = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let secret = rfc_secret();
        for (time, eight) in vectors {
            assert_eq!(code_at(&secret, time), &eight[2..], "at {time}");
            assert_eq!(
                verify(&secret, &eight[2..], time, 0),
                Verdict::Accepted {
                    step: time / STEP_SECONDS
                }
            );
        }
    }

    #[test]
    fn one_step_of_skew_is_accepted_two_are_not() {
        let secret = Secret::generate();
        let now = 1_700_000_015;
        let step = step_at(now);
        for offset in [-1, 0, 1] {
            let code = code_at(&secret, now + offset * STEP_SECONDS);
            assert_eq!(
                verify(&secret, &code, now, 0),
                Verdict::Accepted {
                    step: step + offset
                }
            );
        }
        for offset in [-2, 2] {
            let code = code_at(&secret, now + offset * STEP_SECONDS);
            // A chance collision with a nearer step's code is one in a million per step.
            if [-1, 0, 1]
                .iter()
                .all(|o| code_at(&secret, now + o * 30) != code)
            {
                assert_eq!(verify(&secret, &code, now, 0), Verdict::Wrong);
            }
        }
    }

    #[test]
    fn a_code_is_accepted_once() {
        let secret = Secret::generate();
        let now = 1_700_000_000;
        let code = code_at(&secret, now);
        let Verdict::Accepted { step } = verify(&secret, &code, now, 0) else {
            panic!("first use refused");
        };
        assert_eq!(verify(&secret, &code, now, step), Verdict::Replayed);
        assert_eq!(verify(&secret, &code, now + 29, step), Verdict::Replayed);
        // The previous step's code, after the current one was used, is replayed too.
        let previous = code_at(&secret, now - STEP_SECONDS);
        if previous != code {
            assert_eq!(verify(&secret, &previous, now, step), Verdict::Replayed);
        }
        // The next step's code is still good.
        let next = code_at(&secret, now + STEP_SECONDS);
        assert_eq!(
            verify(&secret, &next, now, step),
            Verdict::Accepted { step: step + 1 }
        );
    }

    #[test]
    fn input_is_normalised_and_garbage_refused() {
        let secret = rfc_secret();
        let now = 59;
        assert_eq!(
            verify(&secret, " 287-082 ", now, 0),
            Verdict::Accepted { step: 1 }
        );
        for garbage in [
            "",
            "28708",
            "2870820",
            "28708x",
            "２８７０８２",
            "+87082",
            "287 08",
            "abcdef",
            "94287082",
            "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
        ] {
            assert_eq!(
                verify(&secret, garbage, now, 0),
                Verdict::Wrong,
                "{garbage:?}"
            );
        }
        assert_eq!(verify(&secret, "287082", i64::MIN, 0), Verdict::Wrong);
        assert_eq!(verify(&secret, "287082", i64::MAX, 0), Verdict::Wrong);
        assert_eq!(verify(&secret, "287082", -1, 0), Verdict::Wrong);
    }

    #[test]
    fn secrets_round_trip_through_base32_and_do_not_print() {
        let secret = Secret::generate();
        assert_eq!(secret.as_bytes().len(), 20);
        let text = secret.base32();
        assert_eq!(text.len(), 32);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
        );
        let back = Secret::from_base32(&text).unwrap();
        assert_eq!(back.as_bytes(), secret.as_bytes());
        let grouped = secret.base32_grouped();
        assert_eq!(grouped.split(' ').count(), 8);
        assert!(grouped.split(' ').all(|group| group.len() == 4));
        let back = Secret::from_base32(&grouped.to_lowercase()).unwrap();
        assert_eq!(back.as_bytes(), secret.as_bytes());
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert!(Secret::from_bytes(vec![7; 15]).is_none());
        assert!(Secret::from_bytes(vec![7; 16]).is_some());
        assert_eq!(
            Secret::from_bytes(b"12345678901234567890".to_vec())
                .unwrap()
                .base32(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn uri_encodes_issuer_and_account() {
        let secret = rfc_secret();
        assert_eq!(
            otpauth_uri(&secret, "Tax Office", "alice@example.com"),
            "otpauth://totp/Tax%20Office:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Tax%20Office&algorithm=SHA1&digits=6&period=30"
        );
        let uri = otpauth_uri(&secret, "Ministry: Tax & Customs", "jean-luc.o'neil");
        assert_eq!(
            uri,
            "otpauth://totp/jean-luc.o%27neil?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Ministry%3A%20Tax%20%26%20Customs&algorithm=SHA1&digits=6&period=30"
        );
        // An independent parser reads back what was meant (its checked constructor refuses a
        // colon in an issuer, so the unchecked one).
        for (issuer, account) in [
            ("Tax Office", "alice@example.com"),
            ("Ministry: Tax & Customs", "jean-luc.o'neil"),
            ("Café ?#", "bob+1@example.com"),
        ] {
            let parsed = Totp::from_url_unchecked(otpauth_uri(&secret, issuer, account)).unwrap();
            assert_eq!(parsed.issuer(), Some(issuer));
            assert_eq!(parsed.account_name(), account);
            assert_eq!(parsed.secret().as_ref(), secret.as_bytes());
            assert_eq!((parsed.digits(), parsed.step()), (6, 30));
            assert_eq!(parsed.algorithm(), Algorithm::SHA1);
        }
    }

    #[test]
    fn qr_is_inline_svg() {
        let uri = otpauth_uri(&Secret::generate(), "Tax Office", "alice@example.com");
        let svg = qr_svg(&uri, "QR code \"for\" <your> app").unwrap();
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 "#));
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
        assert!(
            svg.contains(r#"role="img" aria-label="QR code &quot;for&quot; &lt;your&gt; app""#)
        );
        assert!(svg.contains(r##"fill="#000""##) && svg.contains(r##"fill="#fff""##));
        // The light background covers the whole viewBox, quiet zone included.
        let size = svg
            .split("viewBox=\"0 0 ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap();
        assert!(svg.contains(&format!(
            r#"<rect x="0" y="0" width="{size}" height="{size}""#
        )));
        assert!(qr_svg(&"x".repeat(5000), "QR").is_none());
    }
}
