//! Subject identifiers (OpenID Connect Core §8): the `sub` a client sees. A public client sees
//! the person's own id; a pairwise client sees HMAC-SHA-256, under a server key that is not in
//! the database, of its sector and the person's id (base64url), so that clients of different
//! sectors cannot correlate people, and clients of one sector see the same `sub`.
//!
//! The sector is the host of the client's `sector_identifier_uri`, else the host of its
//! redirect URIs (which must then all share one host, checked at registration by
//! [`check_pairwise`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use idp_core::model::{Client, SubjectType};
use sha2::Sha256;

/// The key pairwise subjects are made with.
#[derive(Clone)]
pub struct PairwiseKey(pub [u8; 32]);

impl std::fmt::Debug for PairwiseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairwiseKey(..)")
    }
}

/// The host of a URI, lower case.
fn host(uri: &str) -> Option<String> {
    let parsed = url::Url::parse(uri).ok()?;
    Some(parsed.host_str()?.to_ascii_lowercase())
}

/// The client's sector, for a pairwise client: the host of its `sector_identifier_uri`, else
/// of its (first) redirect URI when that is https. The host of a private-use scheme
/// (`com.example.app://bank.example/cb`) or of loopback is anyone's to name, so it never makes
/// a sector: such a client is a sector of its own.
pub fn sector(client: &Client) -> Option<String> {
    match &client.metadata.sector_identifier_uri {
        Some(uri) => host(uri),
        None => client
            .redirect_uris
            .first()
            .filter(|uri| uri.starts_with("https://"))
            .and_then(|uri| host(uri))
            .filter(|host| host != "localhost" && host.parse::<std::net::IpAddr>().is_err()),
    }
}

/// The `sub` that `client` sees for the person `user_id`. Every place that shows a client a
/// person (ID token, access token, UserInfo, introspection, logout tokens) or compares one it
/// sends back (`id_token_hint`) goes through here.
pub fn subject_for(key: &PairwiseKey, client: &Client, user_id: &str) -> String {
    if client.metadata.subject_type == SubjectType::Public {
        return user_id.to_owned();
    }
    // A pairwise client always has a sector (registration checks it); one without is given
    // a sector of its own id rather than the public id.
    let sector = sector(client).unwrap_or_else(|| format!("client:{}", client.id));
    pairwise(key, &sector, user_id)
}

/// HMAC-SHA-256 of the sector and the user id, with a separator neither can contain first.
pub fn pairwise(key: &PairwiseKey, sector: &str, user_id: &str) -> String {
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&key.0)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(sector.as_bytes());
    mac.update(&[0]);
    mac.update(user_id.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// What registration checks of a pairwise client before its `sector_identifier_uri` is
/// fetched: without one, every redirect URI must be on one host (Core §8.1).
pub fn check_pairwise(
    subject_type: SubjectType,
    sector_identifier_uri: Option<&str>,
    redirect_uris: &[String],
) -> Result<(), String> {
    if let Some(uri) = sector_identifier_uri {
        let parsed = url::Url::parse(uri).map_err(|e| format!("sector_identifier_uri: {e}"))?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
            return Err("sector_identifier_uri must be an https URL".into());
        }
        return Ok(());
    }
    if subject_type == SubjectType::Pairwise {
        let mut hosts: Vec<Option<String>> = redirect_uris.iter().map(|u| host(u)).collect();
        hosts.dedup();
        if hosts.len() > 1 || hosts.iter().any(Option::is_none) {
            return Err(
                "a pairwise client with redirect URIs on more than one host needs a sector_identifier_uri".into(),
            );
        }
    }
    Ok(())
}

