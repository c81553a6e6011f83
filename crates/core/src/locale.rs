//! The languages there are messages for, and reading which of them someone prefers: a
//! browser's `Accept-Language` (RFC 9110 §12.5.4) or a relying party's `ui_locales` (OpenID
//! Connect Core §3.1.2.1). Pure parsing of what strangers send; the messages themselves and
//! which preference wins on a page are the server's.

/// The languages there are message files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Es,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Es];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
        }
    }

    /// The language's own name for itself, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Es => "Español",
        }
    }

    /// The language of a tag such as `es`, `es-MX` or `EN-gb`, if there are messages for it.
    pub fn of_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Self::ALL
            .into_iter()
            .find(|locale| locale.code().eq_ignore_ascii_case(primary))
    }

    /// The first language of a space-separated list (`ui_locales`) there are messages for.
    pub fn first_of_list(list: &str) -> Option<Self> {
        list.split_ascii_whitespace().find_map(Self::of_tag)
    }

    /// The language an `Accept-Language` header prefers most among those there are messages
    /// for (RFC 9110 §12.5.4: by quality, then by order; `q=0` means not wanted).
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut ranked: Vec<(u16, usize, Self)> = header
            .split(',')
            .take(32)
            .enumerate()
            .filter_map(|(position, item)| {
                let mut parts = item.split(';');
                let locale = Self::of_tag(parts.next()?)?;
                let quality = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1000), quality)?;
                (quality > 0).then_some((quality, position, locale))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.first().map(|(_, _, locale)| *locale)
    }
}

/// A quality value (`0.8`) in thousandths, or `None` if it is not one.
fn quality(value: &str) -> Option<u16> {
    let value = value.trim();
    let number: f32 = value.parse().ok()?;
    (0.0..=1.0)
        .contains(&number)
        .then(|| (number * 1000.0).round() as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_is_ranked_by_quality_then_order() {
        assert_eq!(
            Locale::from_accept_language("es-MX,es;q=0.9,en;q=0.8"),
            Some(Locale::Es)
        );
        assert_eq!(
            Locale::from_accept_language("fr-FR, en;q=0.5, es;q=0.7"),
            Some(Locale::Es)
        );
        assert_eq!(Locale::from_accept_language("de, en-GB"), Some(Locale::En));
        assert_eq!(
            Locale::from_accept_language("es;q=0, en;q=0.1"),
            Some(Locale::En)
        );
        assert_eq!(Locale::from_accept_language("fr, de"), None);
        assert_eq!(Locale::from_accept_language("es;q=2, en;q=abc"), None);
        assert_eq!(Locale::from_accept_language(""), None);
    }

    #[test]
    fn ui_locales_take_the_first_language_there_are_messages_for() {
        assert_eq!(Locale::first_of_list("fr-CA es-419 en"), Some(Locale::Es));
        assert_eq!(Locale::first_of_list("de"), None);
    }
}
