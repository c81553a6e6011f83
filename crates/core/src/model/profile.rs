//! What a person says about themselves for the standard claims (OpenID Connect Core §5.1):
//! their names and postal address.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// The longest value of any one field.
pub const MAX_FIELD_CHARS: usize = 200;

/// A person's names and address; every field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Address::is_empty")]
    pub address: Address,
    /// When the person (or an operator) last changed any of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<UnixTime>,
}

/// A postal address, as the `address` claim carries it (OpenID Connect Core §5.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        self.parts().iter().all(|(_, value)| value.is_none())
    }

    /// The fields by their claim names, in the order they are written.
    pub fn parts(&self) -> [(&'static str, Option<&str>); 5] {
        [
            ("street_address", self.street_address.as_deref()),
            ("locality", self.locality.as_deref()),
            ("region", self.region.as_deref()),
            ("postal_code", self.postal_code.as_deref()),
            ("country", self.country.as_deref()),
        ]
    }

    /// The whole address for display (`formatted`): the street lines, then locality, region
    /// and postal code on one line, then the country.
    pub fn formatted(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let town: Vec<&str> = [
            self.locality.as_deref(),
            self.region.as_deref(),
            self.postal_code.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let town = (!town.is_empty()).then(|| town.join(" "));
        let lines: Vec<String> = [self.street_address.clone(), town, self.country.clone()]
            .into_iter()
            .flatten()
            .collect();
        Some(lines.join("\n"))
    }
}

impl Profile {
    /// Whether `other` holds the same names and address (when each was last changed aside).
    pub fn same_as(&self, other: &Profile) -> bool {
        Profile {
            updated_at: other.updated_at,
            ..self.clone()
        } == *other
    }

    /// The names by their claim names.
    pub fn names(&self) -> [(&'static str, Option<&str>); 3] {
        [
            ("name", self.name.as_deref()),
            ("given_name", self.given_name.as_deref()),
            ("family_name", self.family_name.as_deref()),
        ]
    }

    /// Each value trimmed, empty ones dropped; refused when one is too long or has control
    /// characters (other than the street address's line breaks).
    pub fn cleaned(self) -> Result<Self, ProfileError> {
        let clean = |field: &'static str, value: Option<String>, lines: bool| {
            let Some(value) = value else { return Ok(None) };
            let value = value.trim().replace("\r\n", "\n");
            if value.is_empty() {
                return Ok(None);
            }
            if value.chars().count() > MAX_FIELD_CHARS {
                return Err(ProfileError {
                    field,
                    too_long: true,
                });
            }
            if value
                .chars()
                .any(|c| c.is_control() && !(lines && c == '\n'))
            {
                return Err(ProfileError {
                    field,
                    too_long: false,
                });
            }
            Ok(Some(value))
        };
        let address = self.address;
        Ok(Self {
            name: clean("name", self.name, false)?,
            given_name: clean("given_name", self.given_name, false)?,
            family_name: clean("family_name", self.family_name, false)?,
            address: Address {
                street_address: clean("street_address", address.street_address, true)?,
                locality: clean("locality", address.locality, false)?,
                region: clean("region", address.region, false)?,
                postal_code: clean("postal_code", address.postal_code, false)?,
                country: clean("country", address.country, false)?,
            },
            updated_at: self.updated_at,
        })
    }
}

/// A field refused: too long, or with control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileError {
    /// Its claim name.
    pub field: &'static str,
    pub too_long: bool,
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.too_long {
            write!(
                f,
                "{} is longer than {MAX_FIELD_CHARS} characters",
                self.field
            )
        } else {
            write!(f, "{} has control characters", self.field)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_joins_the_lines() {
        let address = Address {
            street_address: Some("1 Main St\nApt 2".into()),
            locality: Some("Springfield".into()),
            region: Some("IL".into()),
            postal_code: Some("62701".into()),
            country: Some("US".into()),
        };
        assert_eq!(
            address.formatted().unwrap(),
            "1 Main St\nApt 2\nSpringfield IL 62701\nUS"
        );
        assert_eq!(Address::default().formatted(), None);
    }

    #[test]
    fn cleaning_trims_and_refuses_control_characters() {
        let profile = Profile {
            name: Some("  Ann  ".into()),
            given_name: Some("   ".into()),
            ..Profile::default()
        }
        .cleaned()
        .unwrap();
        assert_eq!(profile.name.as_deref(), Some("Ann"));
        assert_eq!(profile.given_name, None);
        let bad = Profile {
            family_name: Some("a\u{7}b".into()),
            ..Profile::default()
        };
        assert!(bad.cleaned().is_err());
        let long = Profile {
            name: Some("x".repeat(MAX_FIELD_CHARS + 1)),
            ..Profile::default()
        };
        assert!(long.cleaned().is_err());
    }
}
