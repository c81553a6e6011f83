//! The protocol's parts that still reach into the application state: consent, back-channel
//! logout and the interaction that carries a request through sign-in, and the wiring of the
//! token endpoint's grants. The grants themselves, and the checks that need no more than a
//! store and a clock, are in `idp-oauth`.

pub mod backchannel_logout;
pub mod consent;
pub mod grants;
pub mod interaction;

// `interaction` names the checked request through here.
pub use idp_oauth::authorization_request;
