//! Levels above password and PIN: a second factor after the PIN.

use super::*;

fn aal2(level: Level, essential: bool) -> Policy {
    Policy {
        level: Some(level),
        level_essential: essential,
        ..Policy::default()
    }
}

fn with(factors: Factors) -> Account {
    Account {
        factors,
        ..account("alice")
    }
}

fn app() -> Factors {
    Factors {
        app: true,
        ..Factors::default()
    }
}

fn after_password(policy: &Policy, alice: &Account) -> SignIn {
    let start = SignIn::AwaitingPassword { recover: false };
    let password = Event::PasswordVerified {
        account: alice.clone(),
    };
    advance(&start, password, ctx(policy, None, Some(alice)))
        .unwrap()
        .state
}

fn pin(trusted_device: bool) -> Event {
    Event::PinVerified {
        trusted_device,
        code_to: email(),
    }
}

fn proof(step: &Step) -> &Proof {
    match &step.state {
        SignIn::Proven { proof, .. } => proof,
        other => panic!("not proven: {other:?}"),
    }
}

#[test]
fn an_app_code_after_the_pin_reaches_aal2_and_verifies_the_browser() {
    let policy = aal2(Level::Aal2, false);
    let alice = with(app());
    let c = ctx(&policy, None, Some(&alice));
    let state = after_password(&policy, &alice);
    let state = advance(&state, pin(false), c).unwrap();
    assert!(
        state.effects.is_empty(),
        "no device code: the factor verifies the browser"
    );
    assert!(matches!(
        state.state,
        SignIn::AwaitingSecondFactor {
            device: Device::Unknown,
            ..
        }
    ));
    // Not a factor Alice lacks, and not a passkey she does not have.
    for missing in [
        SecondFactor::SavedCode,
        SecondFactor::Passkey { synced: true },
        SecondFactor::TextedCode,
    ] {
        let event = Event::SecondFactorVerified { factor: missing };
        assert_eq!(advance(&state.state, event, c), Err(Refusal::OutOfStep));
    }
    let event = Event::SecondFactorVerified {
        factor: SecondFactor::App,
    };
    let done = advance(&state.state, event, c).unwrap();
    let proof = proof(&done);
    assert_eq!(proof.level, Level::Aal2);
    assert_eq!(
        amr(&proof.methods),
        ["pwd", "pin", "otp", "mfa"],
        "{proof:?}"
    );
    assert!(done.effects.contains(&Effect::TrustDevice));
}

#[test]
fn the_phishing_resistant_level_takes_a_passkey_only() {
    let policy = aal2(Level::Aal2PhishingResistant, true);
    let alice = with(Factors {
        passkey: true,
        ..app()
    });
    let c = ctx(&policy, None, Some(&alice));
    let state = after_password(&policy, &alice);
    let state = advance(&state, pin(true), c).unwrap().state;
    let app = Event::SecondFactorVerified {
        factor: SecondFactor::App,
    };
    assert_eq!(advance(&state, app, c), Err(Refusal::OutOfStep));
    let passkey = Event::SecondFactorVerified {
        factor: SecondFactor::Passkey { synced: false },
    };
    let done = advance(&state, passkey, c).unwrap();
    assert_eq!(proof(&done).level, Level::Aal2PhishingResistant);
    assert_eq!(amr(&proof(&done).methods), ["pwd", "pin", "hwk", "mfa"]);
    assert!(
        !done.effects.contains(&Effect::TrustDevice),
        "already trusted"
    );
}

#[test]
fn a_person_with_no_factor_adds_one_only_on_a_browser_known_to_be_theirs() {
    let policy = aal2(Level::Aal2, true);
    let alice = account("alice");
    let c = ctx(&policy, None, Some(&alice));
    let state = after_password(&policy, &alice);
    // An unknown browser gets its code first.
    let step = advance(&state, pin(false), c).unwrap();
    assert_eq!(step.effects, vec![Effect::SendDeviceCode(email())]);
    let added = Event::FactorAdded {
        factor: SecondFactor::App,
    };
    assert_eq!(
        advance(&step.state, added.clone(), c),
        Err(Refusal::OutOfStep)
    );
    let state = advance(&step.state, Event::DeviceCodeVerified, c)
        .unwrap()
        .state;
    assert!(matches!(
        state,
        SignIn::AwaitingSecondFactor {
            device: Device::Verified,
            ..
        }
    ));
    // Saved codes and texts are not bound here.
    let saved = Event::FactorAdded {
        factor: SecondFactor::SavedCode,
    };
    assert_eq!(advance(&state, saved, c), Err(Refusal::OutOfStep));
    let done = advance(&state, added, c).unwrap();
    assert_eq!(proof(&done).level, Level::Aal2);
    assert_eq!(amr(&proof(&done).methods), ["pwd", "pin", "otp", "mfa"]);
    assert!(done.effects.contains(&Effect::TrustDevice));
}

