//! Authentication context classes (`acr`) and methods (`amr`, RFC 8176).

use serde::{Deserialize, Serialize};

/// A level a relying party can ask for; higher levels satisfy requests for lower ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Password and PIN.
    PasswordPin,
    /// Password and PIN on a verified device: a browser the person already trusted, or one
    /// that just passed the new-device code.
    PasswordPinDevice,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Self; 2] = [Self::PasswordPin, Self::PasswordPinDevice];

    pub fn acr(self) -> &'static str {
        match self {
            Self::PasswordPin => "urn:idp:acr:password-pin",
            Self::PasswordPinDevice => "urn:idp:acr:password-pin-device",
        }
    }

    pub fn from_acr(acr: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.acr() == acr)
    }
}

/// An authentication method reference (RFC 8176 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Pwd,
    Pin,
    /// A one-time code.
    Otp,
    /// The one-time code came by text message.
    Sms,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pwd => "pwd",
            Self::Pin => "pin",
            Self::Otp => "otp",
            Self::Sms => "sms",
        }
    }
}

/// The `amr` claim's values.
pub fn amr(methods: &[Method]) -> Vec<String> {
    methods.iter().map(|m| m.as_str().to_owned()).collect()
}
