//! Mutual TLS (RFC 8705), where TLS ends at a proxy the operator trusts and the proxy forwards
//! the client's certificate in a request header: reading that certificate, authenticating a
//! client by it (`tls_client_auth`, `self_signed_tls_client_auth`), and binding access tokens
//! to it (`cnf.x5t#S256`).
//!
//! The proxy checks that the client holds the certificate's private key (the TLS handshake)
//! and says, in a second header, whether a certificate authority the operator trusts issued
//! it: `tls_client_auth` takes only a certificate the proxy verified so ([`Offer`]), since the
//! proxy must let self-signed ones through for `self_signed_tls_client_auth`. What is left is
//! here: whether the certificate names the client as it registered, or is one of the
//! certificates in its JWK Set.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use idp_core::model::{Client, TlsClientAuthName, TokenEndpointAuthMethod};
use idp_core::{ErrorCode, OAuthError};
use sha2::{Digest as _, Sha256};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer as _, X509Certificate};

/// The longest header value read: a certificate with a long chain of names is a few KiB.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What mutual TLS a deployment offers: none, self-signed certificates only (the proxy
/// forwards certificates), or certificates of an authority too (the proxy also says which
/// ones it verified).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offer {
    /// The proxy forwards client certificates: `self_signed_tls_client_auth` and
    /// certificate-bound tokens.
    pub certificates: bool,
    /// The proxy says whether a certificate chains to an authority it trusts:
    /// `tls_client_auth` too.
    pub verified: bool,
}

/// A distinguished name: its relative distinguished names, each a list of attributes (type,
/// value); `None` for a value that is not text this reads.
type Name = Vec<Vec<(String, Option<String>)>>;

/// A client's TLS certificate, as the proxy forwarded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    der: Vec<u8>,
    /// The certificate's SHA-256 thumbprint, base64url: `x5t#S256` (RFC 8705 §3.1).
    pub thumbprint: String,
    /// Whether the proxy verified that the certificate chains to an authority it trusts.
    pub verified: bool,
    /// The subject's attributes in RFC 4514 order (the last of the certificate's first);
    /// `None` for a value that is not text this reads (it then matches no registered name).
    subject: Name,
    san_dns: Vec<String>,
    san_uri: Vec<String>,
    san_ip: Vec<IpAddr>,
    san_email: Vec<String>,
}

