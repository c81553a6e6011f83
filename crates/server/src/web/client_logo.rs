//! What the sign-in and consent pages show of a relying party besides its name: its logo, its
//! name as a link to its home page, and links to its privacy policy and terms (RFC 7591 §2).
//! Every page's Content-Security-Policy loads images from the provider only; a page that
//! shows a client's logo opens `img-src` to that logo's one https origin, for that response
//! only. (A proxy of our own would hide the person's address from the client's server, but
//! would make the provider fetch third-party URLs on every page view; `Referrer-Policy:
//! no-referrer` already keeps the page's URL from the logo's server.)

use axum::http::HeaderValue;
use axum::response::Response;
use idp_core::model::ClientLinks;
use idp_oauth::client_metadata::check_shown_uri;
use serde_json::{Value, json};

/// The https origin a page's logo comes from (see [`allow`]).
#[derive(Debug, Clone)]
struct LogoOrigin(String);

/// A URL as stored, shown only if it still passes registration's checks (stored before those
/// checks existed, or changed in the database by hand: nothing unchecked reaches a page).
fn shown(uri: &Option<String>) -> Option<String> {
    uri.as_deref().and_then(|uri| check_shown_uri(uri).ok())
}

/// What the templates' `client.html` macros take: the name and the links there are.
pub fn view(name: &str, links: &ClientLinks) -> Value {
    json!({
        "name": name,
        "uri": shown(&links.client_uri),
        "logo": shown(&links.logo_uri),
        "policy": shown(&links.policy_uri),
        "tos": shown(&links.tos_uri),
    })
}

/// Lets `response` load the client's logo, when it has one.
pub fn allow(mut response: Response, links: &ClientLinks) -> Response {
    let origin = shown(&links.logo_uri)
        .and_then(|uri| url::Url::parse(&uri).ok())
        .map(|url| url.origin().ascii_serialization())
        // An https origin is a scheme, a host and maybe a port: nothing that could end a CSP
        // directive; `null` (no origin) is never allowed.
        .filter(|origin| {
            origin.starts_with("https://")
                && origin
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:/[]".contains(&b))
        });
    if let Some(origin) = origin {
        response.extensions_mut().insert(LogoOrigin(origin));
    }
    response
}

/// The Content-Security-Policy of `response` when it shows a logo: `policy` (the page's own,
/// or every page's) with the logo's origin added to `img-src`.
pub fn policy_for(response: &Response, policy: Option<&HeaderValue>) -> Option<HeaderValue> {
    let LogoOrigin(origin) = response.extensions().get::<LogoOrigin>()?;
    let base = policy
        .and_then(|p| p.to_str().ok())
        .unwrap_or(crate::web::request_id::CONTENT_SECURITY_POLICY);
    let widened = base.replacen("img-src 'self'", &format!("img-src 'self' {origin}"), 1);
    HeaderValue::from_str(&widened).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(logo: &str) -> ClientLinks {
        ClientLinks {
            logo_uri: Some(logo.to_owned()),
            ..ClientLinks::default()
        }
    }

    #[test]
    fn only_a_checked_https_logo_opens_img_src_to_its_origin() {
        let response = allow(
            Response::default(),
            &links("https://rp.example:8443/l.png?x=1"),
        );
        let policy = policy_for(&response, None).unwrap();
        let policy = policy.to_str().unwrap();
        assert!(
            policy.contains("img-src 'self' https://rp.example:8443;"),
            "{policy}"
        );
        for bad in [
            "http://rp.example/l.png",
            "data:image/png;base64,AAAA",
            "javascript:alert(1)",
            "https://a@rp.example/l.png",
        ] {
            let response = allow(Response::default(), &links(bad));
            assert!(policy_for(&response, None).is_none(), "{bad}");
        }
    }
}
