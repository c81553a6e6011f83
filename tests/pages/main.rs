//! Handler tests: the sign-in pages in-process (the real router, SQLite in a temporary
//! directory, a manual clock), step by step. End-to-end tests (`tests/e2e`) stay for what
//! needs a real process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/log.rs"]
mod log;
#[path = "../common/page.rs"]
mod page;
#[path = "../common/small_disk.rs"]
mod small_disk;
mod support;

mod account;
mod account_factors;
mod admin;
mod authorize;
mod brand;
mod cancel;
mod claims;
mod conformance;
mod consent;
mod console;
mod dpop;
mod dpop_par;
mod expired;
mod fapi;
mod fapi_plan;
mod fapi_plan_bound;
mod fapi_plan_rest;
mod fapi_plan_tokens;
mod faults;
mod front;
mod jwks_uri;
mod language;
mod limits;
mod login;
mod mtls;
mod mtls_bound;
mod pairwise;
mod par;
mod passkeys;
mod pin_life;
mod prompts;
mod registration;
mod registration_links;
mod request_objects;
mod reset;
mod responses;
mod second_factor;
mod signup;
mod step_up;
mod token;
mod trust;
