//! The pure logic of the second factors: time-based one-time passwords from an authenticator
//! app (RFC 6238), saved recovery codes (NIST SP 800-63B §5.1.2, look-up secrets) and passkeys
//! (WebAuthn). Storage and pages live elsewhere; nothing here reads the clock or touches a
//! database.

pub mod passkey;
pub mod saved_codes;
pub mod totp;
