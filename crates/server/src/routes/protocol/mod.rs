//! The protocol's endpoints, for relying parties and resource servers: authorization, pushed
//! requests, tokens, introspection, revocation, UserInfo, registration and discovery.

pub(crate) mod authorize;
pub mod client_request;
pub mod discovery;
pub(crate) mod introspect;
pub(crate) mod par;
pub(crate) mod registration;
pub(crate) mod revoke;
pub(crate) mod token;
pub(crate) mod userinfo;
