//! The protocol's parts that still reach into the application state: the grants, the tokens
//! they issue, consent, back-channel logout and the interaction that carries a request through
//! sign-in. The checks that need no more than a store and a clock are in `idp-oauth`.

pub mod authorization_code;
pub mod backchannel_logout;
pub mod consent;
pub mod interaction;
pub mod refresh_token;
pub mod single_use;
pub mod tokens;

// `interaction` names the checked request through here.
pub use idp_oauth::authorization_request;