/// Why a forwarded certificate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the client certificate the proxy forwarded could not be read: {0}")]
pub struct Unreadable(&'static str);

impl ClientCertificate {
    /// The certificate in a proxy's header: PEM, URL-encoded or not, with its line breaks or
    /// with spaces for them (nginx `$ssl_client_escaped_cert`, Apache, cloud load balancers),
    /// or base64 DER without the PEM lines (Traefik).
    pub fn from_header(value: &str) -> Result<Self, Unreadable> {
        if value.len() > MAX_HEADER_BYTES {
            return Err(Unreadable("the header is too long"));
        }
        let text = percent_decoded(value).ok_or(Unreadable("bad percent-encoding"))?;
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        // Exactly one certificate and nothing around it: a value that two headers were
        // folded into, the client's and the proxy's, is refused.
        let body = match text.trim().strip_prefix(BEGIN) {
            Some(rest) => rest
                .strip_suffix(END)
                .filter(|body| !body.contains('-'))
                .ok_or(Unreadable("not one PEM certificate"))?,
            None => text.as_str(),
        };
        let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(base64)
            .map_err(|_| Unreadable("not base64"))?;
        Self::from_der(der)
    }

    /// A DER-encoded certificate.
    pub fn from_der(der: Vec<u8>) -> Result<Self, Unreadable> {
        let (rest, certificate) =
            X509Certificate::from_der(&der).map_err(|_| Unreadable("not an X.509 certificate"))?;
        if !rest.is_empty() {
            return Err(Unreadable("bytes after the certificate"));
        }
        let mut subject: Name = certificate
            .subject()
            .iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|attribute| {
                        let oid = attribute.attr_type().to_id_string();
                        let value = attribute.as_str().ok().map(str::to_owned);
                        (short_name(&oid), value)
                    })
                    .collect()
            })
            .collect();
        subject.reverse();
        let (mut san_dns, mut san_uri, mut san_ip, mut san_email) =
            (vec![], vec![], vec![], vec![]);
        if let Ok(Some(names)) = certificate.subject_alternative_name() {
            for name in &names.value.general_names {
                match name {
                    GeneralName::DNSName(dns) => san_dns.push((*dns).to_owned()),
                    GeneralName::URI(uri) => san_uri.push((*uri).to_owned()),
                    GeneralName::RFC822Name(email) => san_email.push((*email).to_owned()),
                    GeneralName::IPAddress(bytes) => san_ip.extend(ip_from_bytes(bytes)),
                    _ => {}
                }
            }
        }
        let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(&der));
        Ok(Self {
            der,
            thumbprint,
            verified: false,
            subject,
            san_dns,
            san_uri,
            san_ip,
            san_email,
        })
    }

    /// The certificate, marked as verified by the proxy (or not).
    pub fn verified(self, verified: bool) -> Self {
        Self { verified, ..self }
    }

    /// Whether the certificate carries the name a `tls_client_auth` client registered
    /// (RFC 8705 §2.1.2): its subject's distinguished name, compared attribute by attribute
    /// (types and values without regard to case), or one of its subject alternative names.
    pub fn names(&self, registered: &TlsClientAuthName) -> bool {
        if let Some(dn) = &registered.tls_client_auth_subject_dn {
            return parse_dn(dn).is_some_and(|dn| same_dn(&dn, &self.subject));
        }
        if let Some(dns) = &registered.tls_client_auth_san_dns {
            return self.san_dns.iter().any(|n| n.eq_ignore_ascii_case(dns));
        }
        if let Some(uri) = &registered.tls_client_auth_san_uri {
            return self.san_uri.iter().any(|n| n == uri);
        }
        if let Some(ip) = &registered.tls_client_auth_san_ip {
            return ip
                .parse::<IpAddr>()
                .is_ok_and(|ip| self.san_ip.contains(&ip));
        }
        if let Some(email) = &registered.tls_client_auth_san_email {
            return self.san_email.iter().any(|n| n.eq_ignore_ascii_case(email));
        }
        false
    }

    /// Whether the certificate is the first of an `x5c` chain of a key in `jwks`
    /// (`self_signed_tls_client_auth`, RFC 8705 §2.2).
    pub fn is_in(&self, jwks: &serde_json::Value) -> bool {
        registered_certificates(jwks).any(|der| idp_core::random::constant_time_eq(&der, &self.der))
    }
}

/// The certificates of a JWK Set: the first of each key's `x5c` chain (standard base64 DER).
fn registered_certificates(jwks: &serde_json::Value) -> impl Iterator<Item = Vec<u8>> + '_ {
    jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|key| STANDARD.decode(key["x5c"][0].as_str()?).ok())
}

/// A client that authenticates with its certificate, checked against `presented`; `jwks` gives
/// a self-signed client's registered keys. The answer to any mismatch is the same as for a
/// wrong secret.
pub fn authenticates(
    client: &Client,
    presented: Option<&ClientCertificate>,
    jwks: Option<&serde_json::Value>,
) -> bool {
    let Some(certificate) = presented else {
        return false;
    };
    match client.token_endpoint_auth_method {
        TokenEndpointAuthMethod::TlsClientAuth => {
            certificate.verified && certificate.names(&client.metadata.tls_client_auth)
        }
        TokenEndpointAuthMethod::SelfSignedTlsClientAuth => {
            jwks.is_some_and(|j| certificate.is_in(j))
        }
        _ => false,
    }
}

