//! The sign-in as one state machine: the one place that decides what a sign-in has proven.
//!
//! A sign-in is a [`SignIn`] whose variants hold only what that step has proven. Handlers load
//! the stored state, check that it still stands ([`resume`]), report what the person just did
//! as an [`Event`], and [`advance`] answers with the next state and the [`Effect`]s to carry
//! out (open a session, send a code, issue an authorization code). Nothing else may issue a
//! code: an [`Authorization`] is made only here.
//!
//! The rules it keeps (the product contract's "Sign-in rules that every path keeps"):
//! - a code goes out only after this sign-in saw the right password and the right PIN of its
//!   person, or the browser's live session came from such a sign-in and the request's
//!   `prompt`, `max_age` and `acr_values` allow reusing it (a step-up re-asks the PIN);
//! - recovering a PIN and choosing a new one need the password in this very sign-in;
//! - resetting a forgotten password needs a code sent to a confirmed contact and then the
//!   PIN, in this very sign-in;
//! - a level above password and PIN (`aal2`, `aal2-phishing-resistant`) needs, after the PIN,
//!   a second factor of the person that reaches it; a person with none may add one only on a
//!   browser trusted before or verified in this sign-in, and a request whose essential `acr`
//!   is not reached ends in `unmet_authentication_requirements`;
//! - `amr` names what was done at `auth_time`: a step-up that asked only the PIN says `pin`,
//!   never `pwd`;
//! - a sign-in in progress ends when its person's credentials change elsewhere (their
//!   credential epoch moves on) or the session it continues ends.

mod facts;
mod levels;
mod outcomes;
mod states;

use outcomes::{after_pin, device_verified, issue, proven, reaches, with_code, without_factor};

pub use facts::{Account, Context, Factors, LiveSession, Policy};
pub use levels::{Level, Method, SecondFactor, amr};
pub use states::{
    Authorization, Basis, Destination, Device, Effect, Event, Proof, Refusal, SignIn, Step, Subject,
};

use idp_core::clock::UnixTime;
use idp_core::model::Channel;

/// Whether a live session answers the request without asking anything: not under
/// `prompt=login`, only a session of the person an `id_token_hint` names, only at the level
/// the request requires, and under `max_age` only with an authentication at most that old.
pub fn session_answers(policy: &Policy, session: &LiveSession, now: UnixTime) -> bool {
    if policy.force_login || !hint_allows(policy, session) {
        return false;
    }
    if let Some(required) = policy.level
        && session.level.is_none_or(|have| have < required)
    {
        return false;
    }
    policy
        .max_age
        .is_none_or(|max_age| now - session.auth_time <= max_age)
}

/// Whether [`begin`] reads the session's person (`ctx.account`): only to judge a step-up of a
/// session that does not answer the request by itself, which `prompt=none`, `prompt=login`
/// and a hint naming someone else rule out. Otherwise `begin` answers the same without them,
/// and the person need not be looked up.
pub fn begin_needs_account(policy: &Policy, session: &LiveSession, now: UnixTime) -> bool {
    !session_answers(policy, session, now) && !policy.no_prompt && may_step_up(policy, session)
}

/// Whether the request lets a live session be stepped up (with its person's PIN) rather
/// than signed in to again.
fn may_step_up(policy: &Policy, session: &LiveSession) -> bool {
    !policy.force_login && hint_allows(policy, session)
}

/// Whether the request's `id_token_hint`, if any, names the session's person.
fn hint_allows(policy: &Policy, session: &LiveSession) -> bool {
    policy
        .hinted_user
        .as_deref()
        .is_none_or(|hinted| hinted == session.user_id)
}

fn live(session: Option<&LiveSession>, sid: &str, user_id: &str) -> bool {
    session.is_some_and(|s| s.sid == sid && s.user_id == user_id)
}

/// Whether a live session agrees with its person, when the person was looked up: enabled,
/// with the credentials the session was opened under. Unlooked-up, a session stands for its
/// person by itself: credential changes and disabling end sessions.
fn session_stands(session: &LiveSession, account: Option<&Account>) -> bool {
    account.is_none_or(|a| a.user_id == session.user_id && !a.disabled && a.epoch == session.epoch)
}

