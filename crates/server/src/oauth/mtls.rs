//! Mutual TLS (RFC 8705) at this server: TLS ends at a proxy in `trusted_proxies`, which asks
//! for the client's certificate and forwards it in the header `mtls.certificate_header`. The
//! header is read only from those proxies (anyone else could write anything in it); what the
//! certificate proves is decided in `idp_oauth::mtls`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use idp_core::OAuthError;
use idp_oauth::mtls::ClientCertificate;
use serde_json::{Value, json};

use crate::config::Settings;
use crate::error::JsonError;
use crate::state::AppState;

/// The request's TLS client certificate, as a trusted proxy forwarded it; `None` when mutual
/// TLS is not offered, the request did not come through a trusted proxy, or the client sent
/// no certificate.
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
        if !from_proxy {
            return Ok(Self(None));
        }
        let mut values = parts
            .headers
            .get_all(settings.mtls.certificate_header.as_str())
            .iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return match parts
                .headers
                .contains_key(settings.mtls.certificate_header.as_str())
            {
                // More than one: the proxy added its own to one the client sent.
                true => Err(OAuthError::invalid_request(
                    "the request carries more than one client certificate header",
                )
                .into()),
                false => Ok(Self(None)),
            };
        };
        let text = value.to_str().unwrap_or("\u{0}");
        // A proxy that asks for a certificate optionally sends an empty header without one.
        if text.trim().is_empty() {
            return Ok(Self(None));
        }
        ClientCertificate::from_header(text)
            .map(|certificate| Self(Some(certificate)))
            .map_err(|error| OAuthError::invalid_request(error.to_string()).into())
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

/// What discovery says of mutual TLS when it is offered (RFC 8705 §2.3, §3.3, §5): the two
/// authentication methods at every endpoint that authenticates clients, certificate-bound
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
            methods.push(json!("tls_client_auth"));
            methods.push(json!("self_signed_tls_client_auth"));
        }
    }
    document["tls_client_certificate_bound_access_tokens"] = json!(true);
    if let Some(aliases) = endpoint_aliases(settings) {
        document["mtls_endpoint_aliases"] = aliases;
    }
}
