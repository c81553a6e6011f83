//! A cookie jar the tests can read and plant cookies in.

/// A cookie jar that keeps every cookie by name, whatever its attributes (so a Secure cookie
/// too, as a browser would behind a TLS proxy), sends them all, and records every
/// `Set-Cookie` header it is given.
#[derive(Default)]
pub struct CookieRecord {
    jar: std::sync::Mutex<Vec<(String, String)>>,
    headers: std::sync::Mutex<Vec<String>>,
}

impl CookieRecord {
    /// The value of the cookie `name`, if the browser has it.
    pub fn get(&self, name: &str) -> Option<String> {
        let jar = self.jar.lock().expect("jar");
        jar.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    /// Sets a cookie as a sibling site or a script might.
    pub fn plant(&self, name: &str, value: &str) {
        let mut jar = self.jar.lock().expect("jar");
        jar.retain(|(n, _)| n != name);
        jar.push((name.to_owned(), value.to_owned()));
    }

    /// Every `Set-Cookie` header received, in order.
    pub fn set_cookie_headers(&self) -> Vec<String> {
        self.headers.lock().expect("headers").clone()
    }
}

impl reqwest::cookie::CookieStore for CookieRecord {
    fn set_cookies(
        &self,
        headers: &mut dyn Iterator<Item = &reqwest::header::HeaderValue>,
        _url: &url::Url,
    ) {
        for header in headers {
            let text = header.to_str().expect("Set-Cookie is text").to_owned();
            let pair = text.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            let removed = text.to_ascii_lowercase().contains("max-age=0");
            {
                let mut jar = self.jar.lock().expect("jar");
                jar.retain(|(n, _)| n != name.trim());
                if !removed {
                    jar.push((name.trim().to_owned(), value.trim().to_owned()));
                }
            }
            self.headers.lock().expect("headers").push(text);
        }
    }

    fn cookies(&self, _url: &url::Url) -> Option<reqwest::header::HeaderValue> {
        let jar = self.jar.lock().expect("jar");
        if jar.is_empty() {
            return None;
        }
        let line = jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        Some(line.parse().expect("cookie header"))
    }
}
