//! The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1), checked in
//! order by small named checks. Until the client and its redirect URI are known to be good,
//! every error is a page; after that, errors go back to the client (RFC 6749 §4.1.2.1).

use std::collections::HashSet;

use idp_core::model::Client;
use idp_core::store::ClientStore;
use idp_core::{ErrorCode, OAuthError, StoreError};
use serde::{Deserialize, Serialize};

use crate::SCOPES_SUPPORTED;
pub use crate::authorization_response::append_query;
use crate::authorization_response::{ResponseMode, ResponseType};
use crate::claims::ClaimsRequest;
use crate::fapi::Rules;

/// Longest accepted value of the free-form parameters.
pub(crate) const MAX_STATE_LENGTH: usize = 2048;
const MAX_NONCE_LENGTH: usize = 512;
const MAX_HINT_LENGTH: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Show nothing: answer from the session or fail with `login_required`.
    None,
    /// Sign in again even with a session.
    Login,
    /// Ask for consent again, even where the person already gave it.
    Consent,
    /// Let the person choose the account. A browser holds one session, of one person, so
    /// choosing an account means signing in (as anyone): it asks what `login` asks.
    SelectAccount,
}

/// A checked authorization request, as kept through the sign-in steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// S256 code challenge (RFC 7636).
    pub code_challenge: Option<String>,
    /// The `prompt` values, each once; `none` only alone.
    #[serde(default, deserialize_with = "stored_prompts")]
    pub prompt: Vec<Prompt>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The languages the relying party would like the pages in (OpenID Connect Core §3.1.2.1).
    #[serde(default)]
    pub ui_locales: Option<String>,
    /// The authentication context class the sign-in must reach (see [`crate::acr`]).
    #[serde(default)]
    pub acr: Option<String>,
    /// `acr` came from an essential `acr` claim: not reaching it is an error.
    #[serde(default)]
    pub acr_essential: bool,
    /// What the authorization endpoint returns (`code` unless implicit or hybrid).
    #[serde(default)]
    pub response_type: ResponseType,
    /// How the answer travels to the redirect URI.
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// The `claims` parameter (see [`crate::claims`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsRequest>,
    /// The person an `id_token_hint` names, as the authorization endpoint resolved it (see
    /// `idp_signin::Policy::hinted_user`); never set from the query directly.
    #[serde(default)]
    pub hinted_user: Option<String>,
    /// The DPoP key the code is bound to (`dpop_jkt`, or the proof a pushed request came
    /// with; RFC 9449 §10): its exchange needs a proof made with that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
}

/// `prompt` as stored: a list, or (by sign-ins begun before several values were kept) one
/// value or none, so that a sign-in in progress across an upgrade goes on.
fn stored_prompts<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Prompt>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        One(Prompt),
        Many(Vec<Prompt>),
    }
    Ok(match Option::<Stored>::deserialize(d)? {
        None => Vec::new(),
        Some(Stored::One(prompt)) => vec![prompt],
        Some(Stored::Many(prompts)) => prompts,
    })
}

/// The operator's protocol settings the checks read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProtocolOptions {
    /// The implicit and hybrid response types are accepted (RFC 9700 §2.1.2 advises against
    /// them; OpenID Connect Dynamic certification asks for them).
    pub implicit_and_hybrid: bool,
    /// Every client is under the FAPI 2.0 Security Profile (`fapi2.all_clients`; see
    /// [`crate::fapi`]).
    pub fapi2_all_clients: bool,
    /// What mutual TLS (RFC 8705) this deployment offers.
    pub mtls: crate::mtls::Offer,
}

/// Why a request was refused, and so how to answer it.
#[derive(Debug)]
pub enum Rejection {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    Page(RequestProblem),
    /// Tell the client, at its verified redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        mode: ResponseMode,
        error: OAuthError,
    },
    Store(StoreError),
}

