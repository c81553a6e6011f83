//! DPoP (RFC 9449) for the portal's calls to the provider. In DPoP mode the portal makes one
//! ES256 key pair when it starts and keeps it, in memory only, for the life of the instance;
//! every token request and every UserInfo call carries a proof made with it, so the tokens the
//! provider issues are bound to that key and are worth nothing to whoever copies them.
//!
//! [`Backchannel`] is the HTTP client the portal hands to `openidconnect` for those calls. It
//! adds a proof for each request's method and URL (`htm`, `htu`); it presents an access token
//! with the `DPoP` scheme and the token's hash in the proof (`ath`, §7.1), since
//! `openidconnect` knows only `Bearer`; and it answers a `use_dpop_nonce` refusal (§8, §9) by
//! retrying once with the nonce given, keeping the latest nonce for the proofs that follow.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use openidconnect::http::{HeaderValue, StatusCode};
use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};
use serde_json::{Value, json};

use crate::{PortalError, now, random_id};

/// The request header that carries a proof, and the response header that carries a nonce.
const DPOP: &str = "DPoP";
const DPOP_NONCE: &str = "DPoP-Nonce";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The `ath` of a proof sent with `access_token`: base64url SHA-256 of the token (§4.2).
pub fn ath(access_token: &str) -> String {
    b64(digest(&SHA256, access_token.as_bytes()).as_ref())
}

/// The portal's DPoP key: an ES256 (P-256) key pair made at start-up, never written anywhere.
pub struct DpopKey {
    pair: EcdsaKeyPair,
    /// The public key as a JWK, as every proof's header carries it.
    jwk: Value,
    /// The JWK SHA-256 thumbprint (RFC 7638): what the provider binds tokens to (`cnf.jkt`).
    jkt: String,
}

impl DpopKey {
    pub fn generate() -> Result<Self, PortalError> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| PortalError::Config("could not make a DPoP key".into()))?;
        // The uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
            return Err(PortalError::Config("unexpected DPoP public key".into()));
        };
        let (x, y) = (b64(x), b64(y));
        // RFC 7638 §3.2: the required members, in lexicographic order, without white space.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        Ok(Self {
            jkt: b64(digest(&SHA256, canonical.as_bytes()).as_ref()),
            jwk: json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }),
            pair,
        })
    }

    /// The key's thumbprint, as the provider's bound tokens name it.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// A proof (§4.2) for `method` at `url`, now, with a fresh `jti`, the hash of
    /// `access_token` and the server's `nonce` when given.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, PortalError> {
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        let mut claims = json!({
            "jti": random_id(),
            "htm": method,
            "htu": htu(url),
            "iat": now(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(ath(token));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| PortalError::Config("could not sign a DPoP proof".into()))?;
        Ok(format!("{input}.{}", b64(signature.as_ref())))
    }
}

/// The request URL as `htu` names it: without query and fragment (§4.2).
fn htu(url: &str) -> String {
    match openidconnect::url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// Whether `response` refuses a proof for want of the server's nonce, and which nonce to use:
/// 400 `use_dpop_nonce` from the token endpoint (§8), 401 with a `DPoP` challenge naming
/// `use_dpop_nonce` from a resource such as UserInfo (§9).
pub fn nonce_asked(response: &HttpResponse) -> Option<String> {
    let nonce = response
        .headers()
        .get(DPOP_NONCE)?
        .to_str()
        .ok()?
        .to_owned();
    let asked = match response.status() {
        StatusCode::BAD_REQUEST => serde_json::from_slice::<Value>(response.body())
            .is_ok_and(|body| body["error"] == "use_dpop_nonce"),
        StatusCode::UNAUTHORIZED => response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.trim_start().to_ascii_lowercase().starts_with("dpop")
                    && v.contains("error=\"use_dpop_nonce\"")
            }),
        _ => false,
    };
    asked.then_some(nonce)
}