#[test]
fn a_person_who_has_a_factor_cannot_bind_another_with_password_and_pin() {
    let policy = aal2(Level::Aal2, false);
    let alice = with(app());
    let c = ctx(&policy, None, Some(&alice));
    let state = after_password(&policy, &alice);
    let state = advance(&state, pin(true), c).unwrap().state;
    let added = Event::FactorAdded {
        factor: SecondFactor::App,
    };
    assert_eq!(advance(&state, added, c), Err(Refusal::OutOfStep));
}

#[test]
fn declining_ends_an_essential_request_and_lowers_a_voluntary_one() {
    let alice = with(app());
    let essential = aal2(Level::Aal2, true);
    let c = ctx(&essential, None, Some(&alice));
    let state = after_password(&essential, &alice);
    let state = advance(&state, pin(true), c).unwrap().state;
    let decline = Event::SecondFactorDeclined { code_to: email() };
    assert_eq!(
        advance(&state, decline.clone(), c),
        Err(Refusal::UnmetAuthenticationRequirements)
    );

    let voluntary = aal2(Level::Aal2, false);
    let c = ctx(&voluntary, None, Some(&alice));
    let state = after_password(&voluntary, &alice);
    let trusted = advance(&state, pin(true), c).unwrap().state;
    let done = advance(&trusted, decline.clone(), c).unwrap();
    assert_eq!(proof(&done).level, Level::PasswordPinDevice);
    assert_eq!(amr(&proof(&done).methods), ["pwd", "pin"]);
    // On an unknown browser, declining still leaves the new-device code to pass.
    let unknown = advance(&state, pin(false), c).unwrap().state;
    let step = advance(&unknown, decline, c).unwrap();
    assert_eq!(step.effects, vec![Effect::SendDeviceCode(email())]);
    let done = advance(&step.state, Event::DeviceCodeVerified, c).unwrap();
    assert_eq!(proof(&done).level, Level::PasswordPinDevice);
}

#[test]
fn a_texted_code_counts_only_where_the_operator_allows_it() {
    let alice = with(Factors {
        phone: true,
        ..Factors::default()
    });
    let phone = Destination {
        channel: Channel::Sms,
        recipient: "+447700900123".into(),
        confirms_email: false,
    };
    let texted = Event::SecondFactorVerified {
        factor: SecondFactor::TextedCode,
    };
    let mut policy = aal2(Level::Aal2, false);
    for allowed in [false, true] {
        policy.texted_codes_count = allowed;
        let c = ctx(&policy, None, Some(&alice));
        let state = after_password(&policy, &alice);
        let state = advance(&state, pin(true), c).unwrap().state;
        assert_eq!(advance(&state, texted.clone(), c), Err(Refusal::OutOfStep));
        let asked = advance(&state, Event::TextCodeAsked { to: phone.clone() }, c);
        if !allowed {
            assert_eq!(asked, Err(Refusal::OutOfStep));
            continue;
        }
        let asked = asked.unwrap();
        assert_eq!(asked.effects, vec![Effect::SendDeviceCode(phone.clone())]);
        let done = advance(&asked.state, texted.clone(), c).unwrap();
        assert_eq!(
            amr(&proof(&done).methods),
            ["pwd", "pin", "otp", "sms", "mfa"]
        );
    }
}

