//! Mutual TLS (RFC 8705) at this server: TLS ends at a proxy in `trusted_proxies`, which asks
//! for the client's certificate and forwards it in the header `mtls.certificate_header`, and
//! says in `mtls.verify_header` whether it chains to an authority it trusts. The headers are
//! read only from those proxies (anyone else could write anything in them), and, where the
//! proxy asks for certificates at a host of its own (`mtls.endpoint_aliases_base`), only on
//! requests to that host; what the certificate proves is decided in `idp_oauth::mtls`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use idp_core::OAuthError;
use idp_oauth::mtls::ClientCertificate;
use serde_json::{Value, json};

use crate::config::Settings;
use crate::error::JsonError;
use crate::state::AppState;

/// The request's TLS client certificate, as a trusted proxy forwarded it; `None` when mutual
/// TLS is not offered, the request did not come through a trusted proxy (or not to the host
/// where certificates are asked for), or the client sent no certificate.
#[derive(Debug, Default)]
pub struct Certificate(pub Option<ClientCertificate>);

impl Certificate {
    pub fn get(&self) -> Option<&ClientCertificate> {
        self.0.as_ref()
    }
}

impl FromRequestParts<AppState> for Certificate {
    type Rejection = JsonError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, JsonError> {
        let settings = &state.settings;
        if !settings.mtls.offered() {
            return Ok(Self(None));
        }
        let from_proxy = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(peer)| settings.trusted_proxies.contains(&peer.ip()));
        let aliased = settings.mtls.endpoint_aliases_base.is_empty()
            || at_alias_host(settings, &parts.headers);
        if !from_proxy || !aliased {
            return Ok(Self(None));
        }
        let Some(text) = one_value(&parts.headers, &settings.mtls.certificate_header)? else {
            return Ok(Self(None));
        };
        let certificate = ClientCertificate::from_header(text)
            .map_err(|error| JsonError::from(OAuthError::invalid_request(error.to_string())))?;
        let verify = settings.mtls.verify_header.as_str();
        let verified = !verify.is_empty()
            && one_value(&parts.headers, verify)?.is_some_and(|v| v.trim() == "SUCCESS");
        Ok(Self(Some(certificate.verified(verified))))
    }
}

/// The one value of the proxy's header `name`, `None` when it is absent or empty (a proxy
/// that asks for a certificate optionally sends an empty header without one); two of them
/// mean the proxy added its own to one the client sent.
fn one_value<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, JsonError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => {
            let text = value.to_str().map_err(|_| {
                OAuthError::invalid_request(format!("the {name} header is not text"))
            })?;
            Ok(Some(text).filter(|t| !t.trim().is_empty()))
        }
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(format!(
            "the request carries more than one {name} header"
        ))
        .into()),
    }
}

/// Whether the request came to the host where the proxy asks for certificates
/// (`mtls.endpoint_aliases_base`), by its `Host`.
pub fn at_alias_host(settings: &Settings, headers: &HeaderMap) -> bool {
    let base = settings.mtls.endpoint_aliases_base.as_str();
    let Some(authority) = base
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(rest))
    else {
        return false;
    };
    settings.mtls.offered()
        && headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|host| host.eq_ignore_ascii_case(authority))
}

/// The base of the URLs this request's endpoints have: the aliases' when it came to their
/// host, the issuer's otherwise (a DPoP proof names the URL the client called, RFC 9449 §4.2).
pub fn endpoint_base<'a>(state: &'a AppState, headers: &HeaderMap) -> &'a str {
    if at_alias_host(&state.settings, headers) {
        &state.settings.mtls.endpoint_aliases_base
    } else {
        state.issuer()
    }
}

/// The endpoints a client reaches through the proxy that asks for certificates, when that is
/// at a base URL of its own (RFC 8705 §5); `None` otherwise.
fn endpoint_aliases(settings: &Settings) -> Option<Value> {
    let base = settings.mtls.endpoint_aliases_base.as_str();
    if !settings.mtls.offered() || base.is_empty() {
        return None;
    }
    Some(json!({
        "token_endpoint": format!("{base}/token"),
        "pushed_authorization_request_endpoint": format!("{base}/par"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "introspection_endpoint": format!("{base}/introspect"),
        "revocation_endpoint": format!("{base}/revoke"),
    }))
}

/// What discovery says of mutual TLS when it is offered (RFC 8705 §2.3, §3.3, §5): the
/// authentication methods offered at every endpoint that authenticates clients, certificate-bound
/// access tokens, and the endpoint aliases.
pub fn describe(settings: &Settings, document: &mut Value) {
    if !settings.mtls.offered() {
        return;
    }
    for list in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        if let Some(methods) = document[list].as_array_mut() {
            if settings.mtls.offer().verified {
                methods.push(json!("tls_client_auth"));
            }
            methods.push(json!("self_signed_tls_client_auth"));
        }
    }
    document["tls_client_certificate_bound_access_tokens"] = json!(true);
    if let Some(aliases) = endpoint_aliases(settings) {
        document["mtls_endpoint_aliases"] = aliases;
    }
}