/// What is wrong with the client or the redirect URI of a request that cannot be answered at
/// the client's redirect URI (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestProblem {
    /// `client_id` is given more than once.
    TwoClients,
    /// `client_id` is missing.
    NoClient,
    /// No client has that `client_id`.
    UnknownClient,
    /// `redirect_uri` is given more than once.
    TwoRedirectUris,
    /// `redirect_uri` is missing.
    NoRedirectUri,
    /// The client did not register that `redirect_uri`.
    UnknownRedirectUri,
    /// The request object is not valid and no registered redirect URI was given outside it.
    BadRequestObject,
}

impl From<StoreError> for Rejection {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// The request's parameters, each at most once (RFC 6749 §3.1).
pub(crate) struct Params {
    pub(crate) pairs: Vec<(String, String)>,
}

impl Params {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    pub(crate) fn count(&self, name: &str) -> usize {
        self.pairs.iter().filter(|(key, _)| key == name).count()
    }

    fn duplicated(&self) -> Option<&str> {
        let mut seen = HashSet::new();
        self.pairs
            .iter()
            .map(|(key, _)| key.as_str())
            .find(|key| !seen.insert(*key))
    }
}

/// How the request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// On the front channel, in the browser's URL or form.
    Direct,
    /// Pushed first by the authenticated client (RFC 9126).
    Pushed,
}

/// Checks the request and returns it with its client.
pub async fn check(
    pairs: Vec<(String, String)>,
    clients: &dyn ClientStore,
    arrival: Arrival,
    options: ProtocolOptions,
) -> Result<(AuthorizationRequest, Client), Rejection> {
    let params = Params { pairs };
    let client = check_client(&params, clients).await?;
    let redirect_uri = check_redirect_uri(&params, &client)?;
    let state = params.get("state").map(str::to_owned);
    let rules = Rules::for_client(&client.metadata, options);
    let options = ProtocolOptions {
        // Only `code` under the FAPI 2.0 profile, whatever the setting.
        implicit_and_hybrid: options.implicit_and_hybrid && rules.allows_implicit_and_hybrid(),
        ..options
    };
    let mode = answer_mode(&params, options);
    let refuse = |error: OAuthError| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone().filter(|s| s.len() <= MAX_STATE_LENGTH),
        mode,
        error,
    };
    check_no_duplicates(&params).map_err(refuse)?;
    if arrival == Arrival::Direct
        && (client.metadata.require_pushed_authorization_requests || rules.requires_par())
    {
        return Err(refuse(OAuthError::invalid_request(
            "this client must push its authorization requests (PAR, RFC 9126)",
        )));
    }
    rules
        .check_redirect_uri(&redirect_uri)
        .map_err(|why| refuse(OAuthError::invalid_request(why)))?;
    let response_type = check_response_type(&params, options).map_err(refuse)?;
    check_client_may_use(&client, response_type).map_err(refuse)?;
    check_request_objects(&params).map_err(refuse)?;
    let response_mode = check_response_mode(&params, response_type).map_err(refuse)?;
    check_nonce(&params, response_type).map_err(refuse)?;
    let scopes = check_scope(&params).map_err(refuse)?;
    let code_challenge = if response_type.code {
        check_pkce(&params, &client, rules).map_err(refuse)?
    } else {
        None
    };
    let prompt = check_prompt(&params).map_err(refuse)?;
    let max_age = check_max_age(&params).map_err(refuse)?;
    check_display(&params).map_err(refuse)?;
    check_lengths(&params).map_err(refuse)?;
    let claims = ClaimsRequest::from_param(params.get("claims")).map_err(refuse)?;
    let required =
        crate::acr::required(params.get("acr_values"), claims.as_ref()).map_err(refuse)?;
    let acr_essential = required.as_ref().is_some_and(|r| r.essential);
    let acr = required.map(|r| r.acr);
    let dpop_jkt = crate::dpop::requested_key(params.get("dpop_jkt")).map_err(refuse)?;
    let request = AuthorizationRequest {
        client_id: client.id.clone(),
        redirect_uri,
        scopes,
        state,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        ui_locales: params.get("ui_locales").map(str::to_owned),
        acr,
        acr_essential,
        response_type,
        response_mode,
        claims,
        hinted_user: None,
        dpop_jkt,
    };
    Ok((request, client))
}

