//! What the portal shows people: its page frame and stylesheet, how a sign-in was made and
//! when, in words, and why one failed. The raw values stay on the page, folded, for developers.

use axum::response::{Html, IntoResponse, Response};

/// The provider's authentication context classes, in words.
pub fn acr_in_words(acr: &str) -> String {
    match acr {
        "urn:idp:acr:password-pin" => "password and PIN".into(),
        "urn:idp:acr:password-pin-device" => "password, PIN and a verified device".into(),
        "urn:idp:acr:aal2" => "password, PIN and a second factor".into(),
        "urn:idp:acr:aal2-phishing-resistant" => "password, PIN and a passkey".into(),
        "" => "not stated".into(),
        other => format!("an unknown level ({other})"),
    }
}

/// Authentication methods (RFC 8176), in words: "password, PIN and one-time code"; `mfa`,
/// which names no method of its own, reads as a note after them.
pub fn amr_in_words(amr: &[String]) -> String {
    let words: Vec<String> = amr
        .iter()
        .filter(|m| m.as_str() != "mfa")
        .map(|m| {
            match m.as_str() {
                "pwd" => "password",
                "pin" => "PIN",
                "otp" => "one-time code",
                "sms" => "code by text message",
                "hwk" => "passkey kept on one device",
                "swk" => "passkey synced between devices",
                other => other,
            }
            .to_owned()
        })
        .collect();
    let mfa = amr.iter().any(|m| m == "mfa");
    let listed = match words.as_slice() {
        [] if mfa => return "more than one kind of factor".into(),
        [] => "not stated".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    if mfa {
        format!("{listed} (more than one kind of factor)")
    } else {
        listed
    }
}

/// `at` (Unix seconds) relative to `now`: "just now", "12 seconds ago", "5 minutes ago", ...
pub fn ago(at: i64, now: i64) -> String {
    let seconds = now.saturating_sub(at);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match seconds {
        i64::MIN..=4 => "just now".into(),
        5..=59 => plural(seconds, "second"),
        60..=3599 => plural(seconds / 60, "minute"),
        3600..=86_399 => plural(seconds / 3600, "hour"),
        _ => plural(seconds / 86_400, "day"),
    }
}

/// `at` (Unix seconds) as a UTC date and time: "3 March 2027, 14:05:09 UTC".
pub fn utc(at: i64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (days, secs) = (at.div_euclid(86_400), at.rem_euclid(86_400));
    // Days to a civil date (Howard Hinnant's algorithm, proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let name = usize::try_from(month - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .unwrap_or(&"?");
    format!(
        "{day} {name} {year}, {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

const STYLE: &str = "\
:root{color-scheme:light;--ink:#1c2430;--muted:#4f5b69;--brand:#0f4c81;--line:#d5dbe2}\
*{box-sizing:border-box}\
body{margin:0;font:1rem/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:#eef2f6}\
header{background:var(--brand);color:#fff}\
header div{max-width:40rem;margin:0 auto;padding:.75rem 1.25rem;display:flex;justify-content:space-between;align-items:center;gap:1rem}\
header a{color:#fff;text-decoration:none;font-weight:700;font-size:1.125rem}\
header nav a{font-weight:400;font-size:1rem;text-decoration:underline}\
main{max-width:40rem;margin:1.5rem auto;padding:1.5rem;background:#fff;border:1px solid var(--line);border-radius:8px}\
h1{font-size:1.5rem;margin:0 0 .75rem}\
.button{display:inline-block;padding:.625rem 1.25rem;background:var(--brand);color:#fff;border-radius:4px;text-decoration:none;font-weight:600}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0}\
dt{color:var(--muted)}dd{margin:0}\
details{margin-top:1.5rem;border-top:1px solid var(--line);padding-top:.75rem;color:var(--muted)}\
summary{cursor:pointer}\
code{font-size:.875rem;overflow-wrap:anywhere}\
footer{max-width:40rem;margin:0 auto 2rem;padding:0 1.25rem;color:var(--muted);font-size:.875rem}\
@media (max-width:40rem){main{margin:0;border:0;border-radius:0}dl{grid-template-columns:1fr}dd{margin-bottom:.5rem}}";

/// A page of the portal around `body`.
pub fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} – Tax Portal</title><style>{STYLE}</style></head><body>\
<header><div><a href=\"/\">Tax Portal</a><nav><a href=\"/transcript\">Transcript</a> <a href=\"/file\">File a return</a> <a href=\"/bank\">Bank details</a></nav></div></header>\
<main>{body}</main>\
<footer>A sample relying party of the identity provider.</footer></body></html>",
        title = escape(title)
    ))
    .into_response()
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn failed(why: &str) -> Response {
    page(
        "Sign-in failed",
        &format!(
            "<h1>Sign-in failed</h1><p>{}</p><p><a href=\"/\">Back to the start</a></p>",
            escape(why)
        ),
    )
}

