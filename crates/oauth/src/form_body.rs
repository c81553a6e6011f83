//! The body of a request to the token, revocation, introspection and pushed-authorization
//! endpoints: `application/x-www-form-urlencoded` (RFC 6749 §3.2), valid UTF-8, each
//! parameter at most once (RFC 6749 §3.1). Parsed from the content type and the bytes alone,
//! so it can be checked (and fuzzed) without an HTTP server.

use std::collections::HashSet;

use idp_core::OAuthError;

/// A parsed `application/x-www-form-urlencoded` body (RFC 6749 §3.2).
pub struct FormBody {
    pairs: Vec<(String, String)>,
}

impl FormBody {
    /// Parses `body`, sent with the `Content-Type` header `content_type` (if any); anything but
    /// a form of distinct, valid UTF-8 parameters is an `invalid_request`.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, OAuthError> {
        // The media type, before any parameters, compared case-insensitively (RFC 9110 §8.3.1).
        let form_type = content_type.is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
        if !form_type {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| OAuthError::invalid_request("the body is not valid UTF-8"))?;
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
            .into_owned()
            .collect();
        // Percent-decoding replaces bytes that are not UTF-8 with U+FFFD: refuse those too.
        if pairs
            .iter()
            .any(|(name, value)| name.contains('\u{FFFD}') || value.contains('\u{FFFD}'))
        {
            return Err(OAuthError::invalid_request(
                "a parameter is not valid UTF-8",
            ));
        }
        let mut seen = HashSet::new();
        if let Some((name, _)) = pairs.iter().find(|(name, _)| !seen.insert(name.as_str())) {
            let name: String = name.chars().take(40).collect();
            return Err(OAuthError::invalid_request(format!(
                "parameter `{name}` is repeated"
            )));
        }
        Ok(Self { pairs })
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded; charset=UTF-8");

    #[test]
    fn a_form_of_distinct_parameters_is_read_and_empty_values_are_absent() {
        let form =
            FormBody::parse(FORM, b"grant_type=authorization_code&code=a%20b&scope=").unwrap();
        assert_eq!(form.get("grant_type"), Some("authorization_code"));
        assert_eq!(form.get("code"), Some("a b"));
        assert_eq!(form.get("scope"), None);
        assert_eq!(form.get("client_id"), None);
        assert_eq!(form.pairs().len(), 3);
        // The media type is case-insensitive and may stand without parameters.
        for media in [
            "APPLICATION/X-WWW-FORM-URLENCODED",
            " application/x-www-form-urlencoded ",
        ] {
            assert!(FormBody::parse(Some(media), b"code=a").is_ok(), "{media}");
        }
    }

    #[test]
    fn other_content_types_repeated_parameters_and_bad_utf8_are_refused() {
        assert!(FormBody::parse(Some("application/json"), b"{}").is_err());
        let lookalike = Some("application/x-www-form-urlencodedX");
        assert!(FormBody::parse(lookalike, b"code=a").is_err());
        assert!(FormBody::parse(None, b"code=a").is_err());
        assert!(FormBody::parse(FORM, b"code=a&code=b").is_err());
        assert!(FormBody::parse(FORM, b"code=\xff").is_err());
        assert!(FormBody::parse(FORM, b"code=%FF").is_err());
    }
}