/// How the portal calls the provider's token endpoint and UserInfo: plainly, or, in DPoP
/// mode, with a proof on every request.
pub struct Backchannel {
    http: openidconnect::reqwest::Client,
    dpop: Option<DpopKey>,
    /// The latest nonce the provider gave (§8.2). The provider is both the authorization
    /// server and the resource server here, so one nonce serves both.
    nonce: Mutex<Option<String>>,
}

type HttpError = HttpClientError<openidconnect::reqwest::Error>;

impl Backchannel {
    pub fn new(http: openidconnect::reqwest::Client, dpop: Option<DpopKey>) -> Self {
        Self {
            http,
            dpop,
            nonce: Mutex::new(None),
        }
    }

    /// The DPoP key, in DPoP mode.
    pub fn dpop(&self) -> Option<&DpopKey> {
        self.dpop.as_ref()
    }

    /// Why a token answer of `token_type` will not do, in DPoP mode: the provider must say
    /// `DPoP` (§5); a bearer token is one anybody who copies it can use.
    pub fn unbound(&self, token_type: &str) -> Option<&'static str> {
        (self.dpop.is_some() && !token_type.eq_ignore_ascii_case("dpop")).then_some(
            "The provider issued a bearer token, not one bound to this portal's DPoP key \
             (token_type DPoP), so the portal will not use it. The portal's client must be \
             registered for DPoP-bound access tokens.",
        )
    }

    fn latest_nonce(&self) -> Option<String> {
        self.nonce.lock().ok().and_then(|n| n.clone())
    }

    fn keep_nonce(&self, response: &HttpResponse) {
        let given = response.headers().get(DPOP_NONCE);
        if let (Some(given), Ok(mut kept)) =
            (given.and_then(|v| v.to_str().ok()), self.nonce.lock())
        {
            *kept = Some(given.to_owned());
        }
    }

    /// `request` as sent: with a proof made now, and an access token presented with the
    /// `DPoP` scheme rather than `Bearer`.
    fn with_proof(
        &self,
        key: &DpopKey,
        request: &HttpRequest,
        nonce: Option<&str>,
    ) -> Result<HttpRequest, HttpError> {
        let token = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let proof = key
            .proof(
                request.method().as_str(),
                &request.uri().to_string(),
                token.as_deref(),
                nonce,
            )
            .map_err(|e| HttpClientError::Other(e.to_string()))?;
        let mut sent = HttpRequest::new(request.body().clone());
        *sent.method_mut() = request.method().clone();
        *sent.uri_mut() = request.uri().clone();
        *sent.headers_mut() = request.headers().clone();
        let header = |value: String| {
            HeaderValue::from_str(&value).map_err(|e| HttpClientError::Other(e.to_string()))
        };
        if let Some(token) = token {
            sent.headers_mut()
                .insert(AUTHORIZATION, header(format!("DPoP {token}"))?);
        }
        sent.headers_mut().insert(DPOP, header(proof)?);
        Ok(sent)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let Some(key) = &self.dpop else {
            return self.http.call(request).await;
        };
        let nonce = self.latest_nonce();
        let first = self.with_proof(key, &request, nonce.as_deref())?;
        let response = self.http.call(first).await?;
        self.keep_nonce(&response);
        match nonce_asked(&response) {
            // Once: a second refusal is the provider's answer, for the caller to read.
            Some(fresh) => {
                let again = self.with_proof(key, &request, Some(&fresh))?;
                let response = self.http.call(again).await?;
                self.keep_nonce(&response);
                Ok(response)
            }
            None => Ok(response),
        }
    }
}

impl<'c> AsyncHttpClient<'c> for Backchannel {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// How the portal holds its tokens, in words, for the home page.
pub fn tokens_in_words(jkt: Option<&str>) -> String {
    match jkt {
        Some(jkt) => format!(
            "DPoP-bound: usable only with this portal's key (thumbprint <code>{}</code>)",
            crate::words::escape(jkt)
        ),
        None => "bearer tokens, not bound to a key".into(),
    }
}

#[cfg(test)]
#[path = "dpop_tests.rs"]
mod tests;
