//! Authentication context classes (`acr`), authentication methods (`amr`, RFC 8176), and the
//! second factors that reach the levels above password and PIN.

use serde::{Deserialize, Serialize};

/// A level a relying party can ask for; higher levels satisfy requests for lower ones.
///
/// NIST SP 800-63B-4 counts a numeric PIN as a memorized secret, so password and PIN are one
/// factor used twice (AAL1); the two `Aal2` levels add a possession factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Password and PIN.
    PasswordPin,
    /// Password and PIN on a verified device: a browser the person already trusted, or one
    /// that just passed the new-device code.
    PasswordPinDevice,
    /// Password, PIN and a possession factor: an authenticator app, a passkey, a saved
    /// recovery code, or (where the operator allows it) a code texted to a confirmed phone.
    Aal2,
    /// Password, PIN and a passkey (WebAuthn with user verification).
    Aal2PhishingResistant,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Self; 4] = [
        Self::PasswordPin,
        Self::PasswordPinDevice,
        Self::Aal2,
        Self::Aal2PhishingResistant,
    ];

    pub const fn acr(self) -> &'static str {
        match self {
            Self::PasswordPin => "urn:idp:acr:password-pin",
            Self::PasswordPinDevice => "urn:idp:acr:password-pin-device",
            Self::Aal2 => "urn:idp:acr:aal2",
            Self::Aal2PhishingResistant => "urn:idp:acr:aal2-phishing-resistant",
        }
    }

    pub fn from_acr(acr: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.acr() == acr)
    }

    /// Whether reaching this level takes a second factor after the PIN.
    pub fn needs_second_factor(self) -> bool {
        self >= Self::Aal2
    }
}

/// An authentication method reference (RFC 8176 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Pwd,
    Pin,
    /// A one-time code: sent by e-mail or text, from an authenticator app, or a saved code.
    Otp,
    /// The one-time code came by text message.
    Sms,
    /// A key held in hardware: a passkey that never leaves its device.
    Hwk,
    /// A key held in software: a passkey synced between devices.
    Swk,
    /// More than one kind of factor (a memorized secret and a possession factor).
    Mfa,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pwd => "pwd",
            Self::Pin => "pin",
            Self::Otp => "otp",
            Self::Sms => "sms",
            Self::Hwk => "hwk",
            Self::Swk => "swk",
            Self::Mfa => "mfa",
        }
    }
}

/// The `amr` claim's values.
pub fn amr(methods: &[Method]) -> Vec<String> {
    methods.iter().map(|m| m.as_str().to_owned()).collect()
}

/// A second factor the handler verified (or bound) after the PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "factor", rename_all = "snake_case")]
pub enum SecondFactor {
    /// A code from an authenticator app (TOTP).
    App,
    /// A passkey; `synced` when it may be copied between devices (its backup-eligible flag).
    Passkey { synced: bool },
    /// One of the person's saved recovery codes: it stands in for a lost factor.
    SavedCode,
    /// A code texted to the person's confirmed phone; counts only where the operator allows.
    TextedCode,
}

impl SecondFactor {
    /// The level a sign-in reaches with this factor after password and PIN.
    pub fn level(self) -> Level {
        match self {
            Self::Passkey { .. } => Level::Aal2PhishingResistant,
            Self::App | Self::SavedCode | Self::TextedCode => Level::Aal2,
        }
    }

    fn methods(self) -> &'static [Method] {
        match self {
            Self::App | Self::SavedCode => &[Method::Otp],
            Self::TextedCode => &[Method::Otp, Method::Sms],
            Self::Passkey { synced: false } => &[Method::Hwk],
            Self::Passkey { synced: true } => &[Method::Swk],
        }
    }

    /// `methods` with this factor's, and `mfa`, each once.
    pub(crate) fn add_to(self, mut methods: Vec<Method>) -> Vec<Method> {
        for method in self.methods().iter().chain(&[Method::Mfa]) {
            if !methods.contains(method) {
                methods.push(*method);
            }
        }
        methods
    }
}
