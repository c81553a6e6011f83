//! The storage contract: what every backend must do, as one suite each backend runs.

use std::collections::HashSet;

use idp_core::StoreError;
use idp_core::model::{
    Client, Consumed, EphemeralKind, Grant, KeyState, NewUser, Session, SigningAlg,
    SigningKeyRecord, TokenEndpointAuthMethod,
};
use serde_json::json;

use super::Stores;

fn user(id: &str, username: &str) -> NewUser {
    NewUser {
        id: id.into(),
        username: username.into(),
        email: format!("{username}@example.com"),
        phone: Some("+447700900123".into()),
        password_hash: "$argon2id$password".into(),
        pin_hash: "$argon2id$pin".into(),
        created_at: 1000,
    }
}

pub async fn run_all(stores: Stores) {
    users_are_unique_by_username(&stores).await;
    pin_tries_are_taken_atomically(&stores).await;
    single_use_records_are_consumed_once(&stores).await;
    records_expire(&stores).await;
    sessions_expire_and_end(&stores).await;
    grants_revoke(&stores).await;
    clients_and_keys_round_trip(&stores).await;
}

async fn users_are_unique_by_username(stores: &Stores) {
    stores
        .users
        .create_user(&user("u1", "alice"))
        .await
        .unwrap();
    let again = stores.users.create_user(&user("u2", "alice")).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let found = stores
        .users
        .find_user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "u1");
    assert_eq!(found.pin_hash.as_deref(), Some("$argon2id$pin"));
    assert_eq!(found.pin_failures, 0);
    assert!(stores.users.find_user("u2").await.unwrap().is_none());
    assert!(
        stores
            .users
            .find_user_by_username("bob")
            .await
            .unwrap()
            .is_none()
    );
}

async fn pin_tries_are_taken_atomically(stores: &Stores) {
    stores
        .users
        .create_user(&user("u-pin", "pinny"))
        .await
        .unwrap();
    let attempts = (0..50).map(|_| {
        let store = stores.pin_attempts.clone();
        tokio::spawn(async move { store.take_pin_attempt("u-pin", 5).await.unwrap() })
    });
    let mut taken = Vec::new();
    for attempt in attempts {
        if let Some(n) = attempt.await.unwrap() {
            taken.push(n);
        }
    }
    taken.sort_unstable();
    assert_eq!(
        taken,
        [1, 2, 3, 4, 5],
        "exactly the allowance, each try once"
    );
    assert_eq!(
        stores
            .pin_attempts
            .take_pin_attempt("u-pin", 5)
            .await
            .unwrap(),
        None
    );
    let user = stores.users.find_user("u-pin").await.unwrap().unwrap();
    assert_eq!(user.pin_failures, 5);
    let attempts = &stores.pin_attempts;
    attempts.give_back_pin_attempt("u-pin").await.unwrap();
    assert_eq!(
        attempts.take_pin_attempt("u-pin", 5).await.unwrap(),
        Some(5)
    );
    attempts.reset_pin_attempts("u-pin").await.unwrap();
    attempts.give_back_pin_attempt("u-pin").await.unwrap();
    assert_eq!(
        attempts.take_pin_attempt("u-pin", 5).await.unwrap(),
        Some(1),
        "never below zero"
    );
}

async fn single_use_records_are_consumed_once(stores: &Stores) {
    let kind = EphemeralKind::AuthorizationCode;
    stores
        .ephemeral
        .put(kind, "code-1", &json!({"grant": "g1"}), 2000)
        .await
        .unwrap();
    let consumers = (0..20).map(|_| {
        let store = stores.ephemeral.clone();
        tokio::spawn(async move { store.consume(kind, "code-1", 1500).await.unwrap() })
    });
    let mut fresh = 0;
    for consumer in consumers {
        match consumer.await.unwrap() {
            Consumed::Fresh(payload) => {
                assert_eq!(payload["grant"], "g1");
                fresh += 1;
            }
            Consumed::Replayed(payload) => assert_eq!(payload["grant"], "g1"),
            Consumed::Missing => panic!("a consumed record is reported as replayed, not missing"),
        }
    }
    assert_eq!(fresh, 1);
    assert!(
        stores
            .ephemeral
            .get(kind, "code-1", 1500)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        stores.ephemeral.consume(kind, "nope", 1500).await.unwrap(),
        Consumed::Missing
    );
}

