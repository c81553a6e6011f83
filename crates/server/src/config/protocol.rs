//! The protocol's settings: which parts are offered (implicit and hybrid flows, unsigned
//! request objects), the FAPI 2.0 profile, DPoP nonces and mutual TLS.

use serde::Deserialize;

/// Choices about which parts of the protocol are offered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSettings {
    /// Whether request objects may be unsigned (`alg: none`, OpenID Connect Core §6.1).
    pub unsigned_request_objects: bool,
    /// The implicit and hybrid response types (`id_token`, `code id_token token`, ...).
    pub implicit_and_hybrid: bool,
}

/// The FAPI 2.0 Security Profile (see `idp_oauth::fapi`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fapi2Settings {
    /// Every client is under the profile, not only those registered with
    /// `fapi2_security_profile: true`.
    pub all_clients: bool,
}

/// DPoP (RFC 9449): proof-of-possession of a key for access and refresh tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpopSettings {
    /// Whether every proof must carry a nonce this server gave (`DPoP-Nonce`, RFC 9449 §8):
    /// it bounds how far ahead a stolen key can sign proofs. Nonces rotate every five minutes,
    /// from a key every node derives alike, so any node accepts any node's nonce.
    pub nonces: bool,
}

/// Mutual TLS (RFC 8705), with TLS ended at a trusted proxy that forwards the client's
/// certificate (see `idp_oauth::mtls`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtlsSettings {
    /// The request header a proxy in `trusted_proxies` forwards the client certificate in;
    /// empty: mutual TLS is not offered.
    pub certificate_header: String,
    /// The request header in which that proxy says whether the certificate chains to an
    /// authority it trusts (`SUCCESS`, as nginx's `$ssl_client_verify`); empty: no certificate
    /// counts as verified, and `tls_client_auth` is not offered.
    pub verify_header: String,
    /// The base URL where the proxy asks for client certificates, when not the issuer's:
    /// discovery's `mtls_endpoint_aliases` are there, and certificates are read only on
    /// requests to its host. Empty: none.
    pub endpoint_aliases_base: String,
}

impl MtlsSettings {
    /// Whether mutual TLS is offered: a certificate header is named.
    pub fn offered(&self) -> bool {
        !self.certificate_header.trim().is_empty()
    }

    /// What mutual TLS is offered (see `idp_oauth::mtls::Offer`).
    pub fn offer(&self) -> idp_oauth::mtls::Offer {
        idp_oauth::mtls::Offer {
            certificates: self.offered(),
            verified: self.offered() && !self.verify_header.trim().is_empty(),
        }
    }
}
