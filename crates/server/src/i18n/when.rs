//! Times as people read them: recent ones relative to now ("5 minutes ago", "hace 5 minutos"),
//! older ones as a date and time ("3 March 2027 at 14:05"), in the operator's time zone
//! (`time_zone`, UTC by default). Pure: the caller gives the moment, now (from the app's
//! `Clock`) and the language.

use time::{OffsetDateTime, UtcOffset};

use super::{Arg, Locale, translate};

/// Under this many seconds ago: "just now".
const JUST_NOW: i64 = 60;
/// Under this many seconds ago: hours ago, whatever the calendar day.
const HOURS: i64 = 12 * 3600;

/// The month names, by month number less one.
const MONTHS: [&str; 12] = [
    "account-month-1",
    "account-month-2",
    "account-month-3",
    "account-month-4",
    "account-month-5",
    "account-month-6",
    "account-month-7",
    "account-month-8",
    "account-month-9",
    "account-month-10",
    "account-month-11",
    "account-month-12",
];

/// A fixed offset from UTC that pages show times in: `UTC`, or `+HH:MM` / `-HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(UtcOffset);

impl Zone {
    pub const UTC: Zone = Zone(UtcOffset::UTC);

    /// `UTC` (or `Z`), or an offset such as `+01:00`, `-05:30`, `+0530`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("utc") || text == "Z" {
            return Ok(Self::UTC);
        }
        let bad = || format!("`{text}` is not UTC or an offset like +01:00 or -05:30");
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => return Err(bad()),
        };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        let colons = rest.chars().filter(|c| *c == ':').count();
        if digits.len() != 4 || colons > 1 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let hours: i32 = digits[..2].parse().map_err(|_| bad())?;
        let minutes: i32 = digits[2..].parse().map_err(|_| bad())?;
        if hours > 14 || minutes > 59 {
            return Err(bad());
        }
        UtcOffset::from_whole_seconds(sign * (hours * 3600 + minutes * 60))
            .map(Zone)
            .map_err(|_| bad())
    }

    /// `UTC`, or `UTC+01:00`.
    pub fn label(self) -> String {
        if self.0.is_utc() {
            return "UTC".into();
        }
        let (h, m, _) = self.0.as_hms();
        let sign = if self.0.is_negative() { '-' } else { '+' };
        format!("UTC{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
    }
}

/// The calendar date and time of `at` in `zone`, or `None` beyond the calendar's range.
fn local(at: i64, zone: Zone) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .map(|t| t.to_offset(zone.0))
}

/// `at` (Unix seconds) in words, as seen at `now`, in `locale`.
pub fn describe(at: i64, now: i64, zone: Zone, locale: Locale) -> String {
    let ago = now.saturating_sub(at);
    // A moment slightly in the future (clocks of two nodes) is "just now" as well; one further
    // ahead (a key that signs from tomorrow, a token's expiry) has its day and time.
    if ago.unsigned_abs() < JUST_NOW.unsigned_abs() {
        return translate(locale, "account-time-just-now", &[]);
    }
    if (JUST_NOW..3600).contains(&ago) {
        let n = Arg::Number(ago / 60);
        return translate(locale, "account-time-minutes-ago", &[("n", n)]);
    }
    if (3600..HOURS).contains(&ago) {
        let n = Arg::Number(ago / 3600);
        return translate(locale, "account-time-hours-ago", &[("n", n)]);
    }
    let (Some(then), Some(today)) = (local(at, zone), local(now, zone)) else {
        return at.to_string();
    };
    let clock = format!("{:02}:{:02}", then.hour(), then.minute());
    let hour = Arg::Number(i64::from(then.hour()));
    let days = (today.date() - then.date()).whole_days();
    let time = Arg::Text(clock);
    match days {
        0 => translate(
            locale,
            "account-time-today",
            &[("time", time), ("hour", hour)],
        ),
        1 => translate(
            locale,
            "account-time-yesterday",
            &[("time", time), ("hour", hour)],
        ),
        _ => date(then, locale),
    }
}

/// A calendar date and time in words: "3 March 2027 at 14:05".
fn date(then: OffsetDateTime, locale: Locale) -> String {
    let month = MONTHS[usize::from(u8::from(then.month())) - 1];
    let args = [
        ("day", Arg::Number(i64::from(then.day()))),
        ("month", Arg::Text(translate(locale, month, &[]))),
        ("year", Arg::Number(i64::from(then.year()))),
        (
            "time",
            Arg::Text(format!("{:02}:{:02}", then.hour(), then.minute())),
        ),
        ("hour", Arg::Number(i64::from(then.hour()))),
    ];
    translate(locale, "account-time-date", &args)
}

/// `at` as a date and time in `zone`, whenever it was, with the zone named:
/// "3 March 2027 at 14:05 (UTC)".
pub fn absolute(at: i64, zone: Zone, locale: Locale) -> String {
    match local(at, zone) {
        Some(then) => format!("{} ({})", date(then, locale), zone.label()),
        None => at.to_string(),
    }
}

/// A moment as a page shows it: in words, in the page's language, and for machines.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Moment {
    pub words: String,
    /// The date and time whatever the words say, for a tooltip.
    pub full: String,
    pub iso: String,
}

