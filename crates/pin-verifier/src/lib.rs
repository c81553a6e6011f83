//! The PIN: the policy a new PIN must meet, hashing keyed by a server-side secret, and
//! verification that counts tries exactly, however many requests arrive at once.

pub mod policy;
pub mod verifier;

pub use policy::{PinPolicy, PinRejection};
pub use verifier::{PinOutcome, PinVerifier, PinVerifierError};
