use idp_core::StoreError;
use idp_core::model::{Factor, FactorKind};
use idp_core::store::Stores;

use crate::given_users;

fn app(id: &str, user_id: &str, at: i64) -> Factor {
    Factor {
        id: id.into(),
        user_id: user_id.into(),
        kind: FactorKind::App,
        name: "Phone".into(),
        secret: b"sealed totp secret".to_vec(),
        credential_id: None,
        created_at: at,
        last_used_at: None,
        last_step: 0,
    }
}

fn passkey(id: &str, user_id: &str, credential_id: &str, at: i64) -> Factor {
    Factor {
        kind: FactorKind::Passkey,
        name: "YubiKey".into(),
        secret: vec![0, 1, 2, 255],
        credential_id: Some(credential_id.into()),
        ..app(id, user_id, at)
    }
}

pub async fn factors_are_bound_listed_renamed_and_removed(stores: &Stores) {
    given_users(stores, &[("u1", "alice"), ("u2", "bob")]).await;
    let factors = &stores.factors;
    // Ids in the opposite order of their making: the list goes by when.
    let (older, newer) = (app("f-z", "u1", 1000), passkey("f-a", "u1", "cred-1", 2000));
    factors.add_factor(&newer).await.unwrap();
    factors.add_factor(&older).await.unwrap();
    factors
        .add_factor(&passkey("f-bob", "u2", "cred-2", 1500))
        .await
        .unwrap();
    assert_eq!(
        factors.list_factors("u1").await.unwrap(),
        [older.clone(), newer.clone()],
        "oldest first, every field as stored"
    );
    assert!(factors.list_factors("u-nobody").await.unwrap().is_empty());

    let taken_id = passkey("f-a", "u2", "cred-3", 3000);
    let taken_credential = passkey("f-new", "u2", "cred-1", 3000);
    for taken in [taken_id, taken_credential] {
        assert!(
            matches!(
                factors.add_factor(&taken).await,
                Err(StoreError::Conflict(_))
            ),
            "{taken:?}"
        );
    }

    assert_eq!(factors.find_passkey("cred-1").await.unwrap(), Some(newer));
    let bobs = factors.find_passkey("cred-2").await.unwrap().unwrap();
    assert_eq!((bobs.id.as_str(), bobs.user_id.as_str()), ("f-bob", "u2"));
    assert_eq!(factors.find_passkey("cred-9").await.unwrap(), None);

    assert!(
        !factors.rename_factor("u1", "f-bob", "Mine").await.unwrap(),
        "only the owner's"
    );
    assert!(!factors.remove_factor("u1", "f-bob").await.unwrap());
    assert_eq!(factors.list_factors("u2").await.unwrap()[0].name, "YubiKey");
    assert!(
        factors
            .rename_factor("u1", "f-z", "Work phone")
            .await
            .unwrap()
    );
    assert!(factors.remove_factor("u1", "f-a").await.unwrap());
    assert!(!factors.remove_factor("u1", "f-a").await.unwrap(), "gone");
    assert!(!factors.rename_factor("u1", "f-a", "Key").await.unwrap());
    let left = factors.list_factors("u1").await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].id.as_str(), left[0].name.as_str()),
        ("f-z", "Work phone")
    );
    assert_eq!(factors.find_passkey("cred-1").await.unwrap(), None);
    // Its credential id is free again.
    factors
        .add_factor(&passkey("f-b", "u1", "cred-1", 4000))
        .await
        .unwrap();

    let shown = format!("{:?}", left[0]);
    let secret = format!("{:?}", b"sealed totp secret");
    assert!(
        !shown.contains(&secret[1..secret.len() - 1]),
        "Debug leaves the secret out: {shown}"
    );
}

