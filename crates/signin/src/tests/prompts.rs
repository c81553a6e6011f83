//! `prompt=consent` and `id_token_hint`: named cases beside the property test's rules.

use super::*;

#[test]
fn prompt_consent_asks_a_person_who_already_consented() {
    let policy = Policy {
        force_consent: true,
        ..Policy::default()
    };
    let (alice, live) = (account("alice"), session("alice", "s1", NOW - 60));
    let c = ctx(&policy, Some(&live), Some(&alice));
    let state = begin(c).unwrap();
    let checked = advance(&state, Event::ConsentChecked { needed: false }, c).unwrap();
    assert!(matches!(checked.state, SignIn::AwaitingConsent { .. }));
    assert!(checked.effects.is_empty());
    let given = advance(&checked.state, Event::ConsentGiven, c).unwrap();
    assert!(matches!(given.effects[..], [Effect::IssueCode(_)]));
}

#[test]
fn a_hint_naming_another_person_never_reuses_the_session() {
    let (alice, live) = (account("alice"), session("alice", "s1", NOW - 60));
    let hinted = |who: &str, no_prompt: bool| Policy {
        hinted_user: Some(who.to_owned()),
        no_prompt,
        ..Policy::default()
    };
    let same = hinted("alice", true);
    assert!(matches!(
        begin(ctx(&same, Some(&live), Some(&alice))),
        Ok(SignIn::SignedIn { .. })
    ));
    let other = hinted("bob", true);
    assert!(!session_answers(&other, &live, NOW));
    assert_eq!(
        begin(ctx(&other, Some(&live), Some(&alice))),
        Err(Refusal::LoginRequired)
    );
    // Without prompt=none the person signs in, even where a step-up would have done.
    for policy in [
        hinted("bob", false),
        Policy {
            max_age: Some(0),
            ..hinted("bob", false)
        },
    ] {
        assert_eq!(
            begin(ctx(&policy, Some(&live), Some(&alice))),
            Ok(SignIn::AwaitingPassword { recover: false })
        );
    }
}

#[test]
fn begin_reads_the_person_only_to_step_a_session_up() {
    let live = session("alice", "s1", NOW - 60);
    let disabled = Account {
        disabled: true,
        ..account("alice")
    };
    let moved_on = Account {
        epoch: 1,
        ..account("alice")
    };
    let policies = [
        Policy::default(),
        Policy {
            max_age: Some(0),
            ..Policy::default()
        },
        Policy {
            force_login: true,
            ..Policy::default()
        },
        Policy {
            no_prompt: true,
            max_age: Some(0),
            ..Policy::default()
        },
        Policy {
            hinted_user: Some("bob".to_owned()),
            max_age: Some(0),
            ..Policy::default()
        },
        Policy {
            level: Some(Level::PasswordPinDevice),
            ..Policy::default()
        },
    ];
    let needed: Vec<bool> = policies
        .iter()
        .map(|p| begin_needs_account(p, &live, NOW))
        .collect();
    assert_eq!(needed, [false, true, false, false, false, true]);
    // A session that does not answer and cannot be stepped up: whoever the person turns out
    // to be changes nothing. (One that answers stands for its person by itself.)
    for (policy, needed) in policies.iter().zip(needed) {
        if needed || session_answers(policy, &live, NOW) {
            continue;
        }
        let unread = begin(ctx(policy, Some(&live), None));
        for person in [account("alice"), disabled.clone(), moved_on.clone()] {
            assert_eq!(begin(ctx(policy, Some(&live), Some(&person))), unread);
        }
    }
}
