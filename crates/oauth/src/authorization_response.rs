//! The authorization endpoint's answer to the relying party, success or error: what it says
//! (`code`, tokens or `error`, with `state` and `iss`), where it goes (the verified redirect
//! URI) and how it travels there (the response mode: OAuth 2.0 Multiple Response Type
//! Encoding Practices §2.1, OAuth 2.0 Form Post Response Mode). The server renders it as a
//! redirect or as a page that posts it.

use idp_core::{ErrorCode, OAuthError};
use serde::{Deserialize, Serialize};

/// How the answer's parameters reach the redirect URI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// In the query string (the default for `code`).
    #[default]
    Query,
    /// In the fragment (the default whenever a token comes from the authorization endpoint).
    Fragment,
    /// In a form the browser posts to the redirect URI.
    FormPost,
}

impl ResponseMode {
    /// The modes this provider answers in, as discovery lists them.
    pub const SUPPORTED: [&'static str; 3] = ["query", "fragment", "form_post"];

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "query" => Some(Self::Query),
            "fragment" => Some(Self::Fragment),
            "form_post" => Some(Self::FormPost),
            _ => None,
        }
    }
}

/// What the authorization endpoint returns (OpenID Connect Core §3, §3.2, §3.3): a code, an
/// ID token, an access token, or a combination. The order of the words does not matter
/// (RFC 6749 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseType {
    pub code: bool,
    pub id_token: bool,
    pub token: bool,
}

impl Default for ResponseType {
    fn default() -> Self {
        Self::CODE
    }
}

impl ResponseType {
    pub const CODE: Self = Self {
        code: true,
        id_token: false,
        token: false,
    };

    /// Every combination this provider can answer, as discovery lists them.
    pub const ALL: [&'static str; 6] = [
        "code",
        "id_token",
        "id_token token",
        "code id_token",
        "code token",
        "code id_token token",
    ];

    /// The response type named by `value`, if it is one OpenID Connect defines: each word at
    /// most once, `token` never alone (a bare OAuth implicit grant has no ID token).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parsed = Self {
            code: false,
            id_token: false,
            token: false,
        };
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            let slot = match word {
                "code" => &mut parsed.code,
                "id_token" => &mut parsed.id_token,
                "token" => &mut parsed.token,
                _ => return None,
            };
            if *slot {
                return None;
            }
            *slot = true;
        }
        let known = parsed.code || parsed.id_token;
        known.then_some(parsed)
    }

    /// Whether this is the plain code flow.
    pub fn is_code(self) -> bool {
        self == Self::CODE
    }

    /// Whether a token (access or ID) comes from the authorization endpoint: the implicit and
    /// hybrid flows, whose answer must never be in the query (Multiple Response Types §5).
    pub fn returns_tokens(self) -> bool {
        self.id_token || self.token
    }

    /// The response mode when the request names none (Multiple Response Types §2.1, §3).
    pub fn default_mode(self) -> ResponseMode {
        if self.returns_tokens() {
            ResponseMode::Fragment
        } else {
            ResponseMode::Query
        }
    }

    /// The grant types a client must be registered for to use this response type (RFC 7591
    /// §2.1: `code` goes with `authorization_code`, the tokens with `implicit`).
    pub fn grant_types(self) -> impl Iterator<Item = &'static str> {
        [
            self.code.then_some("authorization_code"),
            self.returns_tokens().then_some("implicit"),
        ]
        .into_iter()
        .flatten()
    }
}

/// The answer, ready for the browser to carry to the relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationResponse {
    /// The redirect URI the request was checked against.
    pub redirect_uri: String,
    pub mode: ResponseMode,
    /// Every parameter, `state` and `iss` (RFC 9207) last.
    pub params: Vec<(String, String)>,
}

impl AuthorizationResponse {
    /// A successful answer with `params`, then `state` (when the request had one) and `iss`.
    pub fn success(
        redirect_uri: &str,
        mode: ResponseMode,
        params: Vec<(String, String)>,
        state: Option<&str>,
        issuer: &str,
    ) -> Self {
        let mut params = params;
        if let Some(state) = state {
            params.push(("state".to_owned(), state.to_owned()));
        }
        params.push(("iss".to_owned(), issuer.to_owned()));
        Self {
            redirect_uri: redirect_uri.to_owned(),
            mode,
            params,
        }
    }

    /// An error answer (RFC 6749 §4.1.2.1, §4.2.2.1).
    pub fn error(
        redirect_uri: &str,
        mode: ResponseMode,
        state: Option<&str>,
        error: &OAuthError,
        issuer: &str,
    ) -> Self {
        let params = vec![
            ("error".to_owned(), error.code.as_str().to_owned()),
            (
                "error_description".to_owned(),
                error.description.to_string(),
            ),
        ];
        Self::success(redirect_uri, mode, params, state, issuer)
    }