pub(crate) async fn check_client(
    params: &Params,
    clients: &dyn ClientStore,
) -> Result<Client, Rejection> {
    if params.count("client_id") > 1 {
        return Err(Rejection::Page(RequestProblem::TwoClients));
    }
    let Some(client_id) = params.get("client_id") else {
        return Err(Rejection::Page(RequestProblem::NoClient));
    };
    clients
        .find_client(client_id)
        .await?
        .ok_or_else(|| Rejection::Page(RequestProblem::UnknownClient))
}

/// The redirect URI must be given and equal, character for character, to a registered one
/// (OpenID Connect Core §3.1.2.1; RFC 9700 §2.1 forbids pattern matching).
pub(crate) fn check_redirect_uri(params: &Params, client: &Client) -> Result<String, Rejection> {
    if params.count("redirect_uri") > 1 {
        return Err(Rejection::Page(RequestProblem::TwoRedirectUris));
    }
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err(Rejection::Page(RequestProblem::NoRedirectUri));
    };
    if !client
        .redirect_uris
        .iter()
        .any(|registered| registered == redirect_uri)
    {
        return Err(Rejection::Page(RequestProblem::UnknownRedirectUri));
    }
    Ok(redirect_uri.to_owned())
}

fn check_no_duplicates(params: &Params) -> Result<(), OAuthError> {
    match params.duplicated() {
        Some(name) => Err(OAuthError::invalid_request(format!(
            "parameter `{name}` is repeated"
        ))),
        None => Ok(()),
    }
}

fn check_request_objects(params: &Params) -> Result<(), OAuthError> {
    if params.get("request").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is only accepted as the reference to a pushed request",
        ));
    }
    Ok(())
}

/// The response type, if it is one this provider answers with these settings.
fn supported_response_type(params: &Params, options: ProtocolOptions) -> Option<ResponseType> {
    params
        .get("response_type")
        .and_then(ResponseType::parse)
        .filter(|parsed| parsed.is_code() || options.implicit_and_hybrid)
}

/// How an answer to this request travels, errors included: the mode asked for when it is one
/// this provider has and the response type allows, else the response type's default
/// (Multiple Response Types §5: never the query once tokens are in the answer).
pub(crate) fn answer_mode(params: &Params, options: ProtocolOptions) -> ResponseMode {
    let response_type = supported_response_type(params, options).unwrap_or_default();
    match params.get("response_mode").and_then(ResponseMode::parse) {
        Some(ResponseMode::Query) if response_type.returns_tokens() => response_type.default_mode(),
        Some(mode) => mode,
        None => response_type.default_mode(),
    }
}

fn check_response_type(
    params: &Params,
    options: ProtocolOptions,
) -> Result<ResponseType, OAuthError> {
    if params.get("response_type").is_none() {
        return Err(OAuthError::invalid_request("response_type is required"));
    }
    supported_response_type(params, options).ok_or_else(|| {
        OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            if options.implicit_and_hybrid {
                "response_type must be code, or a combination of code, id_token and token"
            } else {
                "only response_type=code is supported"
            },
        )
    })
}

/// The client must be registered for the grant types the response type belongs to (RFC 7591
/// §2.1).
fn check_client_may_use(client: &Client, response_type: ResponseType) -> Result<(), OAuthError> {
    match response_type
        .grant_types()
        .find(|grant| !client.may_use_grant(grant))
    {
        Some(grant) => Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client is not registered for the {grant} grant"),
        )),
        None if response_type.token
            && (client.metadata.dpop_bound_access_tokens
                || client.metadata.tls_client_certificate_bound_access_tokens) =>
        {
            // An access token from the authorization endpoint is bound to nothing.
            Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "this client's access tokens are sender-constrained: they come from the token endpoint only",
            ))
        }
        None => Ok(()),
    }
}

