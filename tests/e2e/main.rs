//! End-to-end tests: each starts the real `idp` binary on a free port with a fresh SQLite
//! database, creates clients and users through the CLI, and drives the pages as a browser and
//! the protocol with the `openidconnect` crate as the relying party.

// The real server runs on the wall clock, so these tests read it too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod fault_proxy;
#[path = "../common/page.rs"]
mod page;
mod sinks;
#[path = "../common/small_disk.rs"]
mod small_disk;
mod support;

mod admin;
mod audit;
mod audit_spool;
mod claims;
mod cli;
mod cluster;
mod code_flow;
mod config;
mod consent;
mod cookies;
mod crash;
mod faults;
mod hostile;
mod hybrid;
mod keys;
mod levels;
mod lifecycle;
mod limits;
mod logout;
mod mtls;
mod operations;
mod outage;
mod pin_life;
mod registration;
mod request_objects;
mod signup;
mod tax_portal;
mod tls_links;
