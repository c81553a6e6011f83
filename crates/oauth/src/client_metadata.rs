//! Client metadata as relying parties register it (RFC 7591 §2), checked before anything is
//! stored; refusals use the codes of RFC 7591 §3.2.2.

use idp_core::model::{ClientLinks, ClientMetadata, SigningAlg, TokenEndpointAuthMethod};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::authorization_request::ProtocolOptions;
use crate::authorization_response::ResponseType;
use crate::fapi::Rules;

/// Grant types a client may register: those the token endpoint implements.
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// Redirect URIs a client may register: absolute, no fragment (RFC 6749 §3.1.2); https, or
/// http on a loopback address, or a private-use scheme of a native app (RFC 8252 §7.1).
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let parsed =
        url::Url::parse(uri).map_err(|e| format!("`{uri}` is not an absolute URI: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("`{uri}` may not have a fragment"));
    }
    let loopback = matches!(parsed.host(), Some(url::Host::Domain("localhost")))
        || matches!(parsed.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(parsed.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!(
            "`{uri}` must use https (http only on a loopback address)"
        )),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(format!(
            "`{uri}` must use https, http on loopback, or a reverse-DNS private scheme"
        )),
    }
}

/// Whether an address is on the public internet: not loopback, private (RFC 1918, ULA),
/// link-local, shared (RFC 6598), multicast, documentation or unspecified. The provider calls
/// URLs that third parties registered (back-channel logout) only at such addresses, so it
/// cannot be made to reach into the network it runs in.
pub fn is_public_address(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                // Benchmarking (RFC 2544) and reserved (class E).
                || (a == 198 && (b & 0xfe) == 18)
                || a >= 240
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_address(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            // Addresses that carry an IPv4 address a gateway reaches: NAT64 (64:ff9b::/96),
            // 6to4 (2002::/16) and the old IPv4-compatible form (::a.b.c.d).
            let embedded = match segments {
                [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some((hi, lo)),
                [0x2002, hi, lo, ..] => Some((hi, lo)),
                [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some((hi, lo)),
                _ => None,
            };
            if let Some((hi, lo)) = embedded {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                return is_public_address(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)));
            }
            let first = segments[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// A refusal: the RFC 7591 error code and a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    pub code: &'static str,
    pub description: String,
}

pub(crate) fn invalid(description: impl Into<String>) -> MetadataError {
    MetadataError {
        code: "invalid_client_metadata",
        description: description.into(),
    }
}

/// The registration request (RFC 7591 §2); unknown members are ignored (§2).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RegistrationRequest {
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub jwks: Option<Value>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub require_pushed_authorization_requests: Option<bool>,
    /// RFC 9449 §5.2.
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
    #[serde(default)]
    pub request_object_signing_alg: Option<String>,
    #[serde(default)]
    pub request_uris: Option<Vec<String>>,
    pub logo_uri: Option<String>,
    #[serde(default)]
    pub client_uri: Option<String>,
    #[serde(default)]
    pub policy_uri: Option<String>,
    #[serde(default)]
    pub tos_uri: Option<String>,
    #[serde(default)]
    pub subject_type: Option<String>,
    #[serde(default)]
    pub sector_identifier_uri: Option<String>,
    #[serde(default)]
    pub userinfo_signed_response_alg: Option<String>,
    /// Put the client under the FAPI 2.0 Security Profile (see [`crate::fapi`]).
    #[serde(default)]
    pub fapi2_security_profile: Option<bool>,
    /// The name a `tls_client_auth` client's certificate carries (RFC 8705 §2.1.2).
    #[serde(default, flatten)]
    pub tls_client_auth: idp_core::model::TlsClientAuthName,
    /// RFC 8705 §3.4.
    #[serde(default)]
    pub tls_client_certificate_bound_access_tokens: Option<bool>,
}

/// What a checked registration becomes.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub auth_method: TokenEndpointAuthMethod,
    pub id_token_alg: SigningAlg,
    pub metadata: ClientMetadata,
}

