//! The harness, one file per concern: the provider process and its command line
//! (`process`), the databases it runs on (`backends`), a browser (`browser`) with its cookie
//! jar (`cookies`) reading pages (`html`), and a relying party (`relying_party`). The mail
//! and text-message sinks are in `crate::sinks`.

#![allow(dead_code)]

mod backends;
mod browser;
mod cookies;
mod html;
mod process;
mod relying_party;

pub use backends::{SharedBackend, on_postgres, random_suffix};
pub use browser::{Browser, concurrent_wrong_pins, sign_up, wrong_pin_counted};
pub use html::Page;
pub use process::{TestIdp, idp_binary, idp_command};
pub use relying_party::{
    AuthStart, PORTAL_REDIRECT, RelyingParty, TaxPortal, client_token, param, userinfo_status,
};

pub const PASSWORD: &str = "correct horse battery staple";
/// The purpose named in new-device code messages.
pub const DEVICE_CODE: &str = "sign in on a new device";
pub const PIN: &str = "482916";
