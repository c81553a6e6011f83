//! DPoP proofs (RFC 9449) as a client makes them: a key of its own (ES256, made here), and a
//! JWT of type `dpop+jwt` with that key's public half in its header, signed with
//! `jsonwebtoken`.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::model::SigningAlg;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::Idp;

pub struct ProofKey {
    key: EncodingKey,
    /// The public key, as the proof's header carries it.
    pub jwk: Value,
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// The `ath` of a proof sent with `token`.
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

impl ProofKey {
    pub fn new() -> Self {
        let der = idp_token_issuer::SigningKey::generate(SigningAlg::ES256).unwrap();
        let key = EncodingKey::from_ec_der(&der);
        let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
        let mut jwk = serde_json::to_value(jwk).unwrap();
        jwk.as_object_mut().unwrap().remove("alg");
        Self { key, jwk }
    }

    /// The key's JWK SHA-256 thumbprint (RFC 7638): what a bound token's `cnf.jkt` says.
    pub fn jkt(&self) -> String {
        let jwk: Jwk = serde_json::from_value(self.jwk.clone()).unwrap();
        jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
    }

    /// A proof with this header and these claims, as given, signed with this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, Algorithm::ES256).unwrap();
        format!("{input}.{signature}")
    }

    pub fn header(&self) -> Value {
        json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk })
    }

    /// The claims of a fresh proof for `method` at the issuer's `path`, now, with the hash of
    /// `token` when given.
    pub fn claims(&self, idp: &Idp, method: &str, path: &str, token: Option<&str>) -> Value {
        let mut claims = json!({
            "jti": idp_core::random::random_token(12),
            "htm": method,
            "htu": format!("{}{path}", idp.state.issuer()),
            "iat": idp.state.now(),
        });
        if let Some(token) = token {
            claims["ath"] = json!(ath(token));
        }
        claims
    }

    /// A fresh, good proof for `method` at `path`.
    pub fn proof(&self, idp: &Idp, method: &str, path: &str, token: Option<&str>) -> String {
        self.sign(&self.header(), &self.claims(idp, method, path, token))
    }
}

/// A form posted to `path` with HTTP Basic client authentication when `auth` is given and a
/// `DPoP` header per proof: the answer's status, headers and JSON.
pub async fn post_with_proofs(
    idp: &Idp,
    path: &str,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
    proofs: &[&str],
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some((id, secret)) = auth {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        request = request.header(header::AUTHORIZATION, format!("Basic {basic}"));
    }
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    let body = Body::from(serde_urlencoded::to_string(form).unwrap());
    idp.call(request.body(body).unwrap()).await
}

/// UserInfo (GET) with this `Authorization` header value and, when given, a `DPoP` header.
pub async fn userinfo(
    idp: &Idp,
    authorization: &str,
    proof: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::get("/userinfo").header(header::AUTHORIZATION, authorization);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    idp.call(request.body(Body::empty()).unwrap()).await
}

/// The claims of an access token this provider signed.
pub fn access_claims(idp: &Idp, token: &str) -> Value {
    let state = &idp.state;
    let claims = state
        .published()
        .access_token_claims(token, state.issuer())
        .unwrap();
    serde_json::to_value(claims).unwrap()
}