pub fn check(
    request: &RegistrationRequest,
    options: ProtocolOptions,
) -> Result<Registration, MetadataError> {
    let fapi2 = request.fapi2_security_profile.unwrap_or(false);
    let rules = Rules::new(fapi2 || options.fapi2_all_clients);
    let options = ProtocolOptions {
        // Only `code` under the profile, whatever the setting.
        implicit_and_hybrid: options.implicit_and_hybrid && rules.allows_implicit_and_hybrid(),
        ..options
    };
    let grant_types = check_grant_types(request, options)?;
    let uses_code = grant_types.iter().any(|g| g == "authorization_code");
    let redirect_uris = request.redirect_uris.clone().unwrap_or_default();
    if uses_code && redirect_uris.is_empty() {
        return Err(MetadataError {
            code: "invalid_redirect_uri",
            description: "redirect_uris is required for the authorization code grant".into(),
        });
    }
    for uri in &redirect_uris {
        check_redirect_uri(uri)
            .and_then(|()| rules.check_redirect_uri(uri))
            .map_err(|description| MetadataError {
                code: "invalid_redirect_uri",
                description,
            })?;
    }
    let auth_method = match request.token_endpoint_auth_method.as_deref() {
        None if rules.applies() => TokenEndpointAuthMethod::PrivateKeyJwt,
        None => TokenEndpointAuthMethod::ClientSecretBasic,
        Some(method) => TokenEndpointAuthMethod::parse(method).ok_or_else(|| {
            invalid(format!(
                "token_endpoint_auth_method `{method}` is not supported"
            ))
        })?,
    };
    if !rules.allows_auth_method(auth_method) {
        return Err(invalid(format!(
            "token_endpoint_auth_method `{}` is not allowed under the FAPI 2.0 profile: use private_key_jwt, tls_client_auth or self_signed_tls_client_auth",
            auth_method.as_str()
        )));
    }
    if !rules.allows_unsigned_request_objects()
        && request.request_object_signing_alg.as_deref() == Some("none")
    {
        return Err(invalid(
            "request objects must be signed under the FAPI 2.0 profile",
        ));
    }
    if auth_method == TokenEndpointAuthMethod::None
        && grant_types.iter().any(|g| g == "client_credentials")
    {
        return Err(invalid("a public client cannot use client_credentials"));
    }
    crate::client_keys::check_registered(request).map_err(invalid)?;
    let bound_to_certificate = request
        .tls_client_certificate_bound_access_tokens
        .unwrap_or(false);
    crate::mtls::check_registration(
        auth_method,
        &request.tls_client_auth,
        bound_to_certificate,
        (request.jwks.as_ref(), request.jwks_uri.is_some()),
        options.mtls,
    )
    .map_err(invalid)?;
    if auth_method == TokenEndpointAuthMethod::PrivateKeyJwt
        && request.jwks.is_none()
        && request.jwks_uri.is_none()
    {
        return Err(invalid(
            "private_key_jwt needs the client's public keys in jwks or at jwks_uri",
        ));
    }
    if let Some(jwks) = &request.jwks
        && jwks["keys"].as_array().is_none_or(|keys| keys.is_empty())
    {
        return Err(invalid("jwks must be a JWK Set with at least one key"));
    }
    // OpenID Connect Dynamic Client Registration §2: a client that names no algorithm gets
    // RS256 (clients an administrator creates keep ES256).
    let named = match request.id_token_signed_response_alg.as_deref() {
        None => None,
        Some(alg) => Some(SigningAlg::parse(alg).ok_or_else(|| {
            invalid(format!(
                "id_token_signed_response_alg `{alg}` is not supported"
            ))
        })?),
    };
    let id_token_alg = rules
        .signing_alg(named, SigningAlg::RS256)
        .map_err(|e| invalid(format!("id_token_signed_response_alg: {e}")))?;
    let subject_type = crate::subject::checked_subject_type(request, &redirect_uris)?;
    let userinfo_alg = match request.userinfo_signed_response_alg.as_deref() {
        None => None,
        Some(alg) => Some(SigningAlg::parse(alg).ok_or_else(|| {
            invalid(format!(
                "userinfo_signed_response_alg `{alg}` is not supported"
            ))
        })?),
    };
    if let Some(alg) = userinfo_alg {
        rules
            .signing_alg(Some(alg), alg)
            .map_err(|e| invalid(format!("userinfo_signed_response_alg: {e}")))?;
    }
    let post_logout_redirect_uris = request
        .post_logout_redirect_uris
        .clone()
        .unwrap_or_default();
    for uri in &post_logout_redirect_uris {
        check_redirect_uri(uri).map_err(|e| invalid(format!("post_logout_redirect_uris: {e}")))?;
    }
    if let Some(uri) = &request.backchannel_logout_uri {
        check_backchannel_logout_uri(uri).map_err(invalid)?;
    }
    let name = request
        .client_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Unnamed application");
    if name.chars().count() > 100 {
        return Err(invalid("client_name is longer than 100 characters"));
    }
    // People read the name on the consent page: nothing that hides or reorders text.
    if name.chars().any(hides_text) {
        return Err(invalid(
            "client_name has control or text-direction characters",
        ));
    }
    let links = ClientLinks {
        logo_uri: shown_uri("logo_uri", request.logo_uri.as_deref())?,
        client_uri: shown_uri("client_uri", request.client_uri.as_deref())?,
        policy_uri: shown_uri("policy_uri", request.policy_uri.as_deref())?,
        tos_uri: shown_uri("tos_uri", request.tos_uri.as_deref())?,
    };
    Ok(Registration {
        name: name.to_owned(),
        redirect_uris,
        auth_method,
        id_token_alg,
        metadata: ClientMetadata {
            grant_types,
            owner: None,
            jwks: request.jwks.clone(),
            jwks_uri: request.jwks_uri.clone(),
            request_object_signing_alg: request.request_object_signing_alg.clone(),
            request_uris: request.request_uris.clone().unwrap_or_default(),
            post_logout_redirect_uris,
            backchannel_logout_uri: request.backchannel_logout_uri.clone(),
            // Asked for, or implied by the profile the client asked for (`fapi2.all_clients`
            // is the operator's, and goes with the setting).
            require_pushed_authorization_requests: Rules::new(fapi2).requires_par()
                || request
                    .require_pushed_authorization_requests
                    .unwrap_or(false),
            fapi2_security_profile: fapi2,
            dpop_bound_access_tokens: request.dpop_bound_access_tokens.unwrap_or(false),
            tls_client_auth: request.tls_client_auth.clone(),
            tls_client_certificate_bound_access_tokens: bound_to_certificate,
            first_party: false,
            resource_server: false,
            registration_token_hash: None,
            disabled: false,
            subject_type,
            sector_identifier_uri: request.sector_identifier_uri.clone(),
            userinfo_signed_response_alg: userinfo_alg,
            links,
        },
    })
}