/// The certificate (its thumbprint) the token endpoint binds `client`'s tokens to: the one
/// presented, when the client registered for certificate-bound tokens (RFC 8705 §3.4, which
/// then refuses a request without one) or must have sender-constrained tokens
/// (`sender_constrained`) and sent no DPoP proof (`dpop`).
pub fn binding(
    client: &Client,
    presented: Option<&ClientCertificate>,
    sender_constrained: bool,
    dpop: bool,
) -> Result<Option<String>, OAuthError> {
    let wanted =
        client.metadata.tls_client_certificate_bound_access_tokens || (sender_constrained && !dpop);
    match (wanted, presented) {
        (false, _) => Ok(None),
        (true, Some(certificate)) => Ok(Some(certificate.thumbprint.clone())),
        (true, None) if client.metadata.tls_client_certificate_bound_access_tokens => {
            Err(OAuthError::invalid_request(
                "this client's access tokens are bound to its TLS client certificate: connect with it",
            ))
        }
        (true, None) => Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "under the FAPI 2.0 Security Profile tokens are sender-constrained: send a DPoP proof or connect with a TLS client certificate",
        )),
    }
}

/// Whether a resource may serve a token bound to the certificate `bound` (its thumbprint) to
/// a request that presented `presented` (RFC 8705 §3): only with that certificate.
pub fn check_bound(
    bound: Option<&str>,
    presented: Option<&ClientCertificate>,
) -> Result<(), OAuthError> {
    match (bound, presented) {
        (None, _) => Ok(()),
        (Some(bound), Some(presented))
            if idp_core::random::constant_time_eq(
                bound.as_bytes(),
                presented.thumbprint.as_bytes(),
            ) =>
        {
            Ok(())
        }
        (Some(_), Some(_)) => Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "this access token is bound to another TLS client certificate",
        )),
        (Some(_), None) => Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "this access token is bound to a TLS client certificate: connect with it",
        )),
    }
}

/// What registration checks of a client's mutual-TLS metadata; `offered`: whether this
/// deployment reads client certificates at all.
pub fn check_registration(
    method: TokenEndpointAuthMethod,
    name: &TlsClientAuthName,
    bound_tokens: bool,
    (jwks, jwks_uri): (Option<&serde_json::Value>, bool),
    offered: Offer,
) -> Result<(), String> {
    let given = [
        name.tls_client_auth_subject_dn.is_some(),
        name.tls_client_auth_san_dns.is_some(),
        name.tls_client_auth_san_uri.is_some(),
        name.tls_client_auth_san_ip.is_some(),
        name.tls_client_auth_san_email.is_some(),
    ]
    .into_iter()
    .filter(|&set| set)
    .count();
    if (method.is_tls() || bound_tokens) && !offered.certificates {
        return Err("mutual TLS is not offered by this server".into());
    }
    if method == TokenEndpointAuthMethod::TlsClientAuth && !offered.verified {
        return Err(
            "tls_client_auth is not offered by this server (self_signed_tls_client_auth is)".into(),
        );
    }
    if method == TokenEndpointAuthMethod::TlsClientAuth && given != 1 {
        return Err("tls_client_auth needs exactly one of tls_client_auth_subject_dn, tls_client_auth_san_dns, tls_client_auth_san_uri, tls_client_auth_san_ip and tls_client_auth_san_email".into());
    }
    if method != TokenEndpointAuthMethod::TlsClientAuth && given > 0 {
        return Err(
            "tls_client_auth_* names only go with token_endpoint_auth_method tls_client_auth"
                .into(),
        );
    }
    if let Some(dn) = &name.tls_client_auth_subject_dn
        && parse_dn(dn).is_none_or(|dn| dn.is_empty())
    {
        return Err("tls_client_auth_subject_dn is not a distinguished name (RFC 4514)".into());
    }
    if let Some(ip) = &name.tls_client_auth_san_ip
        && ip.parse::<IpAddr>().is_err()
    {
        return Err("tls_client_auth_san_ip is not an IP address".into());
    }
    for (value, what) in [
        (&name.tls_client_auth_san_dns, "tls_client_auth_san_dns"),
        (&name.tls_client_auth_san_uri, "tls_client_auth_san_uri"),
        (&name.tls_client_auth_san_email, "tls_client_auth_san_email"),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(format!("{what} is empty"));
        }
    }
    if method == TokenEndpointAuthMethod::SelfSignedTlsClientAuth {
        match jwks {
            Some(jwks)
                if !registered_certificates(jwks)
                    .any(|der| ClientCertificate::from_der(der).is_ok()) =>
            {
                return Err("self_signed_tls_client_auth needs a key in jwks whose x5c holds the client's certificate".into());
            }
            None if !jwks_uri => {
                return Err("self_signed_tls_client_auth needs the client's certificates in jwks or at jwks_uri (x5c)".into());
            }
            _ => {}
        }
    }
    Ok(())
}

