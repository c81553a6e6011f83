//! DPoP proofs (RFC 9449) at this server's endpoints: the `DPoP` header read, the proof checked
//! (in `idp-oauth`) for the endpoint's URL from the issuer identifier, its `jti` recorded where
//! every node sees it, and refusals answered as the RFC words them.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::model::Client;
use idp_core::{ErrorCode, OAuthError};
use idp_oauth::dpop::{self, DpopError, Expected};

use crate::error::{BearerError, Fault, JsonError};
use crate::state::AppState;

/// The `DPoP` request header.
pub const DPOP: &str = "dpop";
/// The response header that carries a server nonce.
pub const DPOP_NONCE: &str = "dpop-nonce";

/// The challenge a resource endpoint answers a DPoP refusal with (RFC 9449 §7.1).
pub fn challenge(error: Option<&OAuthError>) -> HeaderValue {
    let algs = dpop::ALGORITHMS.join(" ");
    let value = match error {
        Some(error) => format!(
            "DPoP error=\"{}\", error_description=\"{}\", algs=\"{algs}\"",
            error.code.as_str(),
            error.description.replace(['"', '\\'], "'")
        ),
        None => format!("DPoP algs=\"{algs}\""),
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
}

/// Why a request's proof was refused, answered at the token-side endpoints as JSON
/// (RFC 9449 §5.1, with a fresh `DPoP-Nonce` when one is asked for).
#[derive(Debug)]
pub struct Refused {
    pub error: JsonError,
    /// The nonce to send back (`use_dpop_nonce`).
    pub nonce: Option<String>,
}

impl From<JsonError> for Refused {
    fn from(error: JsonError) -> Self {
        Self { error, nonce: None }
    }
}

impl From<idp_core::StoreError> for Refused {
    fn from(error: idp_core::StoreError) -> Self {
        JsonError::from(error).into()
    }
}

impl From<OAuthError> for Refused {
    fn from(error: OAuthError) -> Self {
        JsonError::from(error).into()
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        if let Some(nonce) = self.nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert(DPOP_NONCE, nonce);
        }
        response
    }
}

/// The proof's refusal with the nonce the client should use, when it is asked for one.
pub fn refused(state: &AppState, error: DpopError) -> Refused {
    match error {
        DpopError::Store(error) => JsonError::Fault(Fault::store(error)).into(),
        DpopError::OAuth(error) => Refused {
            nonce: (error.code == ErrorCode::UseDpopNonce)
                .then(|| current_nonce(state))
                .flatten(),
            error: error.into(),
        },
    }
}

/// A resource endpoint's answer to a refused DPoP request (RFC 9449 §7.1): 401 with a `DPoP`
/// challenge, and a `DPoP-Nonce` when one is asked for.
pub fn resource_refusal(error: OAuthError, nonce: Option<String>) -> Response {
    let body = serde_json::json!({
        "error": error.code.as_str(),
        "error_description": error.description,
    });
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::WWW_AUTHENTICATE, challenge(Some(&error)));
    if let Some(nonce) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
        headers.insert(DPOP_NONCE, nonce);
    }
    response
}

/// A [`Refused`] as a resource endpoint answers it.
impl From<Refused> for BearerError {
    fn from(refused: Refused) -> Self {
        match refused.error {
            JsonError::OAuth(error) => Self::Dpop(error, refused.nonce),
            JsonError::Fault(fault) => Self::Fault(fault),
        }
    }
}

/// `response` with the nonce the next proof should carry, when the deployment asks for nonces
/// (RFC 9449 §8.2): clients move to a new nonce without being refused first.
pub fn with_nonce(state: &AppState, mut response: Response) -> Response {
    if let Some(nonce) = current_nonce(state).and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert(DPOP_NONCE, nonce);
    }
    response
}

/// The nonce proofs should carry now, when the deployment asks for nonces.
pub fn current_nonce(state: &AppState) -> Option<String> {
    state.dpop_nonces.as_ref().map(|n| n.current(state.now()))
}

