//! What pages share: templates, cookies and CSRF protection.

pub mod client_info;
pub mod cookies;
pub mod csrf;
pub mod request_id;
pub mod templates;
