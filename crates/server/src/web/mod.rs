//! What pages share: templates, cookies and CSRF protection.

pub mod cookies;
pub mod csrf;
pub mod templates;