fn check_response_mode(
    params: &Params,
    response_type: ResponseType,
) -> Result<ResponseMode, OAuthError> {
    match params.get("response_mode") {
        None => Ok(response_type.default_mode()),
        Some(asked) => match ResponseMode::parse(asked) {
            Some(ResponseMode::Query) if response_type.returns_tokens() => {
                Err(OAuthError::invalid_request(
                    "response_mode=query is not allowed when tokens come from the authorization endpoint",
                ))
            }
            Some(mode) => Ok(mode),
            None => Err(OAuthError::invalid_request(
                "response_mode must be query, fragment or form_post",
            )),
        },
    }
}

/// An ID token from the authorization endpoint must carry a `nonce` (OpenID Connect Core
/// §3.2.2.1, §3.3.2.11): it is the relying party's only defence against a replayed one.
fn check_nonce(params: &Params, response_type: ResponseType) -> Result<(), OAuthError> {
    if response_type.id_token && params.get("nonce").is_none() {
        return Err(OAuthError::invalid_request(
            "nonce is required when an ID token comes from the authorization endpoint",
        ));
    }
    Ok(())
}

/// `openid` is required; unknown scopes are dropped, duplicates removed.
fn check_scope(params: &Params) -> Result<Vec<String>, OAuthError> {
    let requested: Vec<&str> = params.get("scope").unwrap_or_default().split(' ').collect();
    if !requested.contains(&"openid") {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "scope must include openid",
        ));
    }
    Ok(SCOPES_SUPPORTED
        .iter()
        .filter(|scope| requested.contains(scope))
        .map(|scope| (*scope).to_owned())
        .collect())
}

/// PKCE (RFC 7636): S256 only, never `plain`; required for public clients (RFC 9700 §2.1.1)
/// and for every client under the FAPI 2.0 profile.
fn check_pkce(
    params: &Params,
    client: &Client,
    rules: Rules,
) -> Result<Option<String>, OAuthError> {
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    match (challenge, method) {
        (None, None) if rules.requires_pkce() => Err(OAuthError::invalid_request(
            "PKCE is required under the FAPI 2.0 profile: send code_challenge with code_challenge_method=S256",
        )),
        (None, None) if client.is_public() => Err(OAuthError::invalid_request(
            "PKCE is required for public clients: send code_challenge with code_challenge_method=S256",
        )),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (Some(_), None | Some("plain")) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        )),
        (Some(_), Some(other)) if other != "S256" => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        )),
        (Some(challenge), Some(_)) => {
            let valid = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if valid {
                Ok(Some(challenge.to_owned()))
            } else {
                Err(OAuthError::invalid_request(
                    "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
                ))
            }
        }
    }
}

/// `prompt` (OpenID Connect Core §3.1.2.1): space-separated values, `none` only alone.
fn check_prompt(params: &Params) -> Result<Vec<Prompt>, OAuthError> {
    let Some(value) = params.get("prompt") else {
        return Ok(Vec::new());
    };
    let values: Vec<&str> = value.split(' ').filter(|v| !v.is_empty()).collect();
    if values.contains(&"none") && values.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    let mut prompt = Vec::new();
    for value in values {
        let one = match value {
            "none" => Prompt::None,
            "login" => Prompt::Login,
            "consent" => Prompt::Consent,
            "select_account" => Prompt::SelectAccount,
            _ => {
                return Err(OAuthError::invalid_request(format!(
                    "prompt `{}` is not supported",
                    value.chars().take(32).collect::<String>()
                )));
            }
        };
        if !prompt.contains(&one) {
            prompt.push(one);
        }
    }
    Ok(prompt)
}

