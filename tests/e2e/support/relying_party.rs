//! The relying party: the `openidconnect` crate configured by discovery, the authorization
//! request it starts and the code it exchanges; and the client's other calls.

use openidconnect::core::{
    CoreClient, CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
    CoreTokenResponse,
};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope,
};
use reqwest::StatusCode;
use serde_json::Value;

use super::browser::Browser;
use super::process::TestIdp;
use super::{PASSWORD, PIN};

/// The query parameters of a URL.
pub fn query(url: &str) -> Vec<(String, String)> {
    let parsed = url::Url::parse(url).expect("absolute URL");
    parsed.query_pairs().into_owned().collect()
}

pub fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A relying party built on the `openidconnect` crate, configured by discovery.
pub struct RelyingParty {
    pub client: Rp,
    pub http: openidconnect::reqwest::Client,
    pub redirect_uri: String,
}

pub struct AuthStart {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: Option<PkceCodeVerifier>,
}

impl RelyingParty {
    pub async fn discover(
        idp: &TestIdp,
        client_id: &str,
        secret: Option<&str>,
        redirect_uri: &str,
    ) -> Self {
        Self::discover_issuer(&idp.issuer, client_id, secret, redirect_uri).await
    }

    /// The relying party of a client that `idp client create` made (its printed JSON).
    pub async fn of_client(idp: &TestIdp, client: &Value, redirect_uri: &str) -> Self {
        Self::discover(
            idp,
            client["client_id"].as_str().expect("client_id"),
            client["client_secret"].as_str(),
            redirect_uri,
        )
        .await
    }

    pub async fn discover_issuer(
        issuer: &str,
        client_id: &str,
        secret: Option<&str>,
        redirect_uri: &str,
    ) -> Self {
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .build()
            .expect("rp http client");
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(issuer.to_owned()).expect("issuer"),
            &http,
        )
        .await
        .expect("discovery");
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id.to_owned()),
            secret.map(|s| ClientSecret::new(s.to_owned())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).expect("redirect uri"));
        Self {
            client,
            http,
            redirect_uri: redirect_uri.to_owned(),
        }
    }

    /// An authorization URL with PKCE, a nonce and `scopes`, plus any extra parameters.
    pub fn start(&self, scopes: &[&str], extra: &[(&str, &str)], pkce: bool) -> AuthStart {
        let mut request = self.client.authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in scopes {
            request = request.add_scope(Scope::new((*scope).to_owned()));
        }
        for (name, value) in extra {
            request = request.add_extra_param(*name, *value);
        }
        let verifier = if pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            Some(verifier)
        } else {
            None
        };
        let (url, state, nonce) = request.url();
        AuthStart {
            url: url.to_string(),
            state,
            nonce,
            verifier,
        }
    }

    /// The whole flow for `username` in `browser`: authorization request, password, PIN, and
    /// the code exchange.
    pub async fn sign_in(
        &self,
        browser: &Browser,
        username: &str,
        start: &mut AuthStart,
    ) -> CoreTokenResponse {
        let login = browser.open(&start.url).await;
        let done = browser.sign_in(&login, username, PASSWORD, PIN).await;
        let location = done.location.expect("a redirect to the relying party");
        let code = param(&location, "code").expect("a code");
        self.exchange(&code, start.verifier.take())
            .await
            .expect("code exchange")
    }

    pub async fn exchange(
        &self,
        code: &str,
        verifier: Option<PkceCodeVerifier>,
    ) -> Result<CoreTokenResponse, String> {
        let mut request = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .expect("token endpoint");
        if let Some(verifier) = verifier {
            request = request.set_pkce_verifier(verifier);
        }
        request
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(body) => body.error().to_string(),
                other => format!("{other:?}"),
            })
    }

    pub fn verify_id_token(
        &self,
        token: &CoreTokenResponse,
        nonce: &Nonce,
        alg: CoreJwsSigningAlgorithm,
    ) -> CoreIdTokenClaims {
        use openidconnect::TokenResponse as _;
        let id_token = token.id_token().expect("an ID token");
        let verifier = self.client.id_token_verifier().set_allowed_algs(vec![alg]);
        id_token
            .claims(&verifier, nonce)
            .expect("the ID token validates")
            .clone()
    }
}

/// An access token from the token endpoint at `issuer` for `client` (as `idp client create`
/// printed it) acting for itself, with `scope`; empty when refused.
pub async fn client_token(issuer: &str, client: &Value, scope: &str) -> String {
    let response: Value = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth(
            client["client_id"].as_str().expect("client_id"),
            client["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token response");
    response["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The status UserInfo answers to a request with this bearer token.
pub async fn userinfo_status(issuer: &str, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{issuer}/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo")
        .status()
}

/// The tax portal's redirect URI in the tests (nothing listens there).
pub const PORTAL_REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A provider with a confidential client, the tax portal, and a person, alice, who can sign
/// in to it.
pub struct TaxPortal {
    pub idp: TestIdp,
    pub rp: RelyingParty,
    pub client_id: String,
    pub secret: String,
}

impl TaxPortal {
    pub async fn start() -> Self {
        let idp = TestIdp::start().await;
        let client =
            idp.create_client(&["--name", "Tax Portal", "--redirect-uri", PORTAL_REDIRECT]);
        idp.create_user("alice");
        let client_id = client["client_id"].as_str().unwrap().to_owned();
        let secret = client["client_secret"].as_str().unwrap().to_owned();
        let rp = RelyingParty::discover(&idp, &client_id, Some(&secret), PORTAL_REDIRECT).await;
        Self {
            idp,
            rp,
            client_id,
            secret,
        }
    }
}
