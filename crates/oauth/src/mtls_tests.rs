use idp_core::model::{ClientMetadata, SigningAlg};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};
use serde_json::json;

use super::*;

/// A self-signed certificate for `CN=portal,O=Example Ltd,C=GB` with one subject
/// alternative name of each kind; its PEM and DER.
fn certificate() -> (String, Vec<u8>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "GB");
    dn.push(DnType::OrganizationName, "Example Ltd");
    dn.push(DnType::CommonName, "portal");
    params.distinguished_name = dn;
    params.subject_alt_names = vec![
        SanType::DnsName("portal.example".try_into().unwrap()),
        SanType::URI("https://portal.example/client".try_into().unwrap()),
        SanType::IpAddress("192.0.2.7".parse().unwrap()),
        SanType::Rfc822Name("ops@portal.example".try_into().unwrap()),
    ];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), cert.der().to_vec())
}

fn named(set: impl FnOnce(&mut TlsClientAuthName)) -> TlsClientAuthName {
    let mut name = TlsClientAuthName::default();
    set(&mut name);
    name
}

#[test]
fn a_certificate_is_read_in_every_form_proxies_forward() {
    let (pem, der) = certificate();
    let from_der = ClientCertificate::from_der(der.clone()).unwrap();
    let escaped: String = url::form_urlencoded::byte_serialize(pem.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let spaces = pem.replace('\n', " ");
    let bare = STANDARD.encode(&der);
    for form in [pem.as_str(), &escaped, &spaces, &bare] {
        assert_eq!(
            ClientCertificate::from_header(form).unwrap(),
            from_der,
            "{form}"
        );
    }
    // x5t#S256 is the base64url SHA-256 of the DER (RFC 8705 §3.1).
    assert_eq!(
        from_der.thumbprint,
        URL_SAFE_NO_PAD.encode(Sha256::digest(&der))
    );
    // Two certificates folded into one value, or text around one: refused.
    let folded = format!("{pem}, {pem}");
    let prefixed = format!("junk{pem}");
    let bare_twice = format!("{bare}, {bare}");
    for bad in [
        "",
        "not base64!",
        "%zz",
        &STANDARD.encode(b"not a certificate"),
        &folded,
        &prefixed,
        &bare_twice,
    ] {
        assert!(ClientCertificate::from_header(bad).is_err(), "{bad}");
    }
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(ClientCertificate::from_der(trailing).is_err());
    assert!(ClientCertificate::from_header(&"A".repeat(MAX_HEADER_BYTES + 1)).is_err());
}

#[test]
fn the_registered_name_must_be_the_certificates() {
    let (_, der) = certificate();
    let cert = ClientCertificate::from_der(der).unwrap();
    let yes = [
        named(|n| n.tls_client_auth_subject_dn = Some("CN=portal,O=Example Ltd,C=GB".into())),
        // Case, spaces around separators and OID types do not matter.
        named(|n| {
            n.tls_client_auth_subject_dn = Some("cn=PORTAL, o=example  ltd, 2.5.4.6=gb".into())
        }),
        named(|n| n.tls_client_auth_san_dns = Some("Portal.Example".into())),
        named(|n| n.tls_client_auth_san_uri = Some("https://portal.example/client".into())),
        named(|n| n.tls_client_auth_san_ip = Some("192.0.2.7".into())),
        named(|n| n.tls_client_auth_san_email = Some("ops@portal.example".into())),
    ];
    for name in &yes {
        assert!(cert.names(name), "{name:?}");
    }
    let no = [
        // The order of RFC 4514 is the certificate's, last first.
        named(|n| n.tls_client_auth_subject_dn = Some("C=GB,O=Example Ltd,CN=portal".into())),
        named(|n| n.tls_client_auth_subject_dn = Some("CN=portal,O=Example Ltd".into())),
        named(|n| n.tls_client_auth_subject_dn = Some("CN=portal,O=Example Ltd,C=GB,DC=x".into())),
        named(|n| n.tls_client_auth_subject_dn = Some("CN=portal2,O=Example Ltd,C=GB".into())),
        named(|n| n.tls_client_auth_san_dns = Some("other.example".into())),
        named(|n| n.tls_client_auth_san_dns = Some("portal.example.evil".into())),
        named(|n| n.tls_client_auth_san_uri = Some("https://portal.example/Client".into())),
        named(|n| n.tls_client_auth_san_ip = Some("192.0.2.8".into())),
        named(|n| n.tls_client_auth_san_email = Some("root@portal.example".into())),
        TlsClientAuthName::default(),
    ];
    for name in &no {
        assert!(!cert.names(name), "{name:?}");
    }
    // Escapes in a registered name are undone before comparing.
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Example, Ltd");
    params.distinguished_name.push(DnType::CommonName, "a+b");
    let cert =
        ClientCertificate::from_der(params.self_signed(&key).unwrap().der().to_vec()).unwrap();
    assert!(cert.names(&named(
        |n| n.tls_client_auth_subject_dn = Some(r"CN=a\+b,O=Example\, Ltd".into())
    )));
    assert!(cert.names(&named(
        |n| n.tls_client_auth_subject_dn = Some(r"CN=a\2bb,O=Example\2c Ltd".into())
    )));
    assert!(!cert.names(&named(
        |n| n.tls_client_auth_subject_dn = Some("CN=a+b,O=Example, Ltd".into())
    )));
}

fn client(method: TokenEndpointAuthMethod, metadata: ClientMetadata) -> Client {
    Client {
        id: "c1".into(),
        name: "c1".into(),
        secret_hash: None,
        redirect_uris: vec![],
        token_endpoint_auth_method: method,
        id_token_signed_response_alg: SigningAlg::ES256,
        admin: false,
        created_at: 0,
        metadata,
    }
}

#[test]
fn a_client_authenticates_with_the_certificate_it_registered() {
    let (_, der) = certificate();
    let (_, other_der) = certificate();
    let unverified = ClientCertificate::from_der(der.clone()).unwrap();
    let cert = unverified.clone().verified(true);
    let other = ClientCertificate::from_der(other_der).unwrap();
    let by_name = client(
        TokenEndpointAuthMethod::TlsClientAuth,
        ClientMetadata {
            tls_client_auth: named(|n| n.tls_client_auth_san_dns = Some("portal.example".into())),
            ..ClientMetadata::default()
        },
    );
    assert!(authenticates(&by_name, Some(&cert), None));
    assert!(!authenticates(&by_name, None, None));
    // The right names, but no authority the proxy trusts vouched for them.
    assert!(!authenticates(&by_name, Some(&unverified), None));
    let jwks = json!({ "keys": [ { "kty": "EC", "x5c": [STANDARD.encode(&der)] } ] });
    let self_signed = client(
        TokenEndpointAuthMethod::SelfSignedTlsClientAuth,
        ClientMetadata::default(),
    );
    assert!(authenticates(&self_signed, Some(&cert), Some(&jwks)));
    assert!(authenticates(&self_signed, Some(&unverified), Some(&jwks)));
    // Another certificate with the same names is not the one registered.
    assert!(!authenticates(&self_signed, Some(&other), Some(&jwks)));
    assert!(!authenticates(&self_signed, Some(&cert), None));
    assert!(!authenticates(&self_signed, None, Some(&jwks)));
    // A client registered for another method never authenticates by certificate.
    let secret = client(
        TokenEndpointAuthMethod::ClientSecretBasic,
        by_name.metadata.clone(),
    );
    assert!(!authenticates(&secret, Some(&cert), Some(&jwks)));
}

#[test]
fn tokens_are_bound_to_the_certificate_when_the_client_asked_or_the_profile_needs_it() {
    let (_, der) = certificate();
    let cert = ClientCertificate::from_der(der).unwrap();
    let plain = client(
        TokenEndpointAuthMethod::TlsClientAuth,
        ClientMetadata::default(),
    );
    assert_eq!(binding(&plain, Some(&cert), false, false), Ok(None));
    let bound = client(
        TokenEndpointAuthMethod::TlsClientAuth,
        ClientMetadata {
            tls_client_certificate_bound_access_tokens: true,
            ..ClientMetadata::default()
        },
    );
    assert_eq!(
        binding(&bound, Some(&cert), false, false),
        Ok(Some(cert.thumbprint.clone()))
    );
    assert_eq!(
        binding(&bound, None, false, true).unwrap_err().code,
        ErrorCode::InvalidRequest
    );
    // Sender-constrained: the certificate when there is no DPoP proof; DPoP alone suffices.
    assert_eq!(
        binding(&plain, Some(&cert), true, false),
        Ok(Some(cert.thumbprint.clone()))
    );
    assert_eq!(binding(&plain, Some(&cert), true, true), Ok(None));
    assert_eq!(binding(&plain, None, true, true), Ok(None));
    assert_eq!(
        binding(&plain, None, true, false).unwrap_err().code,
        ErrorCode::InvalidDpopProof
    );

    assert_eq!(check_bound(None, None), Ok(()));
    assert_eq!(check_bound(Some(&cert.thumbprint), Some(&cert)), Ok(()));
    let (_, other) = certificate();
    let other = ClientCertificate::from_der(other).unwrap();
    assert_eq!(
        check_bound(Some(&cert.thumbprint), Some(&other))
            .unwrap_err()
            .code,
        ErrorCode::InvalidToken
    );
    assert_eq!(
        check_bound(Some(&cert.thumbprint), None).unwrap_err().code,
        ErrorCode::InvalidToken
    );
}

#[test]
fn registration_checks_the_mutual_tls_metadata() {
    use TokenEndpointAuthMethod::{ClientSecretBasic, SelfSignedTlsClientAuth, TlsClientAuth};
    let (_, der) = certificate();
    let dns = named(|n| n.tls_client_auth_san_dns = Some("portal.example".into()));
    let none = TlsClientAuthName::default();
    let jwks = json!({ "keys": [ { "kty": "EC", "x5c": [STANDARD.encode(&der)] } ] });
    let no_x5c = json!({ "keys": [ { "kty": "EC" } ] });
    let both = Offer {
        certificates: true,
        verified: true,
    };
    let ok = |method, name: &TlsClientAuthName, bound, keys: (Option<&serde_json::Value>, bool)| {
        check_registration(method, name, bound, keys, both)
    };
    assert_eq!(ok(TlsClientAuth, &dns, true, (None, false)), Ok(()));
    assert_eq!(
        ok(SelfSignedTlsClientAuth, &none, false, (Some(&jwks), false)),
        Ok(())
    );
    assert_eq!(
        ok(SelfSignedTlsClientAuth, &none, false, (None, true)),
        Ok(())
    );
    assert_eq!(ok(ClientSecretBasic, &none, true, (None, false)), Ok(()));
    let refused = [
        ok(TlsClientAuth, &none, false, (None, false)),
        ok(
            TlsClientAuth,
            &named(|n| {
                n.tls_client_auth_san_dns = Some("a.example".into());
                n.tls_client_auth_san_email = Some("a@a.example".into());
            }),
            false,
            (None, false),
        ),
        ok(
            TlsClientAuth,
            &named(|n| n.tls_client_auth_san_ip = Some("not an ip".into())),
            false,
            (None, false),
        ),
        ok(
            TlsClientAuth,
            &named(|n| n.tls_client_auth_subject_dn = Some("no equals sign".into())),
            false,
            (None, false),
        ),
        ok(
            TlsClientAuth,
            &named(|n| n.tls_client_auth_san_uri = Some(" ".into())),
            false,
            (None, false),
        ),
        ok(ClientSecretBasic, &dns, false, (None, false)),
        ok(
            SelfSignedTlsClientAuth,
            &none,
            false,
            (Some(&no_x5c), false),
        ),
        ok(SelfSignedTlsClientAuth, &none, false, (None, false)),
        ok(
            TlsClientAuth,
            &named(|n| n.tls_client_auth_subject_dn = Some("CN=,O=Bank".into())),
            false,
            (None, false),
        ),
        // Not offered here: no certificate header is configured, or no verdict header.
        check_registration(TlsClientAuth, &dns, false, (None, false), Offer::default()),
        check_registration(
            ClientSecretBasic,
            &none,
            true,
            (None, false),
            Offer::default(),
        ),
        check_registration(
            TlsClientAuth,
            &dns,
            false,
            (None, false),
            Offer {
                certificates: true,
                verified: false,
            },
        ),
    ];
    for (i, result) in refused.iter().enumerate() {
        assert!(result.is_err(), "case {i}: {result:?}");
    }
}
