//! What the property tests draw: the events and moves of the world, and the policies and
//! factors a sign-in runs under.

use proptest::prelude::*;

use super::*;

/// One thing that can happen during a sign-in: an event a handler reports, or something the
/// world does meanwhile (another tab, another device, support, an attacker's browser).
#[derive(Debug, Clone)]
pub(super) enum Op {
    Password(usize),
    Pin {
        trusted: bool,
    },
    ForgotPin,
    /// "Forgot password?" for a person, or for a username nobody has.
    ForgotPassword(Option<usize>),
    NewPasswordChosen,
    RecoveryCodeSent {
        sms: bool,
    },
    RecoveryVerified {
        sms: bool,
    },
    NewPinChosen {
        trusted: bool,
    },
    DeviceCode,
    /// A second factor's code or assertion, right for whatever the person has (the machine
    /// must refuse one they do not have).
    SecondFactor(SecondFactor),
    /// A new factor bound at the second-factor step.
    AddFactor(SecondFactor),
    DeclineFactor,
    TextCode,
    /// The person binds (or loses) factors elsewhere meanwhile.
    SetFactors(usize, Factors),
    /// A session id the sign-in did not open (a replayed or forged step).
    BogusSessionOpened,
    SignedUp(usize),
    ConsentChecked {
        needed: bool,
    },
    ConsentGiven,
    ConsentRefused,
    Cancel,
    SignOut,
    /// The browser now carries another live session of this person (a hostile cookie).
    SwapSession {
        user: usize,
        age: i64,
    },
    /// The person's password or PIN changed elsewhere: their other sessions end.
    CredentialsChanged(usize),
    Unlock(usize),
    Disable(usize),
    Tick(i64),
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    // The steps that change what a sign-in has proven come often, so that long chains of
    // them (a recovery from a step-up, an unlock then a new PIN) are tried in every order;
    // the world's moves (sign-outs, changes elsewhere) come between them.
    prop_oneof![
        3 => (0..2usize).prop_map(Op::Password),
        3 => any::<bool>().prop_map(|trusted| Op::Pin { trusted }),
        3 => Just(Op::ForgotPin),
        3 => proptest::option::weighted(0.8, 0..2usize).prop_map(Op::ForgotPassword),
        3 => Just(Op::NewPasswordChosen),
        3 => any::<bool>().prop_map(|sms| Op::RecoveryCodeSent { sms }),
        3 => any::<bool>().prop_map(|sms| Op::RecoveryVerified { sms }),
        3 => any::<bool>().prop_map(|trusted| Op::NewPinChosen { trusted }),
        3 => Just(Op::DeviceCode),
        3 => second_factor().prop_map(Op::SecondFactor),
        2 => second_factor().prop_map(Op::AddFactor),
        2 => Just(Op::DeclineFactor),
        1 => Just(Op::TextCode),
        1 => (0..2usize, factors()).prop_map(|(user, f)| Op::SetFactors(user, f)),
        1 => Just(Op::BogusSessionOpened),
        1 => (0..2usize).prop_map(Op::SignedUp),
        3 => any::<bool>().prop_map(|needed| Op::ConsentChecked { needed }),
        2 => Just(Op::ConsentGiven),
        1 => Just(Op::ConsentRefused),
        1 => Just(Op::Cancel),
        1 => Just(Op::SignOut),
        1 => (0..2usize, 0..2000i64).prop_map(|(user, age)| Op::SwapSession { user, age }),
        1 => (0..2usize).prop_map(Op::CredentialsChanged),
        1 => (0..2usize).prop_map(Op::Unlock),
        1 => (0..2usize).prop_map(Op::Disable),
        1 => (0..700i64).prop_map(Op::Tick),
    ]
}

/// `op`, with the steps of a password reset most often, so that whole resets (a username,
/// a code sent and verified, the PIN, a new password) are tried among everything else.
pub(super) fn reset_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::option::weighted(0.8, 0..2usize).prop_map(Op::ForgotPassword),
        4 => any::<bool>().prop_map(|sms| Op::RecoveryCodeSent { sms }),
        4 => any::<bool>().prop_map(|sms| Op::RecoveryVerified { sms }),
        4 => any::<bool>().prop_map(|trusted| Op::Pin { trusted }),
        4 => Just(Op::NewPasswordChosen),
        3 => op(),
    ]
}

/// `op`, with the steps of a sign-in at a level above password and PIN most often.
pub(super) fn factor_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize).prop_map(Op::Password),
        3 => any::<bool>().prop_map(|trusted| Op::Pin { trusted }),
        4 => second_factor().prop_map(Op::SecondFactor),
        3 => second_factor().prop_map(Op::AddFactor),
        2 => Just(Op::DeclineFactor),
        2 => Just(Op::TextCode),
        2 => Just(Op::DeviceCode),
        2 => (0..2usize, factors()).prop_map(|(user, f)| Op::SetFactors(user, f)),
        3 => op(),
    ]
}

pub(super) fn second_factor() -> impl Strategy<Value = SecondFactor> {
    prop_oneof![
        Just(SecondFactor::App),
        any::<bool>().prop_map(|synced| SecondFactor::Passkey { synced }),
        Just(SecondFactor::SavedCode),
        Just(SecondFactor::TextedCode),
    ]
}

pub(super) fn factors() -> impl Strategy<Value = Factors> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(app, passkey, saved_codes, phone)| Factors {
            app,
            passkey,
            saved_codes,
            phone,
        },
    )
}

pub(super) fn level() -> impl Strategy<Value = Level> {
    proptest::sample::select(Level::ALL.to_vec())
}

pub(super) fn policy() -> impl Strategy<Value = Policy> {
    (
        (any::<bool>(), any::<bool>(), any::<bool>()),
        // A hint naming either person, or someone with no session here.
        prop_oneof![
            Just(None),
            Just(Some("alice")),
            Just(Some("bob")),
            Just(Some("carol"))
        ],
        prop_oneof![Just(None), Just(Some(0)), Just(Some(300))],
        proptest::option::of(level()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (force_login, no_prompt, force_consent),
                hinted_user,
                max_age,
                level,
                (new_device_check, level_essential, texted_codes_count),
            )| Policy {
                force_login,
                no_prompt,
                force_consent,
                hinted_user: hinted_user.map(str::to_owned),
                max_age,
                level,
                level_essential,
                new_device_check,
                texted_codes_count,
            },
        )
}