pub async fn a_totp_step_is_accepted_once(stores: &Stores) {
    given_users(stores, &[("u1", "alice"), ("u2", "bob")]).await;
    let factors = &stores.factors;
    factors.add_factor(&app("f1", "u1", 1000)).await.unwrap();
    let step = |n| factors.record_factor_use("u1", "f1", 1000 + n, Some(n), None);
    assert!(step(5).await.unwrap());
    assert!(!step(5).await.unwrap(), "the same step again is a replay");
    assert!(!step(4).await.unwrap(), "so is an earlier one");
    assert!(step(6).await.unwrap());
    let stored = &factors.list_factors("u1").await.unwrap()[0];
    assert_eq!((stored.last_step, stored.last_used_at), (6, Some(1006)));
    assert!(
        !factors
            .record_factor_use("u2", "f1", 2000, Some(9), None)
            .await
            .unwrap(),
        "only the owner's"
    );
    assert!(
        !factors
            .record_factor_use("u1", "f-gone", 2000, Some(9), None)
            .await
            .unwrap()
    );

    let racers: Vec<_> = (0..8)
        .map(|_| {
            let factors = factors.clone();
            tokio::spawn(async move {
                factors
                    .record_factor_use("u1", "f1", 1007, Some(7), None)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        won += usize::from(racer.await.unwrap());
    }
    assert_eq!(
        won, 1,
        "of eight nodes with the same code, exactly one wins"
    );

    // A passkey: no step, its updated credential stored.
    factors
        .add_factor(&passkey("f2", "u1", "cred-1", 1100))
        .await
        .unwrap();
    let updated = [9, 9, 9];
    for at in [3000, 3001] {
        assert!(
            factors
                .record_factor_use("u1", "f2", at, None, Some(&updated))
                .await
                .unwrap()
        );
    }
    let key = factors.find_passkey("cred-1").await.unwrap().unwrap();
    assert_eq!(
        (key.secret, key.last_used_at),
        (updated.to_vec(), Some(3001))
    );
    let app = &factors.list_factors("u1").await.unwrap()[0];
    assert_eq!(app.secret, b"sealed totp secret", "only the one named");
    // No secret given: the stored one stays.
    assert!(
        factors
            .record_factor_use("u1", "f2", 3002, None, None)
            .await
            .unwrap()
    );
    let key = factors.find_passkey("cred-1").await.unwrap().unwrap();
    assert_eq!(key.secret, updated);
}

pub async fn saved_codes_are_used_once(stores: &Stores) {
    given_users(stores, &[("u1", "alice"), ("u2", "bob")]).await;
    let factors = &stores.factors;
    assert_eq!(factors.recovery_codes_left("u1").await.unwrap(), (0, None));
    let first: Vec<String> = (0..10).map(|i| format!("first-{i}")).collect();
    factors
        .replace_recovery_codes("u1", &first, 1000)
        .await
        .unwrap();
    factors
        .replace_recovery_codes("u2", &["bobs".into()], 1000)
        .await
        .unwrap();
    assert_eq!(
        factors.recovery_codes_left("u1").await.unwrap(),
        (10, Some(1000))
    );
    assert!(
        factors
            .use_recovery_code("u1", "first-0", 1100)
            .await
            .unwrap()
    );
    assert!(
        !factors
            .use_recovery_code("u1", "first-0", 1101)
            .await
            .unwrap(),
        "once"
    );

    let racers: Vec<_> = (0..8)
        .map(|_| {
            let factors = factors.clone();
            tokio::spawn(async move {
                factors
                    .use_recovery_code("u1", "first-1", 1200)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        won += usize::from(racer.await.unwrap());
    }
    assert_eq!(
        won, 1,
        "of eight requests with the same code, exactly one wins"
    );
    assert_eq!(
        factors.recovery_codes_left("u1").await.unwrap(),
        (8, Some(1000))
    );
    assert!(
        !factors
            .use_recovery_code("u1", "unknown", 1300)
            .await
            .unwrap()
    );
    assert!(
        !factors.use_recovery_code("u1", "bobs", 1300).await.unwrap(),
        "another person's code"
    );
    assert_eq!(factors.recovery_codes_left("u2").await.unwrap().0, 1);

    let second: Vec<String> = (0..10).map(|i| format!("second-{i}")).collect();
    factors
        .replace_recovery_codes("u1", &second, 2000)
        .await
        .unwrap();
    assert_eq!(
        factors.recovery_codes_left("u1").await.unwrap(),
        (10, Some(2000))
    );
    assert!(
        !factors
            .use_recovery_code("u1", "first-2", 2100)
            .await
            .unwrap(),
        "the old set stopped working"
    );
    assert!(
        factors
            .use_recovery_code("u1", "second-2", 2100)
            .await
            .unwrap()
    );
    assert_eq!(factors.recovery_codes_left("u2").await.unwrap().0, 1);

    // Replacements at once: one set is left, whole.
    let racers: Vec<_> = (0..4)
        .map(|n| {
            let factors = factors.clone();
            let set: Vec<String> = (0..10).map(|i| format!("set-{n}-{i}")).collect();
            tokio::spawn(async move {
                factors
                    .replace_recovery_codes("u1", &set, 2500)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for racer in racers {
        racer.await.unwrap();
    }
    assert_eq!(
        factors.recovery_codes_left("u1").await.unwrap(),
        (10, Some(2500))
    );
    factors
        .replace_recovery_codes("u1", &[], 3000)
        .await
        .unwrap();
    assert_eq!(factors.recovery_codes_left("u1").await.unwrap(), (0, None));
}
