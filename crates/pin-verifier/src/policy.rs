//! What a new PIN must be (SPEC "Defaults that are policy"): 6 to 12 digits, entered twice, and
//! none of the PINs people pick most: runs, repeats, dates and years, part of the user's phone
//! number, or a PIN on the common list.

use std::fmt;

/// PINs that survive the pattern rules below yet are among the most chosen.
const COMMON_PINS: &[&str] = &[
    "123123",
    "112233",
    "121212",
    "654321",
    "159753",
    "147258",
    "258369",
    "369258",
    "123321",
    "159357",
    "753951",
    "147852",
    "741852",
    "852963",
    "963852",
    "102030",
    "100200",
    "110110",
    "696969",
    "520520",
    "131313",
    "142536",
    "123654",
    "456123",
    "789456",
    "147369",
    "951753",
    "135790",
    "246810",
    "112358",
    "314159",
    "271828",
    "007007",
    "777777",
    "666666",
    "181818",
    "123456789",
    "1234567890",
    "1123581321",
    "8675309",
    "11223344",
    "12344321",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinRejection {
    NotDigits,
    Length { min: usize, max: usize },
    Mismatch,
    Run,
    Repeat,
    DateLike,
    PartOfPhone,
    Common,
}

impl fmt::Display for PinRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDigits => f.write_str("Your PIN is numbers only."),
            Self::Length { min, max } => write!(f, "Your PIN must be {min} to {max} digits long."),
            Self::Mismatch => f.write_str("The two PINs are not the same."),
            Self::Run => {
                f.write_str("Digits in a row, like 123456 or 987654, are too easy to guess.")
            }
            Self::Repeat => {
                f.write_str("Repeated digits, like 111111 or 121212, are too easy to guess.")
            }
            Self::DateLike => f.write_str("A date or a year is too easy to guess."),
            Self::PartOfPhone => f.write_str("Your PIN may not be part of your phone number."),
            Self::Common => {
                f.write_str("That PIN is one of the most common. Choose a less obvious one.")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for PinPolicy {
    fn default() -> Self {
        Self {
            min_length: 6,
            max_length: 12,
        }
    }
}

impl PinPolicy {
    /// Checks a PIN typed at a PIN prompt: digits only, of an allowed length. Says nothing about
    /// strength; that is [`PinPolicy::check_new`].
    pub fn check_format(&self, pin: &str) -> Result<(), PinRejection> {
        if pin.is_empty() || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PinRejection::NotDigits);
        }
        if !(self.min_length..=self.max_length).contains(&pin.len()) {
            return Err(PinRejection::Length {
                min: self.min_length,
                max: self.max_length,
            });
        }
        Ok(())
    }

    /// Checks a new PIN and its confirmation against every rule. `phone` is the user's number,
    /// if any, in any format.
    pub fn check_new(
        &self,
        pin: &str,
        confirmation: &str,
        phone: Option<&str>,
    ) -> Result<(), PinRejection> {
        self.check_format(pin)?;
        if pin != confirmation {
            return Err(PinRejection::Mismatch);
        }
        let digits: Vec<u8> = pin.bytes().map(|b| b - b'0').collect();
        if is_run(&digits) {
            return Err(PinRejection::Run);
        }
        if is_repeat(&digits) {
            return Err(PinRejection::Repeat);
        }
        if is_date_like(pin) {
            return Err(PinRejection::DateLike);
        }
        if let Some(phone) = phone {
            let phone_digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            if phone_digits.contains(pin) {
                return Err(PinRejection::PartOfPhone);
            }
        }
        if COMMON_PINS.contains(&pin) {
            return Err(PinRejection::Common);
        }
        Ok(())
    }
}

/// Every digit one more (or one less) than the one before, wrapping 9 → 0: 123456, 987654,
/// 890123.
fn is_run(digits: &[u8]) -> bool {
    [1u8, 9].iter().any(|step| {
        digits
            .windows(2)
            .all(|pair| pair[1] == (pair[0] + step) % 10)
    })
}