/// The grant types, given or implied by the response types (OpenID Connect Dynamic
/// Registration §2), each known here and matching the response types (RFC 7591 §2.1).
fn check_grant_types(
    request: &RegistrationRequest,
    options: ProtocolOptions,
) -> Result<Vec<String>, MetadataError> {
    let response_types = match &request.response_types {
        Some(given) => given
            .iter()
            .map(|value| {
                ResponseType::parse(value)
                    .filter(|parsed| parsed.is_code() || options.implicit_and_hybrid)
                    .ok_or_else(|| invalid(format!("response type `{value}` is not supported")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let grant_types = request.grant_types.clone().unwrap_or_else(|| {
        let mut implied: Vec<String> = Vec::new();
        for grant in response_types.iter().flat_map(|r| r.grant_types()) {
            if !implied.iter().any(|g| g == grant) {
                implied.push(grant.to_owned());
            }
        }
        if implied.is_empty() {
            implied.push("authorization_code".to_owned());
        }
        implied
    });
    if grant_types.is_empty() {
        return Err(invalid("grant_types may not be empty"));
    }
    let known = |grant: &str| {
        GRANT_TYPES.contains(&grant) || (grant == "implicit" && options.implicit_and_hybrid)
    };
    if let Some(unknown) = grant_types.iter().find(|g| !known(g)) {
        return Err(invalid(format!("grant type `{unknown}` is not supported")));
    }
    let response_types = if request.response_types.is_some() {
        response_types
    } else if grant_types.iter().any(|g| g == "authorization_code") {
        vec![ResponseType::CODE]
    } else {
        Vec::new()
    };
    for needed in response_types.iter().flat_map(|r| r.grant_types()) {
        if !grant_types.iter().any(|g| g == needed) {
            return Err(invalid(format!(
                "the response types need grant type `{needed}`"
            )));
        }
    }
    let uses_code = grant_types.iter().any(|g| g == "authorization_code");
    if uses_code != response_types.iter().any(|r| r.code) {
        return Err(invalid(
            "response type `code` goes with grant type `authorization_code`",
        ));
    }
    let implicit = grant_types.iter().any(|g| g == "implicit");
    if implicit != response_types.iter().any(|r| r.returns_tokens()) {
        return Err(invalid(
            "grant type `implicit` goes with a response type that returns a token",
        ));
    }
    Ok(grant_types)
}

/// The response types a client with these grant types may use, as its registration is read
/// back (RFC 7591 §3.2.1).
pub fn response_types_for(grant_types: &[String]) -> Vec<&'static str> {
    let has = |grant: &str| grant_types.iter().any(|g| g == grant);
    ResponseType::ALL
        .into_iter()
        .filter(|name| {
            ResponseType::parse(name).is_some_and(|parsed| parsed.grant_types().all(&has))
        })
        .collect()
}

/// Longest URL a client may register for its logo and links.
const MAX_SHOWN_URI_LENGTH: usize = 2000;

/// A URL people see or their browser loads on the sign-in and consent pages (`logo_uri`,
/// `client_uri`, `policy_uri`, `tos_uri`; RFC 7591 §2): absolute https, no user name or
/// password (`https://bank.example@evil.example/` reads as the bank), no fragment, nothing that
/// hides or reorders text, and of a sane length. Empty counts as not given.
pub fn check_shown_uri(uri: &str) -> Result<String, String> {
    if uri.len() > MAX_SHOWN_URI_LENGTH {
        return Err(format!("is longer than {MAX_SHOWN_URI_LENGTH} characters"));
    }
    if uri
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || hides_text(c))
    {
        return Err("has spaces, control or text-direction characters".into());
    }
    let parsed = url::Url::parse(uri).map_err(|e| format!("is not an absolute URL: {e}"))?;
    if parsed.scheme() != "https" {
        return Err("must use https".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("may not carry a user name or password".into());
    }
    if parsed.fragment().is_some() {
        return Err("may not have a fragment".into());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    Ok(parsed.to_string())
}

fn shown_uri(field: &str, uri: Option<&str>) -> Result<Option<String>, MetadataError> {
    match uri.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(uri) => check_shown_uri(uri)
            .map(Some)
            .map_err(|why| invalid(format!("{field} {why}"))),
    }
}

/// Characters that hide or reorder text where people read it.
fn hides_text(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
}

/// A `backchannel_logout_uri` a third party registers, which the server will call: https, to
/// a public host, without a fragment.
pub fn check_backchannel_logout_uri(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|e| format!("backchannel_logout_uri: {e}"))?;
    if parsed.fragment().is_some() || !matches!(parsed.scheme(), "https" | "http") {
        return Err("backchannel_logout_uri must be an http(s) URL without a fragment".into());
    }
    if parsed.scheme() != "https" {
        return Err("backchannel_logout_uri must use https".into());
    }
    let internal = match parsed.host() {
        Some(url::Host::Domain(name)) => name == "localhost" || name.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => !is_public_address(ip.into()),
        Some(url::Host::Ipv6(ip)) => !is_public_address(ip.into()),
        None => true,
    };
    if internal {
        return Err("backchannel_logout_uri must name a public host".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checks with the implicit and hybrid response types off, as by default.
    fn check(request: &RegistrationRequest) -> Result<Registration, MetadataError> {
        super::check(request, ProtocolOptions::default())
    }

    #[test]
    fn implicit_and_hybrid_response_types_register_only_when_allowed() {
        let on = ProtocolOptions {
            implicit_and_hybrid: true,
            ..ProtocolOptions::default()
        };
        let hybrid = request(serde_json::json!({
            "redirect_uris": ["https://rp.example/cb"],
            "response_types": ["code id_token", "id_token token"],
        }));
        assert!(check(&hybrid).is_err(), "refused while the setting is off");
        let checked = super::check(&hybrid, on).unwrap();
        assert_eq!(
            checked.metadata.grant_types,
            ["authorization_code", "implicit"],
            "implied by the response types"
        );
        assert_eq!(
            response_types_for(&checked.metadata.grant_types),
            ResponseType::ALL
        );
        let implicit_only = request(serde_json::json!({
            "redirect_uris": ["https://rp.example/cb"],
            "grant_types": ["implicit"],
            "response_types": ["id_token"],
        }));
        let checked = super::check(&implicit_only, on).unwrap();
        assert_eq!(
            response_types_for(&checked.metadata.grant_types),
            ["id_token", "id_token token"]
        );
        let mismatched = request(serde_json::json!({
            "redirect_uris": ["https://rp.example/cb"],
            "grant_types": ["authorization_code"],
            "response_types": ["code id_token"],
        }));
        assert!(super::check(&mismatched, on).is_err());
        assert!(
            super::check(
                &request(serde_json::json!({
                    "redirect_uris": ["https://rp.example/cb"], "response_types": ["token"],
                })),
                on
            )
            .is_err(),
            "a bare token has no ID token"
        );
    }

    #[test]
    fn redirect_uris_are_checked() {
        assert!(check_redirect_uri("https://rp.example/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(check_redirect_uri("http://localhost/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/cb").is_ok());
        assert!(check_redirect_uri("http://rp.example/cb").is_err());
        assert!(check_redirect_uri("https://rp.example/cb#frag").is_err());
        assert!(check_redirect_uri("/relative").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
    }

    fn request(json: Value) -> RegistrationRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn client_names_cannot_hide_or_reorder_text() {
        let named = |name: &str| {
            check(&request(serde_json::json!({
                "client_name": name,
                "redirect_uris": ["https://rp.example/cb"],
            })))
        };
        assert_eq!(named("Budget App").unwrap().name, "Budget App");
        assert_eq!(named("Presupuesto Año").unwrap().name, "Presupuesto Año");
        for hostile in [
            "Tax\u{202E}latroP",
            "Bank\u{2066}x",
            "A\u{200B}pp",
            "New\nline",
        ] {
            let Err(error) = named(hostile) else {
                panic!("{hostile:?} was accepted");
            };
            assert_eq!(error.code, "invalid_client_metadata", "{hostile}");
        }
    }

    #[test]
    fn shown_links_are_absolute_https_without_credentials_or_fragments() {
        assert_eq!(
            check_shown_uri("https://Budget.example/logo.png").unwrap(),
            "https://budget.example/logo.png"
        );
        assert!(check_shown_uri("https://budget.example:8443/a?b=c").is_ok());
        for bad in [
            "http://budget.example/",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "https://user:pw@budget.example/",
            "https://bank.example@budget.example/",
            "https://budget.example/#x",
            "//budget.example/",
            "https://budget.example/a b",
            "https://budget.example/\u{202E}x",
        ] {
            assert!(check_shown_uri(bad).is_err(), "{bad}");
        }
        let long = format!("https://budget.example/{}", "a".repeat(2000));
        assert!(check_shown_uri(&long).is_err());
        let checked = check(&request(serde_json::json!({
            "redirect_uris": ["https://rp.example/cb"],
            "tos_uri": "https://rp.example/terms",
            "policy_uri": "",
        })))
        .unwrap();
        assert_eq!(
            checked.metadata.links.tos_uri.as_deref(),
            Some("https://rp.example/terms")
        );
        assert_eq!(checked.metadata.links.policy_uri, None);
        let refused = check(&request(serde_json::json!({
            "redirect_uris": ["https://rp.example/cb"],
            "logo_uri": "http://rp.example/logo.png",
        })))
        .unwrap_err();
        assert_eq!(refused.code, "invalid_client_metadata");
        assert!(refused.description.starts_with("logo_uri"), "{refused:?}");
    }

    #[test]
    fn only_public_addresses_are_public() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "::127.0.0.1",
            "::10.0.0.1",
        ] {
            assert!(!is_public_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "198.20.0.1",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
        ] {
            assert!(is_public_address(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn keys_are_registered_by_value_or_at_a_public_https_url() {
        let keys = serde_json::json!({ "keys": [{ "kty": "EC" }] });
        let with = |extra: Value| {
            let mut body = serde_json::json!({
                "redirect_uris": ["https://rp.example/cb"],
                "token_endpoint_auth_method": "private_key_jwt",
            });
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            check(&request(body))
        };
        let checked = with(serde_json::json!({
            "jwks_uri": "https://rp.example/jwks", "request_object_signing_alg": "ES256",
        }))
        .unwrap();
        assert_eq!(
            checked.metadata.jwks_uri.as_deref(),
            Some("https://rp.example/jwks")
        );
        assert_eq!(
            checked.metadata.request_object_signing_alg.as_deref(),
            Some("ES256")
        );
        for refused in [
            serde_json::json!({ "jwks_uri": "https://rp.example/jwks", "jwks": keys }),
            serde_json::json!({ "jwks_uri": "https://localhost/jwks" }),
            serde_json::json!({ "jwks_uri": "https://10.0.0.1/jwks" }),
            serde_json::json!({ "jwks": keys, "request_object_signing_alg": "HS256" }),
            serde_json::json!({ "jwks": keys, "request_uris": ["http://rp.example/r"] }),
            serde_json::json!({ "jwks_uri": "https://rp.example/jwks#k" }),
            serde_json::json!({}),
        ] {
            let error = with(refused.clone()).unwrap_err();
            assert_eq!(error.code, "invalid_client_metadata", "{refused}");
        }
    }

    #[test]
    fn a_minimal_registration_gets_the_defaults() {
        let checked = check(&request(
            serde_json::json!({ "redirect_uris": ["https://rp.example/cb"] }),
        ))
        .unwrap();
        assert_eq!(
            checked.auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic
        );
        assert_eq!(checked.metadata.grant_types, ["authorization_code"]);
        assert_eq!(checked.id_token_alg, SigningAlg::RS256);
        assert!(!checked.metadata.first_party);
    }

    #[test]
    fn bad_metadata_is_refused_with_the_rfc_7591_codes() {
        let cases = [
            (serde_json::json!({}), "invalid_redirect_uri"),
            (
                serde_json::json!({ "redirect_uris": ["http://rp.example/cb"] }),
                "invalid_redirect_uri",
            ),
            (
                serde_json::json!({ "redirect_uris": ["https://rp.example/cb"], "grant_types": ["implicit"] }),
                "invalid_client_metadata",
            ),
            (
                serde_json::json!({ "redirect_uris": ["https://rp.example/cb"], "response_types": ["token"] }),
                "invalid_client_metadata",
            ),
            (
                serde_json::json!({ "redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "tls_client_auth" }),
                "invalid_client_metadata",
            ),
            (
                serde_json::json!({ "redirect_uris": ["https://rp.example/cb"], "id_token_signed_response_alg": "none" }),
                "invalid_client_metadata",
            ),
            (
                serde_json::json!({ "redirect_uris": ["https://rp.example/cb"], "jwks_uri": "http://rp.example/jwks" }),
                "invalid_client_metadata",
            ),
            (
                serde_json::json!({ "redirect_uris": ["https://rp.example/cb"], "jwks": { "keys": [] } }),
                "invalid_client_metadata",
            ),
            (
                serde_json::json!({ "redirect_uris": ["https://rp.example/cb"], "post_logout_redirect_uris": ["http://rp.example/"] }),
                "invalid_client_metadata",
            ),
            (
                serde_json::json!({ "redirect_uris": ["https://rp.example/cb"], "backchannel_logout_uri": "ftp://rp.example/" }),
                "invalid_client_metadata",
            ),
            (
                serde_json::json!({ "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none" }),
                "invalid_client_metadata",
            ),
        ];
        for (json, code) in cases {
            let refused = check(&request(json.clone())).unwrap_err();
            assert_eq!(refused.code, code, "{json}");
        }
    }
}