/// The registration's `subject_type` (`public` unless asked), checked with its
/// `sector_identifier_uri` and redirect URIs; the document at the URI is the server's to fetch
/// and check ([`check_sector_document`]).
pub fn checked_subject_type(
    request: &crate::client_metadata::RegistrationRequest,
    redirect_uris: &[String],
) -> Result<SubjectType, crate::client_metadata::MetadataError> {
    use crate::client_metadata::invalid;
    let subject_type = match request.subject_type.as_deref() {
        None => SubjectType::Public,
        Some(value) => SubjectType::parse(value)
            .ok_or_else(|| invalid(format!("subject_type `{value}` is not supported")))?,
    };
    check_pairwise(
        subject_type,
        request.sector_identifier_uri.as_deref(),
        redirect_uris,
    )
    .map_err(invalid)?;
    Ok(subject_type)
}

/// Whether the document at `sector_identifier_uri` (a JSON array of URIs) lists every one of
/// the client's redirect URIs (Core §8.1).
pub fn check_sector_document(document: &[u8], redirect_uris: &[String]) -> Result<(), String> {
    let listed: Vec<String> = serde_json::from_slice(document)
        .map_err(|_| "the sector_identifier_uri document is not a JSON array of URIs")?;
    match redirect_uris.iter().find(|uri| !listed.contains(uri)) {
        Some(missing) => Err(format!(
            "the sector_identifier_uri document does not list the redirect URI `{missing}`"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use idp_core::model::TokenEndpointAuthMethod;

    use super::*;

    fn client(id: &str, redirect: &str, sector_uri: Option<&str>, pairwise: bool) -> Client {
        let mut client = crate::test_stores::client(id, TokenEndpointAuthMethod::None, None);
        client.redirect_uris = vec![redirect.to_owned()];
        client.metadata.sector_identifier_uri = sector_uri.map(str::to_owned);
        if pairwise {
            client.metadata.subject_type = SubjectType::Pairwise;
        }
        client
    }

    #[test]
    fn pairwise_subjects_differ_by_sector_and_agree_within_one() {
        let key = PairwiseKey([7; 32]);
        let a = client("a", "https://one.example/cb", None, true);
        let b = client("b", "https://one.example/other", None, true);
        let c = client("c", "https://two.example/cb", None, true);
        let d = client(
            "d",
            "https://two.example/cb",
            Some("https://one.example/s.json"),
            true,
        );
        let public = client("p", "https://one.example/cb", None, false);
        let sub = |c: &Client| subject_for(&key, c, "u1");
        assert_eq!(sub(&a), sub(&b), "same sector, same sub");
        assert_ne!(sub(&a), sub(&c), "another sector, another sub");
        assert_eq!(
            sub(&a),
            sub(&d),
            "the sector identifier's host is the sector"
        );
        assert_eq!(sub(&public), "u1");
        assert_ne!(sub(&a), subject_for(&key, &a, "u2"));
        assert_ne!(sub(&a), subject_for(&PairwiseKey([8; 32]), &a, "u1"));
        assert_eq!(sub(&a).len(), 43);
    }

    #[test]
    fn registration_checks_the_sector() {
        let uris = |list: &[&str]| list.iter().map(|u| (*u).to_owned()).collect::<Vec<_>>();
        let two_hosts = uris(&["https://a.example/cb", "https://b.example/cb"]);
        assert!(check_pairwise(SubjectType::Pairwise, None, &two_hosts).is_err());
        assert!(check_pairwise(SubjectType::Public, None, &two_hosts).is_ok());
        assert!(
            check_pairwise(
                SubjectType::Pairwise,
                Some("https://a.example/s.json"),
                &two_hosts
            )
            .is_ok()
        );
        assert!(check_pairwise(SubjectType::Pairwise, Some("ftp://a.example/s"), &[]).is_err());
        let listed = br#"["https://a.example/cb","https://b.example/cb","https://c.example/x"]"#;
        assert!(check_sector_document(listed, &two_hosts).is_ok());
        assert!(check_sector_document(br#"["https://a.example/cb"]"#, &two_hosts).is_err());
        assert!(check_sector_document(b"{}", &two_hosts).is_err());
    }
}