/// An error answer from the provider (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6), in
/// words, with the raw answer folded away for developers.
pub(crate) fn provider_said_no(error: &str, description: Option<&str>) -> Response {
    let words = match error {
        "access_denied" => "The sign-in was cancelled, or the provider refused it.",
        "login_required"
        | "interaction_required"
        | "consent_required"
        | "account_selection_required" => "The provider needs you to sign in again.",
        "unmet_authentication_requirements" => {
            "The sign-in could not reach the level of assurance this page needs."
        }
        "temporarily_unavailable" | "server_error" => {
            "The provider could not finish the sign-in just now. Please try again in a moment."
        }
        _ => "The provider did not sign you in.",
    };
    page(
        "Sign-in failed",
        &format!(
            "<h1>Sign-in failed</h1><p>{}</p><p><a class=\"button\" href=\"/login\">Sign in again</a> \
<a href=\"/\">Back to the start</a></p><details><summary>For developers: the provider's answer</summary>\
<dl><dt>error</dt><dd><code>{}</code></dd><dt>error_description</dt><dd>{}</dd></dl></details>",
            escape(words),
            escape(error),
            escape(description.unwrap_or("(none)")),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_methods_read_as_words() {
        assert_eq!(acr_in_words("urn:idp:acr:password-pin"), "password and PIN");
        assert_eq!(
            acr_in_words("urn:idp:acr:password-pin-device"),
            "password, PIN and a verified device"
        );
        let amr = |m: &[&str]| amr_in_words(&m.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(
            amr(&["pwd", "pin", "otp"]),
            "password, PIN and one-time code"
        );
        assert_eq!(amr(&["pin"]), "PIN");
        assert_eq!(
            acr_in_words("urn:idp:acr:aal2"),
            "password, PIN and a second factor"
        );
        assert_eq!(
            acr_in_words("urn:idp:acr:aal2-phishing-resistant"),
            "password, PIN and a passkey"
        );
        assert_eq!(
            amr(&["pin", "otp", "mfa"]),
            "PIN and one-time code (more than one kind of factor)"
        );
        assert_eq!(
            amr(&["pwd", "pin", "otp", "sms", "mfa"]),
            "password, PIN, one-time code and code by text message (more than one kind of factor)"
        );
        assert_eq!(
            amr(&["pin", "hwk", "mfa"]),
            "PIN and passkey kept on one device (more than one kind of factor)"
        );
        assert_eq!(amr(&["swk"]), "passkey synced between devices");
        assert_eq!(amr(&["mfa"]), "more than one kind of factor");
    }

    #[test]
    fn times_read_as_words() {
        assert_eq!(ago(100, 102), "just now");
        assert_eq!(ago(100, 112), "12 seconds ago");
        assert_eq!(ago(0, 60), "1 minute ago");
        assert_eq!(ago(0, 7300), "2 hours ago");
        assert_eq!(utc(1_804_082_709), "3 March 2027, 14:05:09 UTC");
        assert_eq!(utc(0), "1 January 1970, 00:00:00 UTC");
    }
}
