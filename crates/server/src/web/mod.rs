//! What pages share: templates, cookies and CSRF protection.

pub mod client_info;
pub mod client_logo;
pub mod code_entry;
pub mod cookies;
pub mod csrf;
pub mod extract;
pub mod passkey;
pub mod request_id;
pub mod sign_in;
pub mod templates;
