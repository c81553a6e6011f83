use idp_core::store::Stores;
use std::collections::HashSet;

use idp_core::StoreError;
use idp_core::model::{KeyState, SigningAlg, SigningKeyRecord};

use crate::client;

pub async fn clients_and_keys_round_trip(stores: &Stores) {
    stores.clients.create_client(&client("c1")).await.unwrap();
    assert_eq!(
        stores.clients.find_client("c1").await.unwrap(),
        Some(client("c1"))
    );
    assert!(matches!(
        stores.clients.create_client(&client("c1")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(stores.clients.find_client("c2").await.unwrap().is_none());
    let mut renamed = client("c1");
    renamed.name = "Renamed".into();
    renamed.metadata.first_party = true;
    stores.clients.update_client(&renamed).await.unwrap();
    assert_eq!(
        stores.clients.find_client("c1").await.unwrap(),
        Some(renamed)
    );
    stores
        .clients
        .create_client(&client("c-gone"))
        .await
        .unwrap();
    assert!(stores.clients.delete_client("c-gone").await.unwrap());
    assert!(!stores.clients.delete_client("c-gone").await.unwrap());

    let key = SigningKeyRecord {
        kid: "k1".into(),
        alg: SigningAlg::ES256,
        sealed_private_key: vec![1, 2, 3],
        state: KeyState::Active,
        created_at: 1000,
        activate_at: None,
        remove_after: None,
    };
    stores.keys.insert_signing_key(&key).await.unwrap();
    stores
        .keys
        .update_signing_key("k1", KeyState::Retired, None, Some(5000))
        .await
        .unwrap();
    let stored = stores
        .keys
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kid == "k1")
        .unwrap();
    assert_eq!(
        (stored.state, stored.remove_after),
        (KeyState::Retired, Some(5000))
    );
    assert!(
        stores
            .keys
            .update_signing_key("nope", KeyState::Active, None, None)
            .await
            .is_err()
    );
    let kids: HashSet<String> = stores
        .keys
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert!(kids.contains("k1"));
    assert!(stores.keys.delete_signing_key("k1").await.unwrap());
    assert!(!stores.keys.delete_signing_key("k1").await.unwrap());
}

pub async fn key_fingerprints_are_recorded_once_and_moved_by_a_rewrap(stores: &Stores) {
    let keys = &stores.keys;
    assert_eq!(keys.recorded_fingerprint("pin_key").await.unwrap(), None);
    assert_eq!(keys.record_fingerprint("pin_key", "a").await.unwrap(), "a");
    assert_eq!(
        keys.record_fingerprint("pin_key", "b").await.unwrap(),
        "a",
        "the first recorded stays"
    );
    keys.record_fingerprint("master_key", "m1").await.unwrap();
    let sealed: Vec<(String, Vec<u8>)> = keys
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|record| (record.kid, record.sealed_private_key))
        .collect();
    keys.replace_sealed_keys(&sealed, "m2").await.unwrap();
    assert_eq!(
        keys.recorded_fingerprint("master_key").await.unwrap(),
        Some("m2".to_owned())
    );
    assert_eq!(
        keys.recorded_fingerprint("pin_key").await.unwrap(),
        Some("a".to_owned())
    );
}

/// An initial access token good for N registrations is spent exactly N times, also when many
/// registrations race for its last uses; then, or once expired, it is refused.
pub async fn initial_access_tokens_are_spent_exactly_their_uses(stores: &Stores) {
    let clients = &stores.clients;
    clients
        .create_initial_access_token("iat-3", 3, 2000, 1000)
        .await
        .unwrap();
    assert_eq!(
        clients
            .initial_access_token_uses("iat-3", 1000)
            .await
            .unwrap(),
        3
    );
    let spenders = (0..12).map(|_| {
        let clients = stores.clients.clone();
        tokio::spawn(async move { clients.spend_initial_access_token("iat-3", 1500).await })
    });
    let mut spent = 0;
    for spender in spenders {
        if spender.await.unwrap().unwrap() {
            spent += 1;
        }
    }
    assert_eq!(spent, 3, "three uses, spent three times");
    assert_eq!(
        clients
            .initial_access_token_uses("iat-3", 1500)
            .await
            .unwrap(),
        0
    );
    assert!(
        !clients
            .spend_initial_access_token("iat-3", 1500)
            .await
            .unwrap()
    );
    // An unknown token has nothing to spend; an expired one neither.
    assert!(
        !clients
            .spend_initial_access_token("nobody", 1500)
            .await
            .unwrap()
    );
    clients
        .create_initial_access_token("iat-late", 5, 2000, 1000)
        .await
        .unwrap();
    assert!(
        clients
            .spend_initial_access_token("iat-late", 1999)
            .await
            .unwrap()
    );
    assert_eq!(
        clients
            .initial_access_token_uses("iat-late", 2000)
            .await
            .unwrap(),
        0
    );
    assert!(
        !clients
            .spend_initial_access_token("iat-late", 2000)
            .await
            .unwrap()
    );
    // Purged once expired.
    stores.ephemeral.purge_expired(2001).await.unwrap();
    assert_eq!(
        clients
            .initial_access_token_uses("iat-late", 1500)
            .await
            .unwrap(),
        0
    );
}
