//! "Forgot password?": a code to a confirmed contact, then the PIN, then a new password.

use super::*;

fn sent() -> Event {
    Event::RecoveryCodeSent {
        channel: Channel::Email,
    }
}

fn verified() -> Event {
    Event::RecoveryVerified {
        channel: Channel::Email,
    }
}

#[test]
fn a_reset_asks_a_code_then_the_pin_then_signs_in_with_the_new_password() {
    let policy = Policy::default();
    let alice = account("alice");
    let c = ctx(&policy, None, Some(&alice));
    let start = SignIn::AwaitingPassword { recover: false };
    let forgot = Event::ForgotPassword {
        account: Some(alice.clone()),
    };
    let mut state = advance(&start, forgot, ctx(&policy, None, None))
        .unwrap()
        .state;
    // No PIN before the code, and no new password before the PIN.
    for early in [pin_verified(), Event::NewPasswordChosen { epoch: 1 }] {
        assert_eq!(advance(&state, early, c), Err(Refusal::OutOfStep));
    }
    state = advance(&state, sent(), c).unwrap().state;
    state = advance(&state, verified(), c).unwrap().state;
    assert_eq!(
        advance(&state, Event::NewPasswordChosen { epoch: 1 }, c),
        Err(Refusal::OutOfStep)
    );
    state = advance(&state, pin_verified(), c).unwrap().state;
    let done = advance(&state, Event::NewPasswordChosen { epoch: 1 }, c).unwrap();
    let SignIn::Proven { proof, .. } = &done.state else {
        panic!("{:?}", done.state);
    };
    assert_eq!(
        proof.methods,
        vec![Method::Pwd, Method::Pin, Method::Otp],
        "{proof:?}"
    );
    assert_eq!(proof.credential_epoch, 1);
    assert!(done.effects.contains(&Effect::TrustDevice));
}

#[test]
fn a_reset_for_nobody_goes_on_alike_and_no_code_opens_it() {
    let policy = Policy::default();
    let c = ctx(&policy, None, None);
    let start = SignIn::AwaitingPassword { recover: false };
    let state = advance(&start, Event::ForgotPassword { account: None }, c)
        .unwrap()
        .state;
    assert_eq!(
        state,
        SignIn::ResettingPassword {
            user: None,
            channel: None
        }
    );
    let state = advance(&state, sent(), c).unwrap().state;
    assert!(matches!(
        state,
        SignIn::ResettingPassword {
            user: None,
            channel: Some(Channel::Email)
        }
    ));
    assert_eq!(advance(&state, verified(), c), Err(Refusal::OutOfStep));
    // A disabled account resets like nobody's.
    let disabled = Account {
        disabled: true,
        ..account("alice")
    };
    let forgot = Event::ForgotPassword {
        account: Some(disabled),
    };
    let state = advance(&start, forgot, c).unwrap().state;
    assert_eq!(state.user_id(), None);
}

#[test]
fn a_reset_needs_a_pin_to_verify_and_dies_with_a_credential_change() {
    let policy = Policy::default();
    let alice = account("alice");
    let c = ctx(&policy, None, Some(&alice));
    let state = SignIn::ResetAwaitingPin {
        user: Subject {
            user_id: "alice".to_owned(),
            epoch: 0,
        },
        recovered_by: Channel::Email,
    };
    // Unlocked by support meanwhile: no PIN to verify, and the reset is over.
    let unlocked = Account {
        has_pin: false,
        epoch: 1,
        ..alice.clone()
    };
    let gone = advance(&state, pin_verified(), ctx(&policy, None, Some(&unlocked)));
    assert_eq!(gone, Err(Refusal::Void));
    let choosing = advance(&state, pin_verified(), c).unwrap().state;
    let changed = Account { epoch: 1, ..alice };
    let chosen = Event::NewPasswordChosen { epoch: 2 };
    let after = advance(&choosing, chosen, ctx(&policy, None, Some(&changed)));
    assert_eq!(after, Err(Refusal::Void));
}

#[test]
fn a_step_up_or_a_sign_in_half_way_cannot_turn_into_a_reset() {
    let policy = Policy {
        max_age: Some(0),
        ..Policy::default()
    };
    let (alice, live) = (account("alice"), session("alice", "s1", NOW - 60));
    let c = ctx(&policy, Some(&live), Some(&alice));
    let step_up = begin(c).unwrap();
    let forgot = Event::ForgotPassword {
        account: Some(alice.clone()),
    };
    assert_eq!(advance(&step_up, forgot, c), Err(Refusal::OutOfStep));
}
