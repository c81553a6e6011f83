//! The protocol's parts that still reach into the application state: consent, back-channel
//! logout, calls to the URLs clients registered, and the wiring of the token endpoint's
//! grants. The grants themselves, the interaction that carries a request through sign-in, and
//! the checks that need no more than a store and a clock, are in `idp-oauth`.

pub mod backchannel_logout;
pub mod client_keys;
pub mod consent;
pub mod dpop;
pub mod grants;
pub mod id_token_hint;
pub mod mtls;
pub mod outbound;
pub mod request_objects;
pub mod sector;

pub use idp_oauth::{authorization_request, interaction};
