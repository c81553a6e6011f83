//! Random sequences of events, hostile ones included, through a model of the world (accounts,
//! the browser's session, the clock); every effect is checked against what really happened.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::ops::*;
use super::*;

const USERS: [&str; 2] = ["alice", "bob"];

/// The world the sign-in runs in.
struct World {
    now: UnixTime,
    accounts: Vec<Account>,
    browser: Option<LiveSession>,
    next_sid: u32,
}

impl World {
    fn account(&self, user_id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.user_id == user_id)
    }

    fn account_mut(&mut self, user: usize) -> &mut Account {
        &mut self.accounts[user]
    }

    fn new_session(&mut self, user_id: &str, auth_time: UnixTime, level: Level) -> LiveSession {
        self.next_sid += 1;
        LiveSession {
            sid: format!("s{}", self.next_sid),
            user_id: user_id.to_owned(),
            auth_time,
            level: Some(level),
            // Opened under the person's credentials as they are now.
            epoch: self.account(user_id).map_or(0, |a| a.epoch),
        }
    }

    /// Every session of the person ends (credentials changed elsewhere, unlock, disabling).
    fn end_sessions_of(&mut self, user_id: &str) {
        if self.browser.as_ref().is_some_and(|s| s.user_id == user_id) {
            self.browser = None;
        }
    }
}

/// What really happened in this sign-in, kept beside the machine and never read from it.
#[derive(Default, Debug)]
struct Ghost {
    /// The person whose right password was given in this sign-in (and still counts).
    password_for: Option<String>,
    /// The person whose right PIN was given (or chosen) after that password or in a step-up.
    pin_for: Option<String>,
    /// The person recovery re-proved after that password.
    recovered_for: Option<String>,
    /// The person whose new-device code was right.
    code_for: Option<String>,
    /// Whether the browser was trusted, as the last PIN step reported.
    trusted: Option<bool>,
    /// The person's second factor that was right, as they had it then.
    factor_for: Option<(String, SecondFactor)>,
    /// A factor bound in this sign-in, by a person who had none that reached the level, on
    /// a browser trusted or verified in this sign-in.
    added_for: Option<(String, SecondFactor)>,
    /// The person a second-factor code was texted to (where texted codes count).
    texted_for: Option<String>,
    /// The person said they could give no second factor.
    declined: bool,
    /// The session this sign-in is a step-up of.
    step_up_of: Option<String>,
    /// A session that answered the request when the sign-in began.
    reused: Option<String>,
    /// Sessions this sign-in opened.
    opened: BTreeSet<String>,
    /// The person allowed the client on the consent page in this sign-in.
    consented: bool,
    codes: usize,
}

impl Ghost {
    fn forget_proofs_of(&mut self, user_id: &str) {
        for slot in [
            &mut self.password_for,
            &mut self.pin_for,
            &mut self.recovered_for,
            &mut self.code_for,
            &mut self.texted_for,
        ] {
            if slot.as_deref() == Some(user_id) {
                *slot = None;
            }
        }
        for slot in [&mut self.factor_for, &mut self.added_for] {
            if slot.as_ref().is_some_and(|(u, _)| u == user_id) {
                *slot = None;
            }
        }
    }
}

fn destination(sms: bool) -> Destination {
    Destination {
        channel: if sms { Channel::Sms } else { Channel::Email },
        recipient: "x".to_owned(),
        confirms_email: false,
    }
}

