//! A browser and device named for people from its user agent ("Chrome on Windows", "Safari on
//! iPhone"), through woothee's list of agents; "Unknown browser" when it names neither.

use std::sync::LazyLock;

use super::Text;

static PARSER: LazyLock<woothee::parser::Parser> = LazyLock::new(woothee::parser::Parser::new);

/// The system's name as people know it (woothee says "Windows 10", "Mac OSX").
fn system(os: &str) -> Option<&str> {
    match os {
        "" | woothee::woothee::VALUE_UNKNOWN => None,
        "Mac OSX" => Some("macOS"),
        "Windows Phone OS" => Some("Windows Phone"),
        windows if windows.starts_with("Windows") || windows.starts_with("Win") => Some("Windows"),
        other => Some(other),
    }
}

/// What to call the browser behind `user_agent`.
pub fn name(user_agent: Option<&str>) -> Text {
    let unknown = Text::new("account-unknown-browser");
    let Some(found) = user_agent.and_then(|agent| PARSER.parse(agent)) else {
        return unknown;
    };
    let browser = match found.name {
        "" | woothee::woothee::VALUE_UNKNOWN => return unknown,
        name => name,
    };
    match system(found.os) {
        Some(os) => Text::new("account-device-name")
            .with("browser", browser)
            .with("os", os),
        None => Text::new("account-device-browser").with("browser", browser),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    fn named(agent: &str) -> (String, String) {
        let text = name(Some(agent));
        (text.in_locale(Locale::En), text.in_locale(Locale::Es))
    }

    #[test]
    fn common_browsers_are_named_with_their_system() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(
            named(chrome),
            ("Chrome on Windows".into(), "Chrome en Windows".into())
        );
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        assert_eq!(named(iphone).0, "Safari on iPhone");
        let mac =
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(named(mac).0, "Firefox on macOS");
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36";
        assert_eq!(named(android).0, "Chrome on Android");
    }

    #[test]
    fn anything_else_is_an_unknown_browser() {
        for agent in [
            None,
            Some(""),
            Some("curl-ish/1"),
            Some("x".repeat(600).as_str()),
        ] {
            let text = name(agent);
            assert_eq!(text.in_locale(Locale::En), "Unknown browser", "{agent:?}");
            assert_eq!(text.in_locale(Locale::Es), "Navegador desconocido");
        }
    }
}