/// How a sign-in starts at the authorization endpoint: from the browser's session when it
/// answers the request, as a step-up of it when it does not (and it is of the person a hint
/// names), else at the password.
/// `ctx.account` is the session's person, needed for a step-up only.
pub fn begin(ctx: Context<'_>) -> Result<SignIn, Refusal> {
    let policy = ctx.policy;
    let session = ctx.session.filter(|s| session_stands(s, ctx.account));
    if let Some(session) = session
        && session_answers(policy, session, ctx.now)
    {
        return Ok(SignIn::SignedIn {
            user_id: session.user_id.clone(),
            sid: session.sid.clone(),
        });
    }
    if policy.no_prompt {
        return Err(Refusal::LoginRequired);
    }
    if let (Some(session), Some(account)) = (session, ctx.account)
        && may_step_up(policy, session)
        && account.has_pin
    {
        return Ok(SignIn::AwaitingPin {
            user: Subject {
                user_id: account.user_id.clone(),
                epoch: account.epoch,
            },
            basis: Basis::Session {
                sid: session.sid.clone(),
            },
        });
    }
    Ok(SignIn::AwaitingPassword { recover: false })
}

/// Whether a stored sign-in still stands: its person exists, is enabled and has the
/// credentials the password was given for; a step that continues a session still has it.
pub fn resume(state: &SignIn, ctx: Context<'_>) -> Result<(), Refusal> {
    let subject_stands = |user: &Subject| {
        ctx.account
            .is_some_and(|a| a.user_id == user.user_id && !a.disabled && a.epoch == user.epoch)
    };
    let basis_stands = |basis: &Basis, user_id: &str| match basis {
        Basis::Password { .. } => true,
        Basis::Session { sid } => live(ctx.session, sid, user_id),
    };
    let stands = match state {
        SignIn::AwaitingPassword { .. } => true,
        SignIn::AwaitingPin { user, basis } => {
            subject_stands(user)
                && ctx.account.is_some_and(|a| a.has_pin)
                && basis_stands(basis, &user.user_id)
        }
        SignIn::AwaitingDeviceCode { user, basis, .. }
        | SignIn::AwaitingSecondFactor { user, basis, .. } => {
            subject_stands(user) && basis_stands(basis, &user.user_id)
        }
        SignIn::Recovering { user, .. } | SignIn::ChoosingPassword { user, .. } => {
            subject_stands(user)
        }
        SignIn::ResettingPassword { user, .. } => user.as_ref().is_none_or(subject_stands),
        SignIn::ResetAwaitingPin { user, .. } => {
            subject_stands(user) && ctx.account.is_some_and(|a| a.has_pin)
        }
        SignIn::ChoosingPin {
            user,
            recovered_by,
            by_saved_code,
            ..
        } => {
            // Without a recovery, only an account without a PIN, and without a contact to
            // recover by, chooses one.
            subject_stands(user)
                && (recovered_by.is_some()
                    || *by_saved_code
                    || ctx.account.is_some_and(|a| !a.has_pin && !a.can_recover))
        }
        SignIn::Proven { user, .. } => subject_stands(user),
        SignIn::SignedIn { user_id, sid } | SignIn::AwaitingConsent { user_id, sid } => {
            live(ctx.session, sid, user_id)
                && ctx.session.is_some_and(|s| session_stands(s, ctx.account))
        }
        SignIn::Done => false,
    };
    if stands { Ok(()) } else { Err(Refusal::Void) }
}