async fn records_expire(stores: &Stores) {
    let kind = EphemeralKind::Interaction;
    stores
        .ephemeral
        .put(kind, "i-1", &json!({"v": 1}), 2000)
        .await
        .unwrap();
    assert_eq!(
        stores.ephemeral.get(kind, "i-1", 1999).await.unwrap(),
        Some(json!({"v": 1}))
    );
    stores
        .ephemeral
        .put(kind, "i-1", &json!({"v": 2}), 3000)
        .await
        .unwrap();
    assert_eq!(
        stores.ephemeral.get(kind, "i-1", 2500).await.unwrap(),
        Some(json!({"v": 2}))
    );
    assert!(
        stores
            .ephemeral
            .get(kind, "i-1", 3000)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        stores.ephemeral.consume(kind, "i-1", 3000).await.unwrap(),
        Consumed::Missing
    );
    // Kinds are separate namespaces.
    assert!(
        stores
            .ephemeral
            .get(EphemeralKind::Signup, "i-1", 2500)
            .await
            .unwrap()
            .is_none()
    );
    stores.ephemeral.delete(kind, "i-1").await.unwrap();
    assert!(
        stores
            .ephemeral
            .get(kind, "i-1", 2500)
            .await
            .unwrap()
            .is_none()
    );

    let ephemeral = &stores.ephemeral;
    ephemeral.put(kind, "old", &json!({}), 2000).await.unwrap();
    ephemeral.put(kind, "new", &json!({}), 4000).await.unwrap();
    assert!(ephemeral.purge_expired(3000).await.unwrap() >= 1);
    assert!(ephemeral.get(kind, "new", 2500).await.unwrap().is_some());
    assert_eq!(
        ephemeral.consume(kind, "old", 1000).await.unwrap(),
        Consumed::Missing
    );
}

async fn sessions_expire_and_end(stores: &Stores) {
    let session = Session {
        id_hash: "h1".into(),
        sid: "sid-1".into(),
        user_id: "u1".into(),
        auth_time: 1000,
        acr: "acr".into(),
        amr: vec!["pwd".into(), "pin".into()],
        created_at: 1000,
        expires_at: 2000,
    };
    let sessions = &stores.sessions;
    sessions.create_session(&session).await.unwrap();
    assert_eq!(
        sessions.find_session("h1", 1999).await.unwrap(),
        Some(session.clone())
    );
    assert!(sessions.find_session("h1", 2000).await.unwrap().is_none());
    sessions.delete_session("h1").await.unwrap();
    assert!(sessions.find_session("h1", 1500).await.unwrap().is_none());

    let stale = Session {
        id_hash: "h2".into(),
        sid: "sid-2".into(),
        ..session
    };
    sessions.create_session(&stale).await.unwrap();
    assert_eq!(sessions.purge_expired_sessions(2001).await.unwrap(), 1);
    assert!(sessions.find_session("h2", 1500).await.unwrap().is_none());
}

async fn grants_revoke(stores: &Stores) {
    stores
        .clients
        .create_client(&client("c-grant"))
        .await
        .unwrap();
    let grant = Grant {
        id: "g1".into(),
        user_id: "u1".into(),
        client_id: "c-grant".into(),
        created_at: 1000,
        revoked_at: None,
    };
    stores.grants.create_grant(&grant).await.unwrap();
    assert!(stores.grants.grant_is_active("g1").await.unwrap());
    stores.grants.revoke_grant("g1", 1500).await.unwrap();
    assert!(!stores.grants.grant_is_active("g1").await.unwrap());
    assert!(!stores.grants.grant_is_active("unknown").await.unwrap());
}

fn client(id: &str) -> Client {
    Client {
        id: id.into(),
        name: "Tax Portal".into(),
        secret_hash: Some("hash".into()),
        redirect_uris: vec![
            "https://rp.example/cb".into(),
            "https://rp.example/cb2".into(),
        ],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        id_token_signed_response_alg: SigningAlg::RS256,
        admin: false,
        created_at: 1000,
    }
}

async fn clients_and_keys_round_trip(stores: &Stores) {
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

    let key = SigningKeyRecord {
        kid: "k1".into(),
        alg: SigningAlg::ES256,
        sealed_private_key: vec![1, 2, 3],
        state: KeyState::Active,
        created_at: 1000,
    };
    stores.keys.insert_signing_key(&key).await.unwrap();
    let kids: HashSet<String> = stores
        .keys
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert!(kids.contains("k1"));
}
