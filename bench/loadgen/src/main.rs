//! Drives an OpenID Connect provider through one benchmark scenario for a fixed time and
//! prints one JSON line: requests, rate, latency percentiles and answers by status.
//!
//! The same program loads our provider and the peer, so both are measured alike. Scenarios:
//! `discovery`, `jwks`, `client-credentials`, `dpop-client-credentials` (the same with a fresh
//! DPoP proof each time), `introspect`, `userinfo` (a signed-in person's access token at
//! UserInfo), `refresh`, `code` (a signed-in browser's authorization request and its code
//! exchange), `sign-in` (authorize, password, PIN where asked, code, token, in a fresh
//! browser each time) and `mix` (a sign-in asking for a refresh token, then the capacity
//! model's token traffic with the tokens it got: refreshes, introspections). `--rate` turns a
//! scenario into an open loop: new iterations start at that rate whether or not earlier ones
//! finished (a flood), up to `--concurrency` at once. The balancer in front of several nodes
//! (`bench/cluster`) is the crate's second binary, `balancer`.

mod args;
mod browser;
mod client;
mod dpop;
mod load;
mod report;
mod scenarios;

use clap::Parser;

/// Why an iteration (or the run) failed, as it is counted and shown.
type Failure = String;

/// The allocator the provider runs with, so that the Argon2id bound is measured alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = args::Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("loadgen: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let report = if args.scenario == "argon2" {
        runtime.block_on(scenarios::argon2(args.seconds))
    } else {
        runtime.block_on(load::run(args))
    };
    match report {
        Ok(report) => {
            println!("{report}");
            std::process::ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("loadgen: {why}");
            std::process::ExitCode::FAILURE
        }
    }
}
