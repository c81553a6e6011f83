use idp_core::store::Stores;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idp_core::model::{EphemeralKind, Grant, GrantOwner, Rotated, RotationCheck};
use serde_json::json;

use crate::{client, given_grant, given_users, grant, settled};

/// A check that accepts the record for grant `grant_id` of `user_id`, and notes that it ran.
fn accepting(grant_id: &str, user_id: &str, ran: &Arc<AtomicUsize>) -> RotationCheck {
    let (owner, ran) = (
        GrantOwner {
            grant_id: grant_id.into(),
            user_id: user_id.into(),
        },
        ran.clone(),
    );
    RotationCheck::reading(move |payload: &str| {
        assert_eq!(payload, r#"{"grant":"g-rot"}"#, "the check sees the record");
        ran.fetch_add(1, Ordering::SeqCst);
        Some(owner.clone())
    })
}

/// A rotation spends the record and stores its payload under the new id: of many at once, one
/// succeeds and only its successor exists. A record that is not live, that its check refuses,
/// or whose grant is revoked or user disabled is left as it was, with no successor.
pub async fn rotations_are_checked_and_store_one_successor(stores: &Stores) {
    let kind = EphemeralKind::RefreshToken;
    given_grant(stores, ("u-rot", "rota"), "c-rot", "g-rot").await;
    let payload = json!({"grant": "g-rot"});
    let ephemeral = &stores.ephemeral;
    ephemeral.put(kind, "rt-1", &payload, 2000).await.unwrap();
    // Each rotation's check counts its own runs: the winner's ran; a loser's ran at most once
    // (it may have read the record before the winner spent it), and never let it write.
    // Spawned all at once, then awaited.
    let rotations: Vec<_> = (0..12)
        .map(|n| {
            let ran = Arc::new(AtomicUsize::new(0));
            let (grants, check) = (stores.grants.clone(), accepting("g-rot", "u-rot", &ran));
            tokio::spawn(async move {
                let next = format!("rt-1-{n}");
                let done = grants.rotate(kind, "rt-1", 1500, (&next, 3000), check);
                (n, settled(done).await, ran.load(Ordering::SeqCst))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for rotation in rotations {
        match rotation.await.unwrap() {
            (n, Rotated::Done(accepted), ran) => {
                assert_eq!(
                    accepted,
                    payload.to_string(),
                    "the record the check accepted"
                );
                assert_eq!(ran, 1, "the winner's check ran once");
                winners.push(n);
            }
            (_, Rotated::Replayed(seen), ran) => {
                assert_eq!(seen, payload);
                assert!(ran <= 1, "a loser's check ran {ran} times");
            }
            (_, other, _) => panic!("a rotation of a spent record came to {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let ran = Arc::new(AtomicUsize::new(0));
    for n in 0..12 {
        let successor = ephemeral
            .get(kind, &format!("rt-1-{n}"), 1500)
            .await
            .unwrap();
        if n == winners[0] {
            assert_eq!(successor.as_ref(), Some(&payload), "the same payload");
            assert_eq!(
                ephemeral
                    .get(kind, &format!("rt-1-{n}"), 3000)
                    .await
                    .unwrap(),
                None
            );
        } else {
            assert_eq!(successor, None, "a losing rotation stored its successor");
        }
    }

    // Live, but refused: by the check, or because the grant is not active for this user.
    ephemeral.put(kind, "rt-3", &payload, 2000).await.unwrap();
    let refused = stores.grants.rotate(
        kind,
        "rt-3",
        1500,
        ("rt-3-a", 3000),
        RotationCheck::reading(|_| None),
    );
    assert_eq!(
        settled(refused).await,
        Rotated::Refused(payload.to_string()),
        "refused, as the check saw it"
    );
    let rotate = |grant_id: &str, user_id: &str, next: &'static str| {
        let check = accepting(grant_id, user_id, &ran);
        stores
            .grants
            .rotate(kind, "rt-3", 1500, (next, 3000), check)
    };
    assert_eq!(
        settled(rotate("g-rot", "u1", "rt-3-b")).await,
        Rotated::Inactive,
        "another user's grant"
    );
    assert_eq!(
        settled(rotate("g-none", "u-rot", "rt-3-c")).await,
        Rotated::Inactive
    );
    stores
        .users
        .set_disabled("u-rot", Some(1200))
        .await
        .unwrap();
    assert_eq!(
        settled(rotate("g-rot", "u-rot", "rt-3-d")).await,
        Rotated::Inactive,
        "a disabled user"
    );
    stores.users.set_disabled("u-rot", None).await.unwrap();
    stores.grants.revoke_grant("g-rot", 1400).await.unwrap();
    assert_eq!(
        settled(rotate("g-rot", "u-rot", "rt-3-e")).await,
        Rotated::Inactive,
        "a revoked grant"
    );
    for next in ["rt-3-a", "rt-3-b", "rt-3-c", "rt-3-d", "rt-3-e"] {
        assert_eq!(ephemeral.get(kind, next, 1500).await.unwrap(), None);
    }
    assert_eq!(
        ephemeral.get(kind, "rt-3", 1500).await.unwrap(),
        Some(payload.clone()),
        "still live"
    );

    // Nothing live to spend: no check, no successor.
    ephemeral.put(kind, "rt-2", &payload, 1200).await.unwrap();
    let before = ran.load(Ordering::SeqCst);
    for (id, next) in [("rt-2", "rt-2-next"), ("rt-unknown", "rt-unknown-next")] {
        let check = accepting("g-rot", "u-rot", &ran);
        let done = stores.grants.rotate(kind, id, 1500, (next, 3000), check);
        assert_eq!(
            settled(done).await,
            Rotated::Missing,
            "{id} expired or never was"
        );
        assert_eq!(ephemeral.get(kind, next, 1500).await.unwrap(), None);
    }
    assert_eq!(ran.load(Ordering::SeqCst), before);
}

/// A rotation whose check is known to pass (the presented token carried what it needs) comes
/// to what one that reads its record first comes to: of many at once, one succeeds and stores
/// the payload under its new id; a spent record is replayed; a record of a revoked grant or a
/// disabled user stays live, with no successor; a record not live is missing.
pub async fn rotations_known_to_pass_settle_alike(stores: &Stores) {
    let kind = EphemeralKind::RefreshToken;
    let (ephemeral, grants) = (&stores.ephemeral, &stores.grants);
    given_grant(stores, ("u-rot", "rota"), "c-rot", "g-rot").await;
    let payload = json!({"grant": "g-rot"});
    let passed = |ran: &Arc<AtomicUsize>| accepting("g-rot", "u-rot", ran).passed("g-rot".into());
    ephemeral.put(kind, "rt-1", &payload, 2000).await.unwrap();
    let rotations: Vec<_> = (0..12)
        .map(|n| {
            let (grants, check) = (grants.clone(), passed(&Arc::default()));
            tokio::spawn(async move {
                let next = format!("rt-1-{n}");
                let done = grants.rotate(kind, "rt-1", 1500, (&next, 3000), check);
                (n, settled(done).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for rotation in rotations {
        match rotation.await.unwrap() {
            (n, Rotated::Done(accepted)) => {
                assert_eq!(accepted, payload.to_string());
                winners.push(n);
            }
            (_, Rotated::Replayed(seen)) => assert_eq!(seen, payload),
            (_, other) => panic!("a rotation of a spent record came to {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    for n in 0..12 {
        let successor = ephemeral
            .get(kind, &format!("rt-1-{n}"), 1500)
            .await
            .unwrap();
        let expected = (n == winners[0]).then_some(&payload);
        assert_eq!(successor.as_ref(), expected, "successor {n}");
    }

    ephemeral.put(kind, "rt-3", &payload, 2000).await.unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let rotate = |next: &'static str| grants.rotate(kind, "rt-3", 1500, (next, 3000), passed(&ran));
    stores
        .users
        .set_disabled("u-rot", Some(1200))
        .await
        .unwrap();
    assert_eq!(settled(rotate("rt-3-a")).await, Rotated::Inactive);
    stores.users.set_disabled("u-rot", None).await.unwrap();
    grants.revoke_grant("g-rot", 1400).await.unwrap();
    assert_eq!(settled(rotate("rt-3-b")).await, Rotated::Inactive);
    for next in ["rt-3-a", "rt-3-b"] {
        assert_eq!(ephemeral.get(kind, next, 1500).await.unwrap(), None);
    }
    let still = ephemeral.get(kind, "rt-3", 1500).await.unwrap();
    assert_eq!(still, Some(payload.clone()), "still live");

    ephemeral.put(kind, "rt-2", &payload, 1200).await.unwrap();
    for (id, next) in [("rt-2", "rt-2-next"), ("rt-unknown", "rt-unknown-next")] {
        let done = grants.rotate(kind, id, 1500, (next, 3000), passed(&ran));
        assert_eq!(settled(done).await, Rotated::Missing, "{id}");
        assert_eq!(ephemeral.get(kind, next, 1500).await.unwrap(), None);
    }
}

pub async fn grants_revoke(stores: &Stores) {
    given_users(stores, &[("u1", "alice")]).await;
    stores
        .clients
        .create_client(&client("c-grant"))
        .await
        .unwrap();
    let grant = Grant {
        sid: Some("sid-g".into()),
        ..grant("g1", "u1", "c-grant")
    };
    stores.grants.create_grant(&grant).await.unwrap();
    assert!(stores.grants.grant_is_active("g1").await.unwrap());
    assert_eq!(
        stores
            .grants
            .active_grant_user("g1")
            .await
            .unwrap()
            .as_deref(),
        Some("u1")
    );
    stores.users.set_disabled("u1", Some(1200)).await.unwrap();
    assert!(
        stores.grants.grant_is_active("g1").await.unwrap(),
        "a disabled user's grant stays, for when they are enabled again"
    );
    stores.users.set_disabled("u1", None).await.unwrap();
    assert_eq!(
        stores.grants.clients_of_session("sid-g").await.unwrap(),
        ["c-grant"]
    );
    assert!(
        stores
            .grants
            .clients_of_session("other")
            .await
            .unwrap()
            .is_empty()
    );
    stores.grants.revoke_grant("g1", 1500).await.unwrap();
    assert!(!stores.grants.grant_is_active("g1").await.unwrap());
    assert!(!stores.grants.grant_is_active("unknown").await.unwrap());
    assert_eq!(stores.grants.active_grant_user("g1").await.unwrap(), None);
    assert_eq!(
        stores.grants.active_grant_user("unknown").await.unwrap(),
        None
    );
}
