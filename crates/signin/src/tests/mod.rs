//! The machine against the sign-in rules: named cases for each finding, then a property test
//! that drives random sequences of events, hostile ones included, through a model of the
//! world (accounts, the browser's session, the clock) and checks every effect against what
//! really happened in that sign-in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

mod factors;
mod findings;
mod ops;
mod prompts;
mod property;
mod reset;

const NOW: UnixTime = 1_000_000;

fn account(user_id: &str) -> Account {
    Account {
        user_id: user_id.to_owned(),
        epoch: 0,
        has_pin: true,
        can_recover: true,
        disabled: false,
        factors: Factors::default(),
    }
}

fn session(user_id: &str, sid: &str, auth_time: UnixTime) -> LiveSession {
    LiveSession {
        sid: sid.to_owned(),
        user_id: user_id.to_owned(),
        auth_time,
        level: Some(Level::PasswordPin),
        epoch: 0,
    }
}

fn email() -> Destination {
    Destination {
        channel: Channel::Email,
        recipient: "a@example.com".to_owned(),
        confirms_email: false,
    }
}

fn ctx<'a>(
    policy: &'a Policy,
    session: Option<&'a LiveSession>,
    account: Option<&'a Account>,
) -> Context<'a> {
    Context {
        now: NOW,
        policy,
        session,
        account,
    }
}

fn pin_verified() -> Event {
    Event::PinVerified {
        trusted_device: true,
        code_to: email(),
    }
}
