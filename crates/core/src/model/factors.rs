//! Second factors a person binds (an authenticator app, passkeys) beside password and PIN.

use crate::clock::UnixTime;

/// The kind of a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorKind {
    /// An authenticator app: time-based one-time codes (RFC 6238).
    App,
    /// A WebAuthn credential.
    Passkey,
}

impl FactorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Passkey => "passkey",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "app" => Some(Self::App),
            "passkey" => Some(Self::Passkey),
            _ => None,
        }
    }
}

/// A second factor bound to a person. Its `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Eq)]
pub struct Factor {
    /// Random public id (the caller makes it), shown to support.
    pub id: String,
    pub user_id: String,
    pub kind: FactorKind,
    /// The person's name for it ("Phone", "YubiKey").
    pub name: String,
    /// App: the TOTP secret, sealed by the caller (opaque bytes). Passkey: the credential as
    /// the WebAuthn library serialises it (opaque bytes).
    pub secret: Vec<u8>,
    /// Passkey: the credential id (base64url), unique across all people; App: `None`.
    pub credential_id: Option<String>,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    /// App: the last TOTP time step accepted (a replay guard), 0 when never used. Passkey:
    /// kept for the caller (the signature counter, say); the store does nothing else with it.
    pub last_step: i64,
}

impl std::fmt::Debug for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factor")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("secret", &"[redacted]")
            .field("credential_id", &self.credential_id)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .field("last_step", &self.last_step)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in [FactorKind::App, FactorKind::Passkey] {
            assert_eq!(FactorKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(FactorKind::parse("sms"), None);
    }

    #[test]
    fn debug_leaves_the_secret_out() {
        let factor = Factor {
            id: "f1".into(),
            user_id: "u1".into(),
            kind: FactorKind::App,
            name: "Phone".into(),
            secret: b"very secret".to_vec(),
            credential_id: None,
            created_at: 1000,
            last_used_at: None,
            last_step: 0,
        };
        let shown = format!("{factor:?}");
        assert!(shown.contains("Phone") && shown.contains("[redacted]"));
        assert!(!shown.contains("118, 101, 114, 121"), "{shown}");
    }
}