/// `display` (OpenID Connect Core §3.1.2.1): the pages are the same whichever is asked (they
/// fit any screen), but an unknown value is an error.
fn check_display(params: &Params) -> Result<(), OAuthError> {
    match params.get("display") {
        None | Some("page" | "popup" | "touch" | "wap") => Ok(()),
        Some(_) => Err(OAuthError::invalid_request(
            "display must be page, popup, touch or wap",
        )),
    }
}

fn check_max_age(params: &Params) -> Result<Option<i64>, OAuthError> {
    params
        .get("max_age")
        .map(|value| {
            value.parse::<u32>().map(i64::from).map_err(|_| {
                OAuthError::invalid_request("max_age must be a whole number of seconds")
            })
        })
        .transpose()
}

fn check_lengths(params: &Params) -> Result<(), OAuthError> {
    for (name, limit) in [
        ("state", MAX_STATE_LENGTH),
        ("nonce", MAX_NONCE_LENGTH),
        ("login_hint", MAX_HINT_LENGTH),
        ("ui_locales", MAX_HINT_LENGTH),
        // Accepted and otherwise ignored: claims come in the one language they are stored in.
        ("claims_locales", MAX_HINT_LENGTH),
    ] {
        if params.get(name).is_some_and(|value| value.len() > limit) {
            return Err(OAuthError::invalid_request(format!(
                "{name} is longer than {limit} characters"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use idp_core::model::TokenEndpointAuthMethod;

    use super::*;
    use crate::test_stores::{OneClient, client};

    async fn refusal(pairs: &[(&str, &str)]) -> Rejection {
        refusal_with(pairs, ProtocolOptions::default()).await
    }

    async fn refusal_with(pairs: &[(&str, &str)], options: ProtocolOptions) -> Rejection {
        let clients = OneClient(client("c1", TokenEndpointAuthMethod::None, None));
        let pairs = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        match check(pairs, &clients, Arrival::Direct, options).await {
            Ok(_) => panic!("accepted"),
            Err(rejection) => rejection,
        }
    }

    #[tokio::test]
    async fn errors_travel_in_a_mode_the_response_type_allows() {
        let on = ProtocolOptions {
            implicit_and_hybrid: true,
            ..ProtocolOptions::default()
        };
        let base = [
            ("client_id", "c1"),
            ("redirect_uri", "https://rp.example/cb"),
            ("scope", "openid"),
        ];
        /// The extra parameters, the settings, and the mode and error of the refusal.
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            ProtocolOptions,
            ResponseMode,
            ErrorCode,
        );
        let cases: [Case<'_>; 5] = [
            // Tokens never go in the query, not even to refuse it.
            (
                &[
                    ("response_type", "id_token"),
                    ("response_mode", "query"),
                    ("nonce", "n"),
                ],
                on,
                ResponseMode::Fragment,
                ErrorCode::InvalidRequest,
            ),
            (
                &[("response_type", "code id_token")],
                on,
                ResponseMode::Fragment,
                ErrorCode::InvalidRequest,
            ),
            (
                &[("response_type", "code"), ("response_mode", "jwt")],
                on,
                ResponseMode::Query,
                ErrorCode::InvalidRequest,
            ),
            (
                &[
                    ("response_type", "id_token"),
                    ("response_mode", "form_post"),
                ],
                ProtocolOptions::default(),
                ResponseMode::FormPost,
                ErrorCode::UnsupportedResponseType,
            ),
            (
                &[("response_type", "id_token"), ("nonce", "n")],
                ProtocolOptions::default(),
                ResponseMode::Query,
                ErrorCode::UnsupportedResponseType,
            ),
        ];
        for (extra, options, expected_mode, expected_code) in cases {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            match refusal_with(&pairs, options).await {
                Rejection::Redirect { mode, error, .. } => {
                    assert_eq!(mode, expected_mode, "{extra:?}");
                    assert_eq!(error.code, expected_code, "{extra:?}");
                }
                other => panic!("{extra:?}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn an_untrusted_client_or_redirect_uri_is_answered_with_a_page() {
        let cb = ("redirect_uri", "https://rp.example/cb");
        for (pairs, expected) in [
            (vec![], RequestProblem::NoClient),
            (
                vec![("client_id", "c1"), ("client_id", "c2")],
                RequestProblem::TwoClients,
            ),
            (
                vec![("client_id", "nobody"), cb],
                RequestProblem::UnknownClient,
            ),
            (vec![("client_id", "c1")], RequestProblem::NoRedirectUri),
            (
                vec![("client_id", "c1"), cb, cb],
                RequestProblem::TwoRedirectUris,
            ),
            (
                vec![
                    ("client_id", "c1"),
                    ("redirect_uri", "https://rp.example/cb/"),
                ],
                RequestProblem::UnknownRedirectUri,
            ),
        ] {
            match refusal(&pairs).await {
                Rejection::Page(problem) => assert_eq!(problem, expected, "{pairs:?}"),
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
        match refusal(&[("client_id", "c1"), cb, ("state", "s")]).await {
            Rejection::Redirect {
                redirect_uri,
                state,
                error,
                ..
            } => {
                assert_eq!(redirect_uri, "https://rp.example/cb");
                assert_eq!(state.as_deref(), Some("s"));
                assert_eq!(error.code, ErrorCode::InvalidRequest);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn prompt_values_are_checked() {
        let params = |v: &str| Params {
            pairs: vec![("prompt".into(), v.into())],
        };
        assert_eq!(check_prompt(&params("login")).unwrap(), [Prompt::Login]);
        assert_eq!(check_prompt(&params("none")).unwrap(), [Prompt::None]);
        assert_eq!(
            check_prompt(&params("login  consent login")).unwrap(),
            [Prompt::Login, Prompt::Consent]
        );
        assert_eq!(
            check_prompt(&params("select_account")).unwrap(),
            [Prompt::SelectAccount]
        );
        assert!(check_prompt(&params("none login")).is_err());
        assert!(check_prompt(&params("consent none")).is_err());
        assert!(check_prompt(&params("create")).is_err());
    }

    #[test]
    fn prompts_stored_by_an_earlier_release_read_back() {
        let stored = |prompt: serde_json::Value| {
            let mut request = serde_json::json!({
                "client_id": "c1", "redirect_uri": "https://rp.example/cb", "scopes": ["openid"],
                "state": null, "nonce": null, "code_challenge": null, "max_age": null,
                "login_hint": null,
            });
            request["prompt"] = prompt;
            serde_json::from_value::<AuthorizationRequest>(request)
                .unwrap()
                .prompt
        };
        assert_eq!(stored(serde_json::json!("login")), [Prompt::Login]);
        assert_eq!(stored(serde_json::Value::Null), []);
        assert_eq!(
            stored(serde_json::json!(["consent", "select_account"])),
            [Prompt::Consent, Prompt::SelectAccount]
        );
    }

    #[test]
    fn display_values_are_checked() {
        let params = |v: &str| Params {
            pairs: vec![("display".into(), v.into())],
        };
        for value in ["page", "popup", "touch", "wap"] {
            assert!(check_display(&params(value)).is_ok(), "{value}");
        }
        assert!(check_display(&params("tv")).is_err());
    }

    #[test]
    fn scopes_keep_only_what_is_supported() {
        let params = Params {
            pairs: vec![("scope".into(), "openid email bogus email".into())],
        };
        assert_eq!(check_scope(&params).unwrap(), vec!["openid", "email"]);
        let params = Params {
            pairs: vec![("scope".into(), "email".into())],
        };
        assert_eq!(
            check_scope(&params).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }
}
