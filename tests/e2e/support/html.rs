//! A page as the browser received it, and what the tests read from its HTML: forms, links,
//! attributes.

use reqwest::StatusCode;

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
            if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
                fields.push((name, value));
            }
        }
        (unescape(&action), fields)
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
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

pub(super) fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
