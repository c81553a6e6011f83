//! The pages people meet: sign-up, sign-in (password, PIN, a new device's code, consent),
//! recovery and sign-out, and the session and trusted browser they leave behind.

pub(crate) mod codes;
pub(crate) mod consent;
pub mod device;
pub(crate) mod login;
pub(crate) mod logout;
pub mod recovery;
pub(crate) mod session;
pub(crate) mod signup;
pub(crate) mod steps;
pub(crate) mod trusted_device;
