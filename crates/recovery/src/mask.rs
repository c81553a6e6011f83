//! Destinations shown masked, so that a page naming where a code went does not disclose the
//! address or number to whoever sees it.

/// `a•••e@example.com`
pub fn email(address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    let chars: Vec<char> = local.chars().collect();
    let shown = match chars.as_slice() {
        [] => String::new(),
        [only] => format!("{only}•••"),
        [first, .., last] => format!("{first}•••{last}"),
    };
    format!("{shown}@{domain}")
}

/// `•••• 0123`: only the last four digits.
pub fn phone(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits.iter().skip(digits.len().saturating_sub(4)).collect();
    format!("•••• {tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_masked() {
        assert_eq!(email("alice@example.com"), "a•••e@example.com");
        assert_eq!(email("a@example.com"), "a•••@example.com");
        assert_eq!(phone("+447700900123"), "•••• 0123");
        assert_eq!(phone("+12"), "•••• 12");
    }
}