/// `at` as seen at `now`, for the page being answered.
pub fn moment(at: i64, now: i64, zone: Zone) -> Moment {
    Moment {
        words: describe(at, now, zone, super::current()),
        full: absolute(at, zone, super::current()),
        iso: machine(at),
    }
}

/// `at` for machines, as `<time datetime>` wants it: `2027-03-03T14:05:00Z`.
pub fn machine(at: i64) -> String {
    match local(at, Zone::UTC) {
        Some(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2027-03-03T14:05:00Z, a Wednesday.
    const AT: i64 = 1_804_082_700;

    fn en(at: i64, now: i64) -> String {
        describe(at, now, Zone::UTC, Locale::En)
    }

    fn es(at: i64, now: i64) -> String {
        describe(at, now, Zone::UTC, Locale::Es)
    }

    #[test]
    fn the_fixed_moment_is_what_the_tests_say() {
        assert_eq!(machine(AT), "2027-03-03T14:05:00Z");
    }

    #[test]
    fn just_now_covers_the_first_minute_and_the_near_future() {
        assert_eq!(en(AT, AT), "just now");
        assert_eq!(en(AT, AT + 59), "just now");
        assert_eq!(en(AT + 30, AT), "just now");
        assert_eq!(es(AT, AT + 59), "hace un momento");
    }

    #[test]
    fn a_moment_to_come_has_its_day_and_time() {
        // 14:05 on 3 March: seen an hour before, and two days before.
        assert_eq!(en(AT, AT - 3600), "today at 14:05");
        assert_eq!(es(AT, AT - 3600), "hoy a las 14:05");
        assert_eq!(en(AT, AT - 2 * 86_400), en(AT, AT + 3 * 86_400));
        assert!(en(AT, AT - 2 * 86_400).contains("2027"));
        assert_eq!(
            en(i64::MAX, AT),
            i64::MAX.to_string(),
            "past the calendar, and no panic"
        );
    }

    #[test]
    fn minutes_have_their_plural_forms() {
        assert_eq!(en(AT, AT + 60), "1 minute ago");
        assert_eq!(en(AT, AT + 5 * 60 + 59), "5 minutes ago");
        assert_eq!(en(AT, AT + 3599), "59 minutes ago");
        assert_eq!(es(AT, AT + 60), "hace 1 minuto");
        assert_eq!(es(AT, AT + 5 * 60), "hace 5 minutos");
    }

    #[test]
    fn hours_run_to_twelve() {
        assert_eq!(en(AT, AT + 3600), "1 hour ago");
        assert_eq!(en(AT, AT + 11 * 3600 + 3599), "11 hours ago");
        assert_eq!(es(AT, AT + 3600), "hace 1 hora");
        assert_eq!(es(AT, AT + 2 * 3600), "hace 2 horas");
    }

    #[test]
    fn later_the_same_day_and_the_day_before_say_so() {
        // 01:30 on 3 March, seen at 23:00 the same day; 14:05, seen at 09:00 the next day.
        let early = AT - 12 * 3600 - 35 * 60;
        assert_eq!(en(early, early + 21 * 3600 + 30 * 60), "today at 01:30");
        assert_eq!(es(early, early + 21 * 3600 + 30 * 60), "hoy a la 01:30");
        assert_eq!(en(AT, AT + 19 * 3600), "yesterday at 14:05");
        assert_eq!(es(AT, AT + 19 * 3600), "ayer a las 14:05");
    }

    #[test]
    fn older_times_are_a_date_and_a_time() {
        let later = AT + 3 * 86_400;
        assert_eq!(en(AT, later), "3 March 2027 at 14:05");
        assert_eq!(es(AT, later), "3 de marzo de 2027, 14:05");
        assert_eq!(en(AT - 365 * 86_400, AT), "3 March 2026 at 14:05");
        assert_eq!(
            absolute(AT, Zone::UTC, Locale::En),
            "3 March 2027 at 14:05 (UTC)"
        );
        let zone = Zone::parse("+01:00").unwrap();
        assert_eq!(
            absolute(AT, zone, Locale::Es),
            "3 de marzo de 2027, 15:05 (UTC+01:00)"
        );
    }

    #[test]
    fn the_operators_zone_moves_the_calendar() {
        let zone = Zone::parse("+10:00").unwrap();
        // 14:05 UTC is 00:05 the next day in UTC+10.
        let later = AT + 3 * 86_400;
        assert_eq!(
            describe(AT, later, zone, Locale::En),
            "4 March 2027 at 00:05"
        );
        let west = Zone::parse("-05:30").unwrap();
        assert_eq!(
            describe(AT, later, west, Locale::Es),
            "3 de marzo de 2027, 08:35"
        );
        assert_eq!(west.label(), "UTC-05:30");
        assert_eq!(Zone::parse("utc").unwrap().label(), "UTC");
        assert_eq!(Zone::parse("+0100").unwrap().label(), "UTC+01:00");
    }

    #[test]
    fn zones_that_are_not_offsets_are_refused() {
        for bad in [
            "",
            "Europe/Madrid",
            "+1",
            "+15:00",
            "+01:60",
            "01:00",
            "+01:00:00",
        ] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
    }
}
