//! One case for each finding of the security read the machine answers.

use super::*;

#[test]
fn a_session_never_stands_in_for_the_password_in_recovery() {
    // Finding 1a: max_age=0 with a live session is a step-up; "Forgot PIN?" there asks for
    // the password before any recovery code.
    let policy = Policy {
        max_age: Some(0),
        ..Policy::default()
    };
    let (alice, live) = (account("alice"), session("alice", "s1", NOW - 60));
    let c = ctx(&policy, Some(&live), Some(&alice));
    let state = begin(c).unwrap();
    assert!(matches!(
        state,
        SignIn::AwaitingPin {
            basis: Basis::Session { .. },
            ..
        }
    ));
    let sent = Event::RecoveryCodeSent {
        channel: Channel::Email,
    };
    assert_eq!(advance(&state, sent, c), Err(Refusal::OutOfStep));
    let forgot = advance(&state, Event::ForgotPin, c).unwrap();
    assert_eq!(forgot.state, SignIn::AwaitingPassword { recover: true });
    let after_password = advance(
        &forgot.state,
        Event::PasswordVerified {
            account: alice.clone(),
        },
        ctx(&policy, Some(&live), None),
    )
    .unwrap();
    assert!(matches!(
        after_password.state,
        SignIn::Recovering { channel: None, .. }
    ));
}

#[test]
fn a_consent_step_reaches_no_pin_or_recovery_and_dies_with_its_session() {
    // Finding 1b.
    let policy = Policy::default();
    let (alice, live) = (account("alice"), session("alice", "s1", NOW - 60));
    let c = ctx(&policy, Some(&live), Some(&alice));
    let state = begin(c).unwrap();
    let consent = advance(&state, Event::ConsentChecked { needed: true }, c).unwrap();
    assert!(matches!(consent.state, SignIn::AwaitingConsent { .. }));
    for event in [
        pin_verified(),
        Event::ForgotPin,
        Event::RecoveryVerified {
            channel: Channel::Email,
        },
        Event::RecoveryCodeSent {
            channel: Channel::Email,
        },
    ] {
        assert_eq!(
            advance(&consent.state, event, c),
            Err(Refusal::OutOfStep),
            "consent leads nowhere but to the code"
        );
    }
    let signed_out = ctx(&policy, None, Some(&alice));
    assert_eq!(resume(&consent.state, signed_out), Err(Refusal::Void));
    assert_eq!(
        advance(&consent.state, Event::ConsentGiven, signed_out),
        Err(Refusal::Void)
    );
}

#[test]
fn an_unlocked_pin_is_chosen_only_after_the_password() {
    // Finding 1c: after support's unlock, a step-up of an old session does not lead to
    // "choose a new PIN"; the password comes first.
    let policy = Policy {
        max_age: Some(0),
        ..Policy::default()
    };
    let live = session("alice", "s1", NOW - 60);
    let unlocked = Account {
        has_pin: false,
        epoch: 1,
        ..account("alice")
    };
    let state = begin(ctx(&policy, Some(&live), Some(&unlocked))).unwrap();
    assert_eq!(state, SignIn::AwaitingPassword { recover: false });
    // After the password, a code to a confirmed contact before the new PIN (F4: the password
    // alone, perhaps the one that locked the PIN, never chooses it) ...
    let password = Event::PasswordVerified {
        account: unlocked.clone(),
    };
    let next = advance(&state, password, ctx(&policy, None, None)).unwrap();
    assert!(matches!(
        next.state,
        SignIn::Recovering { channel: None, .. }
    ));
    // ... unless there is no confirmed contact: then the PIN, and the device check after.
    let without = Account {
        can_recover: false,
        ..unlocked.clone()
    };
    let password = Event::PasswordVerified { account: without };
    let next = advance(&state, password, ctx(&policy, None, None)).unwrap();
    assert!(matches!(
        next.state,
        SignIn::ChoosingPin {
            recovered_by: None,
            ..
        }
    ));
    // A step-up begun before the unlock no longer stands.
    let before = begin(ctx(&policy, Some(&live), Some(&account("alice")))).unwrap();
    assert_eq!(
        resume(&before, ctx(&policy, Some(&live), Some(&unlocked))),
        Err(Refusal::Void)
    );
    let chosen = Event::NewPinChosen {
        epoch: 2,
        trusted_device: true,
        code_to: email(),
    };
    assert_eq!(
        advance(
            &before,
            chosen,
            ctx(&policy, Some(&live), Some(&account("alice")))
        ),
        Err(Refusal::OutOfStep)
    );
}

#[test]
fn a_pin_only_step_up_claims_no_password() {
    // Finding 3.
    let policy = Policy {
        max_age: Some(0),
        ..Policy::default()
    };
    let (alice, live) = (account("alice"), session("alice", "s1", NOW - 600));
    let c = ctx(&policy, Some(&live), Some(&alice));
    let state = begin(c).unwrap();
    let step = advance(&state, pin_verified(), c).unwrap();
    let Some(Effect::OpenSession(proof)) = step.effects.first() else {
        panic!("{step:?}");
    };
    assert_eq!(proof.methods, vec![Method::Pin]);
    assert_eq!(proof.auth_time, NOW);
}

#[test]
fn consent_follows_a_fresh_sign_in_under_prompt_login_and_max_age_zero() {
    // Finding 6: the consent step is bound to the session the sign-in opened, not to whether
    // that session would answer the request again.
    for policy in [
        Policy {
            force_login: true,
            ..Policy::default()
        },
        Policy {
            max_age: Some(0),
            ..Policy::default()
        },
    ] {
        let alice = account("alice");
        let fresh = session("alice", "s2", NOW - 5);
        let c = ctx(&policy, Some(&fresh), Some(&alice));
        let state = SignIn::SignedIn {
            user_id: "alice".into(),
            sid: "s2".into(),
        };
        let asked = advance(&state, Event::ConsentChecked { needed: true }, c).unwrap();
        let given = advance(&asked.state, Event::ConsentGiven, c).unwrap();
        assert!(matches!(given.effects[..], [Effect::IssueCode(_)]));
    }
}

#[test]
fn stored_states_read_back_as_written() {
    let state = SignIn::AwaitingDeviceCode {
        user: Subject {
            user_id: "alice".into(),
            epoch: 3,
        },
        basis: Basis::Session { sid: "s1".into() },
        methods: vec![Method::Pin],
        to: email(),
        second_factor: true,
    };
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(json["step"], "awaiting_device_code");
    assert_eq!(serde_json::from_value::<SignIn>(json).unwrap(), state);
}
