//! A browser, as the sign-in scenarios need one: its cookies, the person it signs in as and
//! the address it comes from; and the authorization request it follows through the
//! provider's pages (reading each page's form) to the code.

use std::collections::HashMap;

use base64::Engine as _;
use rand::Rng as _;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use sha2::Digest as _;

use crate::Failure;
use crate::client::Shared;

/// A browser's cookies, by name (paths and expiry are not needed for these flows), and who it
/// signs in as, from which address.
#[derive(Default)]
pub struct Jar(pub HashMap<String, String>, pub Browser);

#[derive(Default, Clone)]
pub struct Browser {
    pub username: Option<String>,
    pub address: Option<String>,
}

impl Jar {
    pub fn take(&mut self, headers: &HeaderMap) {
        for cookie in headers.get_all(SET_COOKIE) {
            let Ok(cookie) = cookie.to_str() else {
                continue;
            };
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let gone = value.is_empty() || cookie.to_ascii_lowercase().contains("max-age=0");
                if gone {
                    self.0.remove(name.trim());
                } else {
                    self.0.insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
    }

    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// The page's first form: its action and its inputs with values.
fn form(body: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = body.find("<form")?;
    let rest = &body[start..];
    let form = &rest[..rest.find("</form>")?];
    let action = attribute(form, "action").unwrap_or_default();
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        if let Some(name) = attribute(tag, "name") {
            fields.push((name, attribute(tag, "value").unwrap_or_default()));
        }
    }
    Some((action, fields))
}

fn random(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::rng().random()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Shared {
    /// A new browser: the next user in turn, and an address of its own when asked.
    pub fn browser(&self) -> Jar {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let username =
            (self.args.users > 0).then(|| format!("{}{}", self.args.username, n % self.args.users));
        let address = self.args.forwarded_for.then(|| {
            let mut rng = rand::rng();
            format!(
                "10.{}.{}.{}",
                rng.random::<u8>(),
                rng.random::<u8>(),
                rng.random_range(1..255u8)
            )
        });
        Jar(HashMap::new(), Browser { username, address })
    }

    /// Authorization request through to the code: follows the provider's redirects and fills
    /// each form it shows (username and password, PIN) until it redirects to the client.
    pub async fn authorize(
        &self,
        jar: &mut Jar,
        scope: &str,
        extra: &str,
    ) -> Result<(String, String), Failure> {
        let verifier = random(32);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let mut url = url::Url::parse(&self.endpoints.authorization).map_err(|e| e.to_string())?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.args.client_id)
            .append_pair("redirect_uri", &self.args.redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", &random(8))
            .append_pair("nonce", &random(8))
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let mut url = url.to_string();
        if !extra.is_empty() {
            url = format!("{url}&{extra}");
        }
        let mut answer = self.send(self.http.get(&url), jar).await?;
        // What was last sent, to tell where a refusal came from.
        let mut step = "the authorization request";
        for _ in 0..12 {
            let (status, headers, body) = &answer;
            if status.is_redirection() {
                let location = headers
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or("a redirect without a location")?;
                if location.starts_with(&self.args.redirect_uri) {
                    let code = query_param(location, "code")
                        .ok_or_else(|| format!("no code in {location}"))?;
                    return Ok((code, verifier));
                }
                let next = self.absolute(location);
                answer = self.send(self.http.get(&next), jar).await?;
                continue;
            }
            if *status != StatusCode::OK {
                return Err(format!("{step} answered {status}"));
            }
            let (action, mut fields) =
                form(body).ok_or_else(|| "a page without a form".to_owned())?;
            let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
            let username = jar.1.username.clone().unwrap_or(self.args.username.clone());
            for (name, value) in [
                ("username", &username),
                ("password", &self.args.password),
                ("pin", &self.args.pin),
            ] {
                if names.iter().any(|n| n == name) {
                    fields.retain(|(n, _)| n != name);
                    fields.push((name.to_owned(), value.clone()));
                }
            }
            step = if names.iter().any(|n| n == "pin") {
                "the PIN form"
            } else if names.iter().any(|n| n == "password") {
                "the password form"
            } else {
                "a form"
            };
            let target = if action.is_empty() {
                url.clone()
            } else {
                self.absolute(&action)
            };
            answer = self
                .send(self.http.post(&target).form(&fields), jar)
                .await?;
        }
        Err("too many steps".into())
    }
}