/// `%XX` escapes decoded, and nothing else (a `+` stays a `+`: it is base64).
fn percent_decoded(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

/// The short names of RFC 4514 §3 (and `emailAddress`), by object identifier; others keep
/// their dotted form.
const SHORT_NAMES: [(&str, &str); 11] = [
    ("2.5.4.3", "CN"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.6", "C"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("2.5.4.5", "SERIALNUMBER"),
    ("1.2.840.113549.1.9.1", "EMAILADDRESS"),
];

fn short_name(oid: &str) -> String {
    SHORT_NAMES
        .iter()
        .find(|(id, _)| *id == oid)
        .map_or_else(|| oid.to_owned(), |(_, name)| (*name).to_owned())
}

/// An RFC 4514 string: relative distinguished names split at unescaped commas (or
/// semicolons), their attributes at unescaped pluses, escapes undone.
fn parse_dn(text: &str) -> Option<Name> {
    let mut rdns = vec![];
    for rdn in split_unescaped(text, &[',', ';']) {
        let mut attributes = vec![];
        for attribute in split_unescaped(&rdn, &['+']) {
            let (kind, value) = attribute.split_once('=')?;
            let kind = kind.trim();
            let kind = kind
                .strip_prefix("OID.")
                .or_else(|| kind.strip_prefix("oid."))
                .unwrap_or(kind);
            let kind = if kind.starts_with(|c: char| c.is_ascii_digit()) {
                short_name(kind)
            } else {
                kind.to_ascii_uppercase()
            };
            let kind = if kind == "E" {
                "EMAILADDRESS".into()
            } else {
                kind
            };
            let value = unescape(value.trim())?;
            if kind.is_empty() || value.trim().is_empty() {
                return None;
            }
            attributes.push((kind, Some(value)));
        }
        rdns.push(attributes);
    }
    Some(rdns)
}

/// `text` split at the `separators` not escaped with a backslash; the escapes are kept.
fn split_unescaped(text: &str, separators: &[char]) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in text.chars() {
        if !escaped && separators.contains(&c) {
            parts.push(String::new());
            continue;
        }
        escaped = !escaped && c == '\\';
        if let Some(part) = parts.last_mut() {
            part.push(c);
        }
    }
    parts
}

fn unescape(value: &str) -> Option<String> {
    let mut out = Vec::new();
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let next = *bytes.get(i + 1)?;
        match bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
        {
            Some(hex) if hex.chars().all(|c| c.is_ascii_hexdigit()) => {
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            _ => {
                out.push(next);
                i += 2;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The same names: the same relative distinguished names in the same order, each with the
/// same attributes in any order, types and values compared without regard to case; a value
/// that could not be read matches nothing.
fn same_dn(a: &Name, b: &Name) -> bool {
    let normal = |rdn: &[(String, Option<String>)]| {
        let mut out = Vec::with_capacity(rdn.len());
        for (kind, value) in rdn {
            let words: Vec<&str> = value.as_deref()?.split_whitespace().collect();
            out.push((kind.to_ascii_uppercase(), words.join(" ").to_lowercase()));
        }
        out.sort();
        Some(out)
    };
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| matches!((normal(x), normal(y)), (Some(x), Some(y)) if x == y))
}

#[cfg(test)]
#[path = "mtls_tests.rs"]
mod tests;
