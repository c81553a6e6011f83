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