/// The key (its thumbprint) the request's proof is made with, checked for `method` at the
/// endpoint `path` of the issuer, with `access_token` when one is presented; `None` when the
/// request carries no proof.
pub async fn proven_key(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    access_token: Option<&str>,
) -> Result<Option<String>, Refused> {
    let values: Vec<&str> = headers
        .get_all(DPOP)
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .collect();
    let Some(proof) = dpop::one_proof(&values).map_err(|e| refused(state, e))? else {
        return Ok(None);
    };
    let url = format!(
        "{}{path}",
        crate::oauth::mtls::endpoint_base(state, headers)
    );
    let expected = Expected {
        method,
        url: &url,
        access_token,
        nonces: state.dpop_nonces.as_ref(),
    };
    let proof = dpop::check(
        proof,
        expected,
        state.stores.ephemeral.as_ref(),
        state.now(),
    )
    .await
    .map_err(|e| refused(state, e))?;
    Ok(Some(proof.jkt))
}

/// The DPoP key a pushed authorization request binds its code to (RFC 9449 §10.1): its
/// proof's, or its `dpop_jkt`'s (the same when both come), or none.
pub async fn at_par_endpoint(
    state: &AppState,
    headers: &HeaderMap,
    dpop_jkt: Option<&str>,
) -> Result<Option<String>, Refused> {
    let proven = proven_key(state, headers, "POST", "/par", None).await?;
    dpop::pushed_key(proven.as_deref(), dpop_jkt).map_err(|e| refused(state, e))
}

/// What the token endpoint binds this request's tokens to: the DPoP key of its proof, or
/// none, and the TLS client certificate it came with (`certificate`) where the client asked
/// for that (each by its thumbprint). A client registered for DPoP-bound tokens must send a
/// proof (RFC 9449 §5.2); one under the FAPI 2.0 profile a proof or a certificate.
pub async fn at_token_endpoint(
    state: &AppState,
    headers: &HeaderMap,
    client: &Client,
    certificate: Option<&idp_oauth::mtls::ClientCertificate>,
) -> Result<(Option<String>, Option<String>), Refused> {
    let jkt = proven_key(state, headers, "POST", "/token", None).await?;
    if jkt.is_none() && client.metadata.dpop_bound_access_tokens {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "this client's access tokens are bound to a DPoP key: a DPoP proof is required",
        )
        .into());
    }
    let rules = idp_oauth::fapi::Rules::for_client(&client.metadata, state.protocol());
    let x5t = idp_oauth::mtls::binding(
        client,
        certificate,
        rules.requires_sender_constraint(),
        jkt.is_some(),
    )?;
    Ok((jkt, x5t))
}

/// Whether a resource endpoint (`method` at `path`) may serve `token`, presented with the
/// `DPoP` scheme or not (`dpop_scheme`), whose confirmation names the key `bound` (RFC 9449
/// §7): a bound token only with the DPoP scheme and a proof from its key whose `ath` is the
/// token's hash; an unbound one only as a bearer token.
pub async fn at_resource(
    state: &AppState,
    headers: &HeaderMap,
    (method, path): (&str, &str),
    token: &str,
    dpop_scheme: bool,
    bound: Option<&str>,
) -> Result<(), BearerError> {
    let refuse = |code, why: &'static str| BearerError::Dpop(OAuthError::new(code, why), None);
    match (bound, dpop_scheme) {
        (None, false) => Ok(()),
        (None, true) => Err(refuse(
            ErrorCode::InvalidToken,
            "this access token is not bound to a DPoP key: present it as a Bearer token",
        )),
        (Some(_), false) => Err(refuse(
            ErrorCode::InvalidToken,
            "this access token is bound to a DPoP key: present it with the DPoP scheme and a proof",
        )),
        (Some(bound), true) => match proven_key(state, headers, method, path, Some(token)).await? {
            Some(proven) if proven == bound => Ok(()),
            Some(_) => Err(refuse(
                ErrorCode::InvalidDpopProof,
                "the DPoP proof is not made with the key this access token is bound to",
            )),
            None => Err(refuse(
                ErrorCode::InvalidDpopProof,
                "a DPoP proof is required with this access token",
            )),
        },
    }
}