    /// `access_denied`: the person said no, or went back to the relying party.
    pub fn access_denied(
        redirect_uri: &str,
        mode: ResponseMode,
        state: Option<&str>,
        issuer: &str,
    ) -> Self {
        let error = OAuthError::new(ErrorCode::AccessDenied, "the person did not allow access");
        Self::error(redirect_uri, mode, state, &error, issuer)
    }

    /// The error code, when this is an error answer.
    pub fn error_code(&self) -> Option<&str> {
        self.param("error")
    }

    /// The value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Where to redirect the browser: the redirect URI with the parameters in its query or in
    /// its fragment. `None` for `form_post`, which the browser posts instead.
    pub fn location(&self) -> Option<String> {
        let pairs: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match self.mode {
            ResponseMode::Query => Some(append_query(&self.redirect_uri, &pairs)),
            ResponseMode::Fragment => {
                let base = self
                    .redirect_uri
                    .split_once('#')
                    .map_or(self.redirect_uri.as_str(), |(base, _)| base);
                Some(format!("{base}#{}", encode(&pairs)))
            }
            ResponseMode::FormPost => None,
        }
    }

    /// The source a page's `form-action` must allow for the form to reach the redirect URI:
    /// its origin, or its scheme for a URI that has no origin (a native app's own scheme).
    pub fn form_action_source(&self) -> Option<String> {
        let url = url::Url::parse(&self.redirect_uri).ok()?;
        match url.origin() {
            url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
            url::Origin::Opaque(_) => Some(format!("{}:", url.scheme())),
        }
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// `uri` with `pairs` added to its query, keeping what it already has.
pub fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let encoded = encode(pairs);
    let separator = if uri.contains('?') { '&' } else { '?' };
    match uri.split_once('#') {
        Some((base, _fragment)) => format!("{base}{separator}{encoded}"),
        None => format!("{uri}{separator}{encoded}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_types_are_read_in_any_order_and_only_as_defined() {
        let parsed = ResponseType::parse("token id_token code").unwrap();
        assert!(parsed.code && parsed.id_token && parsed.token);
        assert_eq!(ResponseType::parse("code"), Some(ResponseType::CODE));
        for each in ResponseType::ALL {
            assert!(ResponseType::parse(each).is_some(), "{each}");
        }
        for refused in [
            "",
            "token",
            "none",
            "code code",
            "code bogus",
            "id_token id_token",
        ] {
            assert_eq!(ResponseType::parse(refused), None, "{refused}");
        }
        let implicit = ResponseType::parse("id_token token").unwrap();
        assert_eq!(implicit.default_mode(), ResponseMode::Fragment);
        assert_eq!(implicit.grant_types().collect::<Vec<_>>(), ["implicit"]);
        let hybrid = ResponseType::parse("code id_token").unwrap();
        assert_eq!(
            hybrid.grant_types().collect::<Vec<_>>(),
            ["authorization_code", "implicit"]
        );
        assert_eq!(ResponseType::CODE.default_mode(), ResponseMode::Query);
    }

    #[test]
    fn each_mode_carries_the_parameters_its_own_way() {
        let answer = |mode| {
            AuthorizationResponse::success(
                "https://rp.example/cb?x=1#old",
                mode,
                vec![("code".into(), "a b".into())],
                Some("s&t"),
                "https://idp.example",
            )
        };
        assert_eq!(
            answer(ResponseMode::Query).location().unwrap(),
            "https://rp.example/cb?x=1&code=a+b&state=s%26t&iss=https%3A%2F%2Fidp.example"
        );
        assert_eq!(
            answer(ResponseMode::Fragment).location().unwrap(),
            "https://rp.example/cb?x=1#code=a+b&state=s%26t&iss=https%3A%2F%2Fidp.example"
        );
        let posted = answer(ResponseMode::FormPost);
        assert_eq!(posted.location(), None);
        assert_eq!(posted.param("state"), Some("s&t"));
        assert_eq!(
            posted.form_action_source().as_deref(),
            Some("https://rp.example")
        );
    }

    #[test]
    fn an_error_names_its_code_and_a_native_scheme_is_its_own_source() {
        let denied = AuthorizationResponse::access_denied(
            "com.example.app:/cb",
            ResponseMode::FormPost,
            None,
            "https://idp.example",
        );
        assert_eq!(denied.error_code(), Some("access_denied"));
        assert_eq!(denied.param("state"), None);
        assert_eq!(denied.param("iss"), Some("https://idp.example"));
        assert_eq!(
            denied.form_action_source().as_deref(),
            Some("com.example.app:")
        );
    }

    #[test]
    fn appends_to_an_existing_query() {
        assert_eq!(
            append_query("https://rp.example/cb", &[("code", "a b")]),
            "https://rp.example/cb?code=a+b"
        );
        assert_eq!(
            append_query("https://rp.example/cb?x=1", &[("code", "c")]),
            "https://rp.example/cb?x=1&code=c"
        );
    }
}