/// The one function that moves a sign-in on: checks that `state` still stands, then applies
/// `event` under the request's policy.
pub fn advance(state: &SignIn, event: Event, ctx: Context<'_>) -> Result<Step, Refusal> {
    resume(state, ctx)?;
    let now = ctx.now;
    match (state, event) {
        // A password starts over from it, whoever was signing in before: proofs never carry
        // over from one person to another, nor from one password to the next.
        (
            SignIn::AwaitingPassword { .. }
            | SignIn::AwaitingPin { .. }
            | SignIn::Recovering { .. }
            | SignIn::ChoosingPin { .. }
            | SignIn::AwaitingDeviceCode { .. }
            | SignIn::AwaitingSecondFactor { .. }
            | SignIn::ResettingPassword { .. }
            | SignIn::ResetAwaitingPin { .. }
            | SignIn::ChoosingPassword { .. },
            Event::PasswordVerified { account },
        ) => {
            if account.disabled {
                return Err(Refusal::Disabled);
            }
            let recover = matches!(state, SignIn::AwaitingPassword { recover: true });
            let user = Subject {
                user_id: account.user_id,
                epoch: account.epoch,
            };
            Ok(Step::to(if !account.has_pin && !account.can_recover {
                // Unlocked, and no confirmed contact to prove identity again with: the new
                // PIN is chosen after the password, and the new-device check follows.
                SignIn::ChoosingPin {
                    user,
                    password_at: now,
                    recovered_by: None,
                    by_saved_code: false,
                }
            } else if recover || !account.has_pin {
                // A PIN unlocked by support is chosen only after a code sent to a confirmed
                // contact, as in recovery: the password alone (perhaps the very one that
                // locked the PIN) never chooses it.
                SignIn::Recovering {
                    user,
                    password_at: now,
                    channel: None,
                }
            } else {
                SignIn::AwaitingPin {
                    user,
                    basis: Basis::Password { at: now },
                }
            }))
        }
        (
            SignIn::AwaitingPin { user, basis },
            Event::PinVerified {
                trusted_device,
                code_to,
            },
        ) => {
            let methods = match basis {
                Basis::Password { .. } => vec![Method::Pwd, Method::Pin],
                // A step-up asked only the PIN: it claims no password (RFC 8176, SPEC).
                Basis::Session { .. } => vec![Method::Pin],
            };
            Ok(after_pin(
                user,
                basis,
                methods,
                trusted_device,
                code_to,
                ctx,
            ))
        }
        // A reset starts over from the username, as a password does: nothing proven before
        // carries over.
        (
            SignIn::AwaitingPassword { .. } | SignIn::ResettingPassword { .. },
            Event::ForgotPassword { account },
        ) => {
            let user = account.filter(|a| !a.disabled).map(|a| Subject {
                user_id: a.user_id,
                epoch: a.epoch,
            });
            Ok(Step::to(SignIn::ResettingPassword {
                user,
                channel: None,
            }))
        }
        (SignIn::ResettingPassword { user, .. }, Event::RecoveryCodeSent { channel }) => {
            Ok(Step::to(SignIn::ResettingPassword {
                user: user.clone(),
                channel: Some(channel),
            }))
        }
        (
            SignIn::ResettingPassword {
                user: Some(user),
                channel: Some(_),
            },
            Event::RecoveryVerified { channel },
        ) => Ok(Step::to(SignIn::ResetAwaitingPin {
            user: user.clone(),
            recovered_by: channel,
        })),
        (SignIn::ResetAwaitingPin { user, recovered_by }, Event::PinVerified { .. }) => {
            Ok(Step::to(SignIn::ChoosingPassword {
                user: user.clone(),
                recovered_by: *recovered_by,
            }))
        }
        (SignIn::ChoosingPassword { user, recovered_by }, Event::NewPasswordChosen { epoch }) => {
            // The code went to a confirmed contact in this sign-in, and the PIN followed: the
            // browser becomes trusted, as after a PIN recovery; the new password is known.
            let user = Subject {
                user_id: user.user_id.clone(),
                epoch,
            };
            let methods = with_code(vec![Method::Pwd, Method::Pin], *recovered_by);
            let basis = Basis::Password { at: now };
            Ok(device_verified(user, basis, methods, ctx))
        }
        (SignIn::AwaitingPin { user, basis }, Event::ForgotPin) => Ok(Step::to(match basis {
            Basis::Password { at } => SignIn::Recovering {
                user: user.clone(),
                password_at: *at,
                channel: None,
            },
            // A session never stands in for the password when a PIN is recovered.
            Basis::Session { .. } => SignIn::AwaitingPassword { recover: true },
        })),
        (
            SignIn::AwaitingPin {
                user,
                basis: Basis::Password { at },
            },
            Event::RecoveryCodeSent { channel },
        )
        | (
            SignIn::Recovering {
                user,
                password_at: at,
                ..
            },
            Event::RecoveryCodeSent { channel },
        ) => Ok(Step::to(SignIn::Recovering {
            user: user.clone(),
            password_at: *at,
            channel: Some(channel),
        })),
        (
            SignIn::Recovering {
                user,
                password_at,
                channel: Some(_),
            },
            Event::RecoveryVerified { channel },
        ) => Ok(Step::to(SignIn::ChoosingPin {
            user: user.clone(),
            password_at: *password_at,
            recovered_by: Some(channel),
            by_saved_code: false,
        })),
        // A saved recovery code stands in for a code sent to a contact, after the password in
        // this sign-in as always.
        (
            SignIn::AwaitingPin {
                user,
                basis: Basis::Password { at: password_at },
            }
            | SignIn::Recovering {
                user, password_at, ..
            },
            Event::SecondFactorVerified {
                factor: SecondFactor::SavedCode,
            },
        ) => {
            let has = ctx.account.is_some_and(|a| a.factors.saved_codes);
            if !has {
                return Err(Refusal::OutOfStep);
            }
            Ok(Step::to(SignIn::ChoosingPin {
                user: user.clone(),
                password_at: *password_at,
                recovered_by: None,
                by_saved_code: true,
            }))
        }
        (
            SignIn::ChoosingPin {
                user,
                recovered_by,
                password_at,
                by_saved_code,
            },
            Event::NewPinChosen {
                epoch,
                trusted_device,
                code_to,
            },
        ) => {
            let basis = Basis::Password { at: *password_at };
            let user = Subject {
                user_id: user.user_id.clone(),
                epoch,
            };
            Ok(match recovered_by {
                // The recovery code went to a confirmed contact: it was this sign-in's
                // one-time code, and the browser becomes trusted.
                Some(channel) => {
                    let methods = with_code(vec![Method::Pwd, Method::Pin], *channel);
                    device_verified(user, basis, methods, ctx)
                }
                // A saved code is something the person has, as a code sent to them is.
                None if *by_saved_code => {
                    let methods = vec![Method::Pwd, Method::Pin, Method::Otp];
                    device_verified(user, basis, methods, ctx)
                }
                None => after_pin(
                    &user,
                    &basis,
                    vec![Method::Pwd, Method::Pin],
                    trusted_device,
                    code_to,
                    ctx,
                ),
            })
        }
        (
            SignIn::AwaitingDeviceCode {
                user,
                basis,
                methods,
                to,
                second_factor,
            },
            Event::DeviceCodeVerified,
        ) => {
            let methods = with_code(methods.clone(), to.channel);
            Ok(if *second_factor {
                device_verified(user.clone(), basis.clone(), methods, ctx)
            } else {
                proven(user.clone(), now, Level::PasswordPinDevice, methods, true)
            })
        }
        // An app's code or a passkey stands in for the new-device code.
        (
            SignIn::AwaitingDeviceCode { user, methods, .. },
            Event::SecondFactorVerified {
                factor: factor @ (SecondFactor::App | SecondFactor::Passkey { .. }),
            },
        ) => {
            let has = ctx
                .account
                .is_some_and(|a| a.factors.has(factor, ctx.policy.texted_codes_count));
            if !(has && reaches(factor, ctx.policy)) {
                return Err(Refusal::OutOfStep);
            }
            let methods = factor.add_to(methods.clone());
            Ok(proven(user.clone(), now, factor.level(), methods, true))
        }
        (
            SignIn::AwaitingSecondFactor {
                user,
                methods,
                device,
                texted,
                ..
            },
            Event::SecondFactorVerified { factor },
        ) => {
            let texted_ok = factor != SecondFactor::TextedCode || texted.is_some();
            let has = ctx
                .account
                .is_some_and(|a| a.factors.has(factor, ctx.policy.texted_codes_count));
            if !(has && texted_ok && reaches(factor, ctx.policy)) {
                return Err(Refusal::OutOfStep);
            }
            // A second factor verifies the browser too.
            let trust = *device != Device::Trusted;
            let methods = factor.add_to(methods.clone());
            Ok(proven(user.clone(), now, factor.level(), methods, trust))
        }
        (
            SignIn::AwaitingSecondFactor {
                user,
                basis,
                methods,
                device,
                ..
            },
            Event::TextCodeAsked { to },
        ) => {
            let can_text = ctx.policy.texted_codes_count
                && ctx.account.is_some_and(|a| a.factors.phone)
                && to.channel == Channel::Sms
                && !to.confirms_email
                && reaches(SecondFactor::TextedCode, ctx.policy);
            if !can_text {
                return Err(Refusal::OutOfStep);
            }
            let state = SignIn::AwaitingSecondFactor {
                user: user.clone(),
                basis: basis.clone(),
                methods: methods.clone(),
                device: *device,
                texted: Some(to.clone()),
            };
            Ok(Step::with(state, vec![Effect::SendDeviceCode(to)]))
        }
        (
            SignIn::AwaitingSecondFactor {
                user,
                methods,
                device,
                ..
            },
            Event::FactorAdded { factor },
        ) => {
            // Only on a browser known to be the person's, only a factor one binds (not a
            // saved code or a text), and only for a person with no second factor at all: one
            // who has any proves it first (on the account page, at `aal2`), so that a stolen
            // password and PIN never bind an attacker's factor over the person's.
            let had = ctx
                .account
                .is_none_or(|a| a.factors.any(ctx.policy.texted_codes_count));
            let binds = matches!(factor, SecondFactor::App | SecondFactor::Passkey { .. });
            if *device == Device::Unknown || had || !binds || !reaches(factor, ctx.policy) {
                return Err(Refusal::OutOfStep);
            }
            let trust = *device == Device::Verified;
            let methods = factor.add_to(methods.clone());
            Ok(proven(user.clone(), now, factor.level(), methods, trust))
        }
        (
            SignIn::AwaitingSecondFactor {
                user,
                basis,
                methods,
                device,
                ..
            },
            Event::SecondFactorDeclined { code_to },
        ) => {
            if ctx.policy.level_essential {
                return Err(Refusal::UnmetAuthenticationRequirements);
            }
            // A voluntary level not reached: the sign-in ends at the best it can, and the
            // `acr` says which; an unknown browser still gets its code.
            Ok(match device {
                Device::Trusted | Device::Verified => {
                    let trust = *device == Device::Verified;
                    let methods = methods.clone();
                    proven(user.clone(), now, Level::PasswordPinDevice, methods, trust)
                }
                Device::Unknown => {
                    without_factor(user, basis, methods.clone(), false, code_to, ctx)
                }
            })
        }
        (SignIn::Proven { user, .. }, Event::SessionOpened { sid }) => {
            Ok(Step::to(SignIn::SignedIn {
                user_id: user.user_id.clone(),
                sid,
            }))
        }
        (SignIn::AwaitingPassword { .. }, Event::SignedUp { user_id, sid }) => {
            Ok(Step::to(SignIn::SignedIn { user_id, sid }))
        }
        (SignIn::SignedIn { user_id, sid }, Event::ConsentChecked { needed }) => {
            if !needed && !ctx.policy.force_consent {
                return Ok(issue(user_id, sid));
            }
            if ctx.policy.no_prompt {
                return Err(Refusal::ConsentRequired);
            }
            Ok(Step::to(SignIn::AwaitingConsent {
                user_id: user_id.clone(),
                sid: sid.clone(),
            }))
        }
        (SignIn::AwaitingConsent { user_id, sid }, Event::ConsentGiven) => Ok(issue(user_id, sid)),
        (SignIn::AwaitingConsent { .. }, Event::ConsentRefused) => {
            Ok(Step::with(SignIn::Done, vec![Effect::Deny]))
        }
        // Going back from any page the person is asked something on: the relying party
        // hears `access_denied`, and nothing proven so far counts.
        (
            SignIn::AwaitingPassword { .. }
            | SignIn::AwaitingPin { .. }
            | SignIn::Recovering { .. }
            | SignIn::ChoosingPin { .. }
            | SignIn::AwaitingDeviceCode { .. }
            | SignIn::AwaitingSecondFactor { .. }
            | SignIn::ResettingPassword { .. }
            | SignIn::ResetAwaitingPin { .. }
            | SignIn::ChoosingPassword { .. }
            | SignIn::AwaitingConsent { .. },
            Event::Cancelled,
        ) => Ok(Step::with(SignIn::Done, vec![Effect::Deny])),
        _ => Err(Refusal::OutOfStep),
    }
}

#[cfg(test)]
mod tests;
