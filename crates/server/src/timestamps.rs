//! Times for people beside the epoch seconds scripts use: the command line's JSON and the admin
//! API give every time both ways (`created_at` and `created`, ...), in UTC.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `seconds` since the Unix epoch as RFC 3339 in UTC (`2027-01-15T08:00:00Z`); `None` out of
/// range.
pub fn rfc3339(seconds: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// Adds to `object`, for each `(epoch, readable)` pair whose epoch field holds a number, the
/// same time as RFC 3339 under `readable` (`null` beside a `null`).
pub fn add_readable(object: &mut Value, pairs: &[(&str, &str)]) {
    let Some(fields) = object.as_object_mut() else {
        return;
    };
    for (epoch, readable) in pairs {
        let text = match fields.get(*epoch) {
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(rfc3339)
                .map_or(Value::Null, Value::from),
            Some(Value::Null) => Value::Null,
            _ => continue,
        };
        fields.insert((*readable).to_owned(), text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_read_as_rfc_3339_in_utc() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_000).unwrap(), "2027-01-15T08:00:00Z");
        assert_eq!(rfc3339(951_782_400).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), None);
        let mut event = serde_json::json!({ "at": 1_800_000_000, "gone": null });
        add_readable(
            &mut event,
            &[("at", "time"), ("gone", "gone_time"), ("x", "y")],
        );
        assert_eq!(event["time"], "2027-01-15T08:00:00Z");
        assert_eq!(event["gone_time"], Value::Null);
        assert!(event.get("y").is_none());
        assert_eq!(event["at"], 1_800_000_000, "the epoch field stays");
    }
}