/// Runs one sign-in and checks every rule at every step.
fn run(
    policy: &Policy,
    start: Option<(usize, i64, Level)>,
    factors: [Factors; 2],
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let mut world = World {
        now: NOW,
        // Alice has a confirmed contact to recover by; Bob has none.
        accounts: USERS
            .iter()
            .zip(factors)
            .map(|(u, factors)| Account {
                can_recover: *u == "alice",
                factors,
                ..account(u)
            })
            .collect(),
        browser: None,
        next_sid: 0,
    };
    if let Some((user, age, level)) = start {
        world.browser = Some(world.new_session(USERS[user], NOW - age, level));
    }
    let mut ghost = Ghost::default();
    // As the handler does: the person is looked up only when the session does not answer the
    // request by itself and could be stepped up.
    let starting_account = world
        .browser
        .as_ref()
        .filter(|s| begin_needs_account(policy, s, world.now))
        .and_then(|s| world.account(&s.user_id))
        .cloned();
    let begun = begin(Context {
        now: world.now,
        policy,
        session: world.browser.as_ref(),
        account: starting_account.as_ref(),
    });
    let mut state = match begun {
        Ok(state) => state,
        Err(Refusal::LoginRequired) => {
            prop_assert!(policy.no_prompt);
            return Ok(());
        }
        Err(other) => return Err(TestCaseError::fail(format!("begin: {other:?}"))),
    };
    match &state {
        SignIn::SignedIn { sid, .. } => {
            let live = world.browser.as_ref().unwrap();
            prop_assert!(session_answers(policy, live, world.now));
            // No session of another person ever answers a hinted request.
            prop_assert!(
                policy
                    .hinted_user
                    .as_ref()
                    .is_none_or(|hinted| *hinted == live.user_id),
                "another person's session answered an id_token_hint"
            );
            ghost.reused = Some(sid.clone());
        }
        SignIn::AwaitingPin {
            basis: Basis::Session { sid },
            user,
        } => {
            prop_assert!(!policy.force_login);
            // Nor is it stepped up.
            prop_assert!(
                policy
                    .hinted_user
                    .as_ref()
                    .is_none_or(|hinted| *hinted == user.user_id),
                "another person's session was stepped up for an id_token_hint"
            );
            ghost.step_up_of = Some(sid.clone());
        }
        SignIn::AwaitingPassword { .. } => {}
        other => return Err(TestCaseError::fail(format!("began at {other:?}"))),
    }

    for op in ops {
        let event = match op {
            Op::SignOut => {
                world.browser = None;
                continue;
            }
            Op::SwapSession { user, age } => {
                let s = world.new_session(USERS[*user], world.now - age, Level::PasswordPinDevice);
                world.browser = Some(s);
                continue;
            }
            Op::CredentialsChanged(user) => {
                let a = world.account_mut(*user);
                a.epoch += 1;
                world.end_sessions_of(USERS[*user]);
                ghost.forget_proofs_of(USERS[*user]);
                continue;
            }
            Op::Unlock(user) => {
                let a = world.account_mut(*user);
                a.epoch += 1;
                a.has_pin = false;
                world.end_sessions_of(USERS[*user]);
                ghost.forget_proofs_of(USERS[*user]);
                continue;
            }
            Op::Disable(user) => {
                let a = world.account_mut(*user);
                a.epoch += 1;
                a.disabled = true;
                world.end_sessions_of(USERS[*user]);
                ghost.forget_proofs_of(USERS[*user]);
                continue;
            }
            Op::Tick(seconds) => {
                world.now += seconds;
                continue;
            }
            Op::SetFactors(user, factors) => {
                world.account_mut(*user).factors = *factors;
                continue;
            }
            Op::SecondFactor(factor) => Event::SecondFactorVerified { factor: *factor },
            Op::AddFactor(factor) => Event::FactorAdded { factor: *factor },
            Op::DeclineFactor => Event::SecondFactorDeclined {
                code_to: destination(false),
            },
            Op::TextCode => Event::TextCodeAsked {
                to: destination(true),
            },
            Op::Password(user) => Event::PasswordVerified {
                account: world.accounts[*user].clone(),
            },
            Op::Pin { trusted } => Event::PinVerified {
                trusted_device: *trusted,
                code_to: destination(false),
            },
            Op::ForgotPin => Event::ForgotPin,
            Op::ForgotPassword(user) => Event::ForgotPassword {
                account: user.map(|u| world.accounts[u].clone()),
            },
            Op::NewPasswordChosen => Event::NewPasswordChosen {
                epoch: state
                    .user_id()
                    .and_then(|u| world.account(u))
                    .map_or(0, |a| a.epoch + 1),
            },
            Op::RecoveryCodeSent { sms } => Event::RecoveryCodeSent {
                channel: destination(*sms).channel,
            },
            Op::RecoveryVerified { sms } => Event::RecoveryVerified {
                channel: destination(*sms).channel,
            },
            Op::NewPinChosen { trusted } => Event::NewPinChosen {
                epoch: state
                    .user_id()
                    .and_then(|u| world.account(u))
                    .map_or(0, |a| a.epoch + 1),
                trusted_device: *trusted,
                code_to: destination(false),
            },
            Op::DeviceCode => Event::DeviceCodeVerified,
            Op::BogusSessionOpened => Event::SessionOpened {
                sid: "forged".to_owned(),
            },
            Op::SignedUp(user) => {
                // Only the sign-up handler reports this, after it made the account and its
                // session with the password and PIN just chosen.
                if !matches!(state, SignIn::AwaitingPassword { .. }) {
                    continue;
                }
                let s = world.new_session(USERS[*user], world.now, Level::PasswordPinDevice);
                world.browser = Some(s.clone());
                ghost.opened.insert(s.sid.clone());
                ghost.password_for = Some(USERS[*user].to_owned());
                ghost.pin_for = Some(USERS[*user].to_owned());
                Event::SignedUp {
                    user_id: USERS[*user].to_owned(),
                    sid: s.sid,
                }
            }
            Op::ConsentChecked { needed } => Event::ConsentChecked { needed: *needed },
            Op::ConsentGiven => Event::ConsentGiven,
            Op::ConsentRefused => Event::ConsentRefused,
            Op::Cancel => Event::Cancelled,
        };
        let about = match &event {
            Event::PasswordVerified { account } => Some(account.user_id.clone()),
            _ => state.user_id().map(str::to_owned),
        };
        let account = state.user_id().and_then(|u| world.account(u)).cloned();
        let context = Context {
            now: world.now,
            policy,
            session: world.browser.as_ref(),
            account: account.as_ref(),
        };
        let Ok(step) = advance(&state, event.clone(), context) else {
            continue;
        };
        // The event stood: record what it proved, then check its effects.
        match &event {
            Event::PasswordVerified { account } => {
                prop_assert!(!account.disabled);
                ghost = Ghost {
                    password_for: Some(account.user_id.clone()),
                    reused: ghost.reused.take(),
                    opened: std::mem::take(&mut ghost.opened),
                    codes: ghost.codes,
                    ..Ghost::default()
                };
            }
            Event::PinVerified { trusted_device, .. } => {
                ghost.trusted = Some(*trusted_device);
                let user = about.clone().unwrap();
                prop_assert!(world.account(&user).unwrap().has_pin);
                ghost.pin_for = Some(user);
            }
            Event::ForgotPassword { account } => {
                // Nothing proven carries over into a reset, and nobody's reset gets anywhere.
                ghost = Ghost {
                    reused: ghost.reused.take(),
                    opened: std::mem::take(&mut ghost.opened),
                    codes: ghost.codes,
                    ..Ghost::default()
                };
                let resets = account.as_ref().filter(|a| !a.disabled);
                prop_assert_eq!(step.state.user_id(), resets.map(|a| a.user_id.as_str()));
            }
            Event::RecoveryVerified { .. } => ghost.recovered_for = about.clone(),
            Event::NewPasswordChosen { .. } => {
                // A new password only after a code to a confirmed contact and then the PIN,
                // in this sign-in.
                let user = about.clone().unwrap();
                prop_assert_eq!(ghost.recovered_for.as_deref(), Some(user.as_str()));
                prop_assert_eq!(ghost.pin_for.as_deref(), Some(user.as_str()));
                // The password changed: every session of the person ends.
                let i = USERS.iter().position(|u| *u == user).unwrap();
                world.account_mut(i).epoch += 1;
                world.end_sessions_of(&user);
                ghost.password_for = Some(user);
            }
            Event::NewPinChosen { trusted_device, .. } => {
                ghost.trusted = Some(*trusted_device);
                let user = about.clone().unwrap();
                // A new PIN only after the password in this sign-in plus a recovery proof
                // (or, without a PIN at all, after the password).
                prop_assert_eq!(ghost.password_for.as_deref(), Some(user.as_str()));
                let before = world.account(&user).unwrap();
                prop_assert!(
                    ghost.recovered_for.as_deref() == Some(user.as_str())
                        || (!before.has_pin && !before.can_recover),
                    "new PIN without recovery: {:?}",
                    ghost
                );
                let i = USERS.iter().position(|u| *u == user).unwrap();
                let a = world.account_mut(i);
                a.has_pin = true;
                a.epoch += 1;
                ghost.pin_for = Some(user);
            }
            Event::DeviceCodeVerified => ghost.code_for = about.clone(),
            Event::SecondFactorVerified { factor } => {
                let user = about.clone().unwrap();
                let had = world.account(&user).unwrap().factors;
                let texted = *factor != SecondFactor::TextedCode
                    || ghost.texted_for.as_deref() == Some(user.as_str());
                if had.has(*factor, policy.texted_codes_count) && texted {
                    // In PIN recovery, a saved code proves the person again.
                    if matches!(
                        state,
                        SignIn::Recovering { .. } | SignIn::AwaitingPin { .. }
                    ) {
                        ghost.recovered_for = Some(user.clone());
                    } else {
                        ghost.factor_for = Some((user, *factor));
                    }
                }
            }
            Event::TextCodeAsked { .. } => {
                let user = about.clone().unwrap();
                prop_assert!(policy.texted_codes_count);
                prop_assert!(world.account(&user).unwrap().factors.phone);
                ghost.texted_for = Some(user);
            }
            Event::FactorAdded { factor } => {
                let user = about.clone().unwrap();
                let verified = ghost.trusted == Some(true)
                    || ghost.code_for.as_deref() == Some(user.as_str())
                    || ghost.recovered_for.as_deref() == Some(user.as_str());
                let i = USERS.iter().position(|u| *u == user).unwrap();
                let a = world.account_mut(i);
                // Any factor at all: one who has one proves it before binding another.
                let had = a.factors.any(policy.texted_codes_count);
                if verified && !had {
                    ghost.added_for = Some((user, *factor));
                }
                match factor {
                    SecondFactor::App => a.factors.app = true,
                    SecondFactor::Passkey { .. } => a.factors.passkey = true,
                    _ => {}
                }
            }
            Event::SecondFactorDeclined { .. } => ghost.declined = true,
            Event::ConsentGiven => ghost.consented = true,
            _ => {}
        }
        state = step.state.clone();
        for effect in &step.effects {
            match effect {
                Effect::OpenSession(proof) => {
                    check_proof(proof, &world, &ghost)?;
                    // A browser not trusted passes the new-device check where the operator
                    // or the request asks for it; the device level means a trusted browser
                    // or that check.
                    let coded = proof.methods.contains(&Method::Otp);
                    let device_asked =
                        policy.new_device_check || policy.level >= Some(Level::PasswordPinDevice);
                    if device_asked && ghost.trusted != Some(true) {
                        prop_assert!(
                            coded || by_factor(proof, &ghost),
                            "no device check: {proof:?} {ghost:?}"
                        );
                    }
                    if proof.level >= Level::PasswordPinDevice {
                        prop_assert!(
                            ghost.trusted == Some(true) || coded || by_factor(proof, &ghost),
                            "{proof:?}"
                        );
                    }
                    if let Some(required) = policy.level {
                        // Below the level asked for only where it was voluntary and the
                        // person gave no second factor.
                        let declined = ghost.declined && !policy.level_essential;
                        prop_assert!(
                            proof.level >= required
                                || declined && proof.level == Level::PasswordPinDevice,
                            "{proof:?} {policy:?} {ghost:?}"
                        );
                    }
                    check_factor(proof, policy, &ghost)?;
                    // The handler opens it and reports it at once.
                    let opened = world.new_session(&proof.user_id, proof.auth_time, proof.level);
                    world.browser = Some(opened.clone());
                    ghost.opened.insert(opened.sid.clone());
                    let account = world.account(&proof.user_id).cloned();
                    let next = advance(
                        &state,
                        Event::SessionOpened {
                            sid: opened.sid.clone(),
                        },
                        Context {
                            now: world.now,
                            policy,
                            session: world.browser.as_ref(),
                            account: account.as_ref(),
                        },
                    );
                    prop_assert!(next.is_ok(), "{next:?}");
                    state = next.unwrap().state;
                }
                Effect::IssueCode(authorization) => {
                    let live = world.browser.as_ref();
                    prop_assert!(
                        live.is_some_and(|s| s.sid == authorization.sid()
                            && s.user_id == authorization.user_id()),
                        "a code for a session the browser does not hold"
                    );
                    prop_assert!(
                        ghost.opened.contains(authorization.sid())
                            || ghost.reused.as_deref() == Some(authorization.sid()),
                        "a code for a session this sign-in neither opened nor found answering"
                    );
                    let account = world.account(authorization.user_id()).unwrap();
                    prop_assert!(!account.disabled);
                    // `prompt=consent`: no code without the consent page, whatever was
                    // allowed before.
                    prop_assert!(
                        !policy.force_consent || ghost.consented,
                        "prompt=consent and a code without asking"
                    );
                    ghost.codes += 1;
                    prop_assert!(ghost.codes == 1, "two codes from one sign-in");
                }
                Effect::TrustDevice => {
                    prop_assert!(
                        ghost.code_for.is_some()
                            || ghost.recovered_for.is_some()
                            || ghost.factor_for.is_some()
                    );
                }
                // A refusal ends the sign-in: nothing after it issues a code.
                Effect::Deny => {
                    prop_assert_eq!(&state, &SignIn::Done);
                    prop_assert_eq!(ghost.codes, 0, "denied after a code");
                }
                Effect::SendDeviceCode(_) => {}
            }
        }
    }
    Ok(())
}