/// A short unit repeated (111111, 121212, 123123) or each digit doubled (112233, 001122).
fn is_repeat(digits: &[u8]) -> bool {
    let periodic = (1..=digits.len() / 2).any(|unit| {
        digits.len().is_multiple_of(unit)
            && digits.chunks(unit).all(|chunk| chunk == &digits[..unit])
    });
    let doubled = digits.len().is_multiple_of(2) && digits.chunks(2).all(|pair| pair[0] == pair[1]);
    periodic || doubled
}

fn is_year(value: u32) -> bool {
    (1900..=2099).contains(&value)
}

fn is_month(value: u32) -> bool {
    (1..=12).contains(&value)
}

fn is_day(value: u32) -> bool {
    (1..=31).contains(&value)
}

/// A PIN that reads as a date or a year: DDMMYY, MMDDYY, YYMMDD, YYYYMM, MMYYYY, DDMMYYYY,
/// MMDDYYYY, YYYYMMDD, or a year at the start or end (199012, 122019).
fn is_date_like(pin: &str) -> bool {
    let part = |from: usize, to: usize| -> u32 {
        pin.get(from..to)
            .and_then(|s| s.parse().ok())
            .unwrap_or(u32::MAX)
    };
    match pin.len() {
        6 => {
            let (a, b, c) = (part(0, 2), part(2, 4), part(4, 6));
            (is_day(a) && is_month(b))
                || (is_month(a) && is_day(b))
                || (is_month(b) && is_day(c))
                || is_year(part(0, 4))
                || is_year(part(2, 6))
        }
        8 => {
            let (a, b) = (part(0, 2), part(2, 4));
            let (y_end, y_start) = (part(4, 8), part(0, 4));
            ((is_day(a) && is_month(b)) || (is_month(a) && is_day(b))) && is_year(y_end)
                || is_year(y_start) && is_month(part(4, 6)) && is_day(part(6, 8))
                || is_year(y_start) && is_year(y_end)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pin: &str) -> Result<(), PinRejection> {
        PinPolicy::default().check_new(pin, pin, Some("+44 7700 900123"))
    }

    #[test]
    fn accepts_an_unremarkable_pin() {
        for pin in ["482916", "5830417", "93746150", "739184625044"] {
            assert_eq!(check(pin), Ok(()), "{pin}");
        }
    }

    #[test]
    fn refuses_wrong_format() {
        assert_eq!(check("48291a"), Err(PinRejection::NotDigits));
        assert_eq!(check("hunter2hunter2"), Err(PinRejection::NotDigits));
        assert_eq!(check(""), Err(PinRejection::NotDigits));
        assert_eq!(
            check("٤٨٢٩١٦"),
            Err(PinRejection::NotDigits),
            "non-ASCII digits"
        );
        assert_eq!(
            check("48291"),
            Err(PinRejection::Length { min: 6, max: 12 })
        );
        assert_eq!(
            check("4829164829164"),
            Err(PinRejection::Length { min: 6, max: 12 })
        );
    }

    #[test]
    fn refuses_a_mismatched_confirmation() {
        let policy = PinPolicy::default();
        assert_eq!(
            policy.check_new("482916", "482917", None),
            Err(PinRejection::Mismatch)
        );
    }

    #[test]
    fn refuses_runs() {
        for pin in ["123456", "987654", "890123", "3210987", "012345678"] {
            assert_eq!(check(pin), Err(PinRejection::Run), "{pin}");
        }
    }

    #[test]
    fn refuses_repeats() {
        for pin in ["111111", "121212", "123123", "112233", "00000000", "827827"] {
            assert_eq!(check(pin), Err(PinRejection::Repeat), "{pin}");
        }
    }

    #[test]
    fn refuses_dates_and_years() {
        for pin in [
            "250390", "031290", "900325", "199012", "071985", "25031990", "19900325", "19852024",
        ] {
            assert_eq!(check(pin), Err(PinRejection::DateLike), "{pin}");
        }
    }

    #[test]
    fn refuses_part_of_the_phone_number() {
        assert_eq!(check("770090"), Err(PinRejection::PartOfPhone));
        assert_eq!(
            PinPolicy::default().check_new("770090", "770090", None),
            Ok(())
        );
    }

    #[test]
    fn refuses_common_pins() {
        assert_eq!(check("159753"), Err(PinRejection::Common));
        assert_eq!(check("147258"), Err(PinRejection::Common));
    }
}
