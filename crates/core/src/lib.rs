//! Domain types shared by every crate: the OAuth error vocabulary, the clock, the storage
//! traits each backend implements, the bounded Argon2id hasher, the sign-up policies and the
//! languages there are messages for.
//!
//! Which error type to use where: storage code returns [`StoreError`]; protocol checks return
//! [`OAuthError`], which the server renders in exactly one place; policy checks return their own
//! rejection enums whose `Display` is the sentence shown to the user.

pub mod clock;
pub mod error;
pub mod hashing;
pub mod locale;
pub mod model;
pub mod password_policy;
pub mod random;
pub mod security_questions;
pub mod store;
pub mod validate;

pub use clock::{Clock, SystemClock};
pub use error::{ErrorCode, OAuthError, StoreError};