/// An authentication's proof names only what this sign-in saw, dated now.
fn check_proof(proof: &Proof, world: &World, ghost: &Ghost) -> Result<(), TestCaseError> {
    let user = Some(proof.user_id.as_str());
    let account = world.account(&proof.user_id).unwrap();
    prop_assert!(!account.disabled);
    prop_assert_eq!(proof.auth_time, world.now);
    prop_assert!(proof.methods.contains(&Method::Pin), "{proof:?}");
    prop_assert_eq!(ghost.pin_for.as_deref(), user, "{:?} {:?}", proof, ghost);
    if proof.methods.contains(&Method::Pwd) {
        prop_assert_eq!(
            ghost.password_for.as_deref(),
            user,
            "{:?} {:?}",
            proof,
            ghost
        );
    } else {
        // A step-up of a session of this person that is still the browser's.
        let sid = ghost.step_up_of.as_deref();
        prop_assert!(sid.is_some(), "neither password nor session: {proof:?}");
        prop_assert!(
            world
                .browser
                .as_ref()
                .is_some_and(|s| Some(s.sid.as_str()) == sid && s.user_id == proof.user_id)
        );
    }
    if proof.methods.contains(&Method::Otp) {
        prop_assert!(
            ghost.code_for.as_deref() == user
                || ghost.recovered_for.as_deref() == user
                || by_factor(proof, ghost),
            "{proof:?} {ghost:?}"
        );
    }
    Ok(())
}

