//! The pages people meet: sign-up, sign-in (password, PIN, a new device's code, a second
//! factor, consent), PIN recovery, a forgotten password's reset and sign-out. The session and trusted browser they leave behind are
//! `crate::session` and `crate::trusted_device`.

pub(crate) mod consent;
pub mod device;
pub(crate) mod login;
pub(crate) mod logout;
pub mod recovery;
pub(crate) mod reset;
pub(crate) mod second_factor;
pub(crate) mod signup;
pub(crate) mod steps;
