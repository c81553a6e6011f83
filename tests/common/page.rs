//! A page as a browser received it, and what the tests read from its HTML: the stable page
//! id, forms, links, hidden inputs. Shared by the end-to-end tests (a real process) and the
//! handler tests (the router in-process).

#![allow(dead_code)]

use axum::http::StatusCode;

#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    /// The `Retry-After` header, when there is one.
    pub retry_after: Option<String>,
    pub body: String,
}

impl Page {
    /// The page's first form: its action and every input that has a value (hidden inputs
    /// included), as a browser would submit them.
    pub fn form(&self) -> (String, Vec<(String, String)>) {
        let start = self.body.find("<form").expect("the page has a form");
        let form = &self.body[start..];
        let end = form.find("</form>").expect("the form ends");
        let form = &form[..end];
        let action = attribute(form, "action").unwrap_or_default();
        let mut fields = Vec::new();
        for input in form.split("<input").skip(1) {
            let tag = &input[..input.find('>').unwrap_or(input.len())];
            // As a browser sends it: a checkbox or radio button only when it is checked.
            let choice = matches!(
                attribute(tag, "type").as_deref(),
                Some("checkbox" | "radio")
            );
            if choice && !tag.contains(" checked") {
                continue;
            }
            if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
                fields.push((name, value));
            }
        }
        (unescape(&action), fields)
    }

    /// The action of the form that posts to a path ending in `part`.
    pub fn action_ending(&self, part: &str) -> String {
        self.body
            .split("action=\"")
            .skip(1)
            .map(|s| unescape(s.split('"').next().unwrap_or_default()))
            .find(|action| action.ends_with(part))
            .unwrap_or_else(|| panic!("no form to {part} in {}", self.body))
    }

    /// The key an add-app page shows to type into an authenticator app.
    pub fn shown_key(&self) -> idp_factors::totp::Secret {
        let start = self.body.find("id=\"secret\">").expect("the key is shown") + 12;
        let end = start + self.body[start..].find('<').unwrap();
        let typed: String = unescape(&self.body[start..end])
            .split_whitespace()
            .collect();
        idp_factors::totp::Secret::from_base32(&typed).expect("a base32 key")
    }

    /// The saved recovery codes a page shows, once.
    pub fn saved_codes(&self) -> Vec<String> {
        let start = self.body.find("id=\"saved-codes\"").expect("codes shown");
        let list = &self.body[start..];
        let list = &list[..list.find("</ol>").unwrap()];
        list.split("<code>")
            .skip(1)
            .map(|c| c[..c.find("</code>").unwrap()].to_owned())
            .collect()
    }

    /// The page from the form that posts to `action` on: its `form()` is that form.
    pub fn form_to(&self, action: &str) -> Page {
        let body = unescape(&self.body);
        let at = body
            .find(&format!("action=\"{action}\""))
            .unwrap_or_else(|| panic!("no form {action}"));
        let start = body[..at].rfind("<form").expect("form start");
        Page {
            status: self.status,
            location: None,
            retry_after: None,
            body: body[start..].to_owned(),
        }
    }

    /// The value of the first input named `name`.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(unescape(&self.body[start..start + end]))
    }

    /// The first link whose target contains `part`.
    pub fn link(&self, part: &str) -> String {
        self.body
            .split("href=\"")
            .skip(1)
            .map(|s| unescape(s.split('"').next().unwrap_or_default()))
            .find(|href| href.contains(part))
            .unwrap_or_else(|| panic!("no link to {part} in {}", self.body))
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The page's stable id (`data-page`), whatever its language and wording; `None` for
    /// what is no page of the provider's (a redirect, JSON, a form cut out of a page).
    pub fn id(&self) -> Option<String> {
        attribute(&self.body, "data-page")
    }

    /// Whether this is the page `id` (see the `page` block of each template).
    pub fn is(&self, id: &str) -> bool {
        self.id().is_some_and(|own| own == id)
    }

    /// Where it redirects to, or "" when it does not.
    pub fn to(&self) -> &str {
        self.location.as_deref().unwrap_or_default()
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// Text as it reads once the HTML escapes in it are undone.
pub fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of query parameter `name` in `url` (absolute or a path), decoded.
pub fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?').map(|(_, q)| q)?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