/// The factor this sign-in saw for the proof's person: one they had, or one they bound.
fn factor_seen(proof: &Proof, ghost: &Ghost) -> Option<SecondFactor> {
    [&ghost.factor_for, &ghost.added_for]
        .into_iter()
        .flatten()
        .find(|(u, _)| *u == proof.user_id)
        .map(|(_, f)| *f)
}

fn by_factor(proof: &Proof, ghost: &Ghost) -> bool {
    factor_seen(proof, ghost).is_some()
}

/// A level above password and PIN names the factor that reached it, and only such a factor.
fn check_factor(proof: &Proof, policy: &Policy, ghost: &Ghost) -> Result<(), TestCaseError> {
    let seen = factor_seen(proof, ghost);
    if proof.level.needs_second_factor() {
        let factor =
            seen.ok_or_else(|| TestCaseError::fail(format!("no factor: {proof:?} {ghost:?}")))?;
        prop_assert_eq!(factor.level(), proof.level);
        prop_assert!(proof.methods.contains(&Method::Mfa));
        if factor == SecondFactor::TextedCode {
            prop_assert!(policy.texted_codes_count && proof.methods.contains(&Method::Sms));
        }
    } else {
        prop_assert!(!proof.methods.contains(&Method::Mfa), "{proof:?}");
    }
    if proof.level == Level::Aal2PhishingResistant {
        let passkey = matches!(seen, Some(SecondFactor::Passkey { .. }));
        prop_assert!(passkey, "{:?}", proof);
        prop_assert!(
            proof
                .methods
                .iter()
                .any(|m| matches!(m, Method::Hwk | Method::Swk))
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6000, ..ProptestConfig::default() })]

    #[test]
    fn every_sign_in_keeps_the_rules(
        policy in policy(),
        start in proptest::option::of((0..2usize, 0..2000i64, level())),
        factors in [factors(), factors()],
        ops in proptest::collection::vec(op(), 0..40),
    ) {
        run(&policy, start, factors, &ops)?;
    }

    #[test]
    fn every_password_reset_keeps_the_rules(
        policy in policy(),
        start in proptest::option::of((0..2usize, 0..2000i64, level())),
        factors in [factors(), factors()],
        ops in proptest::collection::vec(reset_op(), 0..30),
    ) {
        run(&policy, start, factors, &ops)?;
    }

    #[test]
    fn every_second_factor_keeps_the_rules(
        policy in policy(),
        start in proptest::option::of((0..2usize, 0..2000i64, level())),
        factors in [factors(), factors()],
        ops in proptest::collection::vec(factor_op(), 0..30),
    ) {
        run(&policy, start, factors, &ops)?;
    }
}
