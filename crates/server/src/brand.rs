//! How the pages and messages present the service (the `[brand]` settings): its name, logo,
//! accent colour and support contact. Set for each request (`scope`), so that pages and the
//! messages sent from a request need no state passed down to them.

use std::path::Path;

use serde_json::{Value, json};

use crate::config::BrandSettings;
use crate::state::AppState;

tokio::task_local! {
    static CURRENT: AppState;
}

/// Runs `work` (a request's handling) presenting the service as `state`'s settings say.
pub async fn scope<F: Future>(state: AppState, work: F) -> F::Output {
    CURRENT.scope(state, work).await
}

fn with<T>(read: impl FnOnce(&BrandSettings) -> T) -> Option<T> {
    CURRENT.try_with(|state| read(&state.settings.brand)).ok()
}

/// What every page shows of the brand (`brand` in its template context).
pub fn context() -> Value {
    with(|brand| {
        json!({
            "name": Some(brand.name.as_str()).filter(|n| !n.is_empty()),
            "logo": brand.logo_file.is_some(),
            "support": support(brand),
        })
    })
    .unwrap_or(Value::Null)
}

fn support(brand: &BrandSettings) -> Value {
    let given = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    let (email, phone, hours) = (
        given(&brand.support_email),
        given(&brand.support_phone),
        given(&brand.support_hours),
    );
    if email.is_none() && phone.is_none() {
        return Value::Null;
    }
    json!({ "email": email, "phone": phone, "hours": hours })
}

/// The support contact in one line, for the end of a message, when one is set.
pub fn support_line() -> Option<String> {
    with(|brand| {
        let parts: Vec<&str> = [&brand.support_email, &brand.support_phone]
            .into_iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            return None;
        }
        let mut line = parts.join(" · ");
        if !brand.support_hours.is_empty() {
            line = format!("{line} ({})", brand.support_hours);
        }
        Some(line)
    })
    .flatten()
}

/// The service's name as messages sign it, when one is set.
pub fn name() -> Option<String> {
    with(|brand| Some(brand.name.clone()).filter(|n| !n.is_empty())).flatten()
}

const STYLE: &str = include_str!("../static/style.css");

/// The accent colour the stylesheet is written with.
pub const DEFAULT_ACCENT: &str = "#0b5cad";

/// The pages' stylesheet, in `accent`.
pub fn stylesheet(accent: &str) -> String {
    STYLE.replacen(
        &format!("--accent: {DEFAULT_ACCENT}"),
        &format!("--accent: {accent}"),
        1,
    )
}

/// The media type of a logo file, by its extension.
pub fn logo_type(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "svg" => Some("image/svg+xml"),
        "png" => Some("image/png"),
        "webp" => Some("image/webp"),
        _ => None,
    }
}

/// The largest logo file served.
pub const LOGO_MAX_BYTES: u64 = 256 * 1024;

/// The contrast an accent colour must have against white: buttons write white on it, and
/// links are written in it on white (WCAG 2.1 AA for normal text, 1.4.3).
pub const MIN_CONTRAST: f64 = 4.5;

/// `#RRGGBB` as its three channels.
pub fn parse_colour(text: &str) -> Option<[u8; 3]> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// The contrast ratio of a colour against white (WCAG 2.1, relative luminance).
pub fn contrast_with_white(rgb: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let [r, g, b] = rgb.map(linear);
    let luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    1.05 / (luminance + 0.05)
}

/// Whether the brand settings can be used: each refusal names the setting and what is wrong.
pub fn check(brand: &BrandSettings) -> Result<(), (&'static str, String)> {
    if brand.name.chars().count() > 60 {
        return Err(("brand.name", "may be at most 60 characters".into()));
    }
    let Some(rgb) = parse_colour(&brand.accent_colour) else {
        return Err(("brand.accent_colour", "must be a colour as #RRGGBB".into()));
    };
    let contrast = contrast_with_white(rgb);
    if contrast < MIN_CONTRAST {
        return Err((
            "brand.accent_colour",
            format!(
                "has a contrast of {contrast:.1}:1 with white; buttons and links need at least {MIN_CONTRAST}:1 (WCAG 2.1 AA): choose a darker colour"
            ),
        ));
    }
    if let Some(path) = &brand.logo_file {
        if logo_type(path).is_none() {
            return Err((
                "brand.logo_file",
                "must be an .svg, .png or .webp file".into(),
            ));
        }
        let size = std::fs::metadata(path)
            .map_err(|e| ("brand.logo_file", format!("`{}`: {e}", path.display())))?
            .len();
        if size > LOGO_MAX_BYTES {
            return Err((
                "brand.logo_file",
                format!("is {size} bytes; at most {LOGO_MAX_BYTES} are served"),
            ));
        }
    }
    if !brand.support_email.is_empty() && !brand.support_email.contains('@') {
        return Err(("brand.support_email", "must be an e-mail address".into()));
    }
    for (name, value) in [
        ("brand.support_email", &brand.support_email),
        ("brand.support_phone", &brand.support_phone),
        ("brand.support_hours", &brand.support_hours),
    ] {
        if value.chars().count() > 100 {
            return Err((name, "may be at most 100 characters".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_is_measured_as_wcag_says() {
        // Black on white is 21:1, white on white 1:1; the default accent passes AA.
        assert!((contrast_with_white([0, 0, 0]) - 21.0).abs() < 0.01);
        assert!((contrast_with_white([255, 255, 255]) - 1.0).abs() < 0.01);
        let default = parse_colour(DEFAULT_ACCENT).unwrap();
        assert!(contrast_with_white(default) >= MIN_CONTRAST);
        // #767676 is the lightest grey that passes on white; #777777 does not.
        assert!(contrast_with_white(parse_colour("#767676").unwrap()) >= MIN_CONTRAST);
        assert!(contrast_with_white(parse_colour("#777777").unwrap()) < MIN_CONTRAST);
    }

    #[test]
    fn colours_are_six_hex_digits() {
        assert_eq!(parse_colour("#0B5cad"), Some([0x0b, 0x5c, 0xad]));
        for bad in ["0b5cad", "#0b5ca", "#0b5cadd", "#0g5cad", "red", ""] {
            assert_eq!(parse_colour(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_stylesheet_takes_the_accent() {
        assert!(STYLE.contains(&format!("--accent: {DEFAULT_ACCENT}")));
        let styled = stylesheet("#123456");
        assert!(styled.contains("--accent: #123456"));
        assert!(!styled.contains(DEFAULT_ACCENT));
    }
}