#[test]
fn a_step_up_to_aal2_asks_the_pin_then_the_factor() {
    let policy = aal2(Level::Aal2, false);
    let alice = with(app());
    let live = session("alice", "s1", NOW - 60);
    let c = ctx(&policy, Some(&live), Some(&alice));
    let state = begin(c).unwrap();
    assert!(matches!(state, SignIn::AwaitingPin { .. }));
    let state = advance(&state, pin(true), c).unwrap().state;
    let event = Event::SecondFactorVerified {
        factor: SecondFactor::App,
    };
    let done = advance(&state, event, c).unwrap();
    assert_eq!(amr(&proof(&done).methods), ["pin", "otp", "mfa"]);
    // A session at aal2 answers a request for the device level or aal2.
    let at_aal2 = LiveSession {
        level: Some(Level::Aal2),
        ..live
    };
    assert!(session_answers(&policy, &at_aal2, NOW));
    let higher = aal2(Level::Aal2PhishingResistant, false);
    assert!(!session_answers(&higher, &at_aal2, NOW));
}

#[test]
fn an_app_code_stands_in_for_the_new_device_code() {
    let policy = Policy {
        new_device_check: true,
        ..Policy::default()
    };
    let alice = with(app());
    let c = ctx(&policy, None, Some(&alice));
    let state = after_password(&policy, &alice);
    let step = advance(&state, pin(false), c).unwrap();
    assert!(matches!(step.state, SignIn::AwaitingDeviceCode { .. }));
    let saved = Event::SecondFactorVerified {
        factor: SecondFactor::SavedCode,
    };
    assert_eq!(advance(&step.state, saved, c), Err(Refusal::OutOfStep));
    let event = Event::SecondFactorVerified {
        factor: SecondFactor::App,
    };
    let done = advance(&step.state, event.clone(), c).unwrap();
    assert_eq!(proof(&done).level, Level::Aal2);
    assert!(done.effects.contains(&Effect::TrustDevice));
    // Not for a person without an app.
    let bob = account("bob");
    let c = ctx(&policy, None, Some(&bob));
    let state = after_password(&policy, &bob);
    let step = advance(&state, pin(false), c).unwrap();
    assert_eq!(advance(&step.state, event, c), Err(Refusal::OutOfStep));
}

#[test]
fn a_saved_code_opens_a_locked_pin_after_the_password() {
    let policy = Policy::default();
    let alice = with(Factors {
        saved_codes: true,
        ..Factors::default()
    });
    let c = ctx(&policy, None, Some(&alice));
    let state = after_password(&policy, &alice);
    let recovering = advance(&state, Event::ForgotPin, c).unwrap().state;
    let saved = Event::SecondFactorVerified {
        factor: SecondFactor::SavedCode,
    };
    let choosing = advance(&recovering, saved.clone(), c).unwrap().state;
    assert!(matches!(
        choosing,
        SignIn::ChoosingPin {
            by_saved_code: true,
            ..
        }
    ));
    let chosen = Event::NewPinChosen {
        epoch: 1,
        trusted_device: false,
        code_to: email(),
    };
    let done = advance(&choosing, chosen, c).unwrap();
    assert_eq!(amr(&proof(&done).methods), ["pwd", "pin", "otp"]);
    assert!(done.effects.contains(&Effect::TrustDevice));
    // Without saved codes, nothing opens.
    let bob = account("bob");
    let c = ctx(&policy, None, Some(&bob));
    let state = after_password(&policy, &bob);
    let recovering = advance(&state, Event::ForgotPin, c).unwrap().state;
    assert_eq!(advance(&recovering, saved, c), Err(Refusal::OutOfStep));
}

#[test]
fn a_person_with_an_app_cannot_bind_a_passkey_at_sign_in() {
    // Asked for the phishing-resistant level, which the app does not reach: a stolen password
    // and PIN (and a mailbox) must not bind the attacker's passkey over the person's app.
    let policy = aal2(Level::Aal2PhishingResistant, false);
    let alice = with(app());
    let c = ctx(&policy, None, Some(&alice));
    let state = after_password(&policy, &alice);
    let step = advance(&state, pin(false), c).unwrap();
    assert!(
        step.effects.is_empty(),
        "no code: nothing can be bound here"
    );
    let added = Event::FactorAdded {
        factor: SecondFactor::Passkey { synced: true },
    };
    assert_eq!(
        advance(&step.state, added.clone(), c),
        Err(Refusal::OutOfStep)
    );
    let trusted = advance(&state, pin(true), c).unwrap().state;
    assert_eq!(advance(&trusted, added, c), Err(Refusal::OutOfStep));
}
