use idp_core::store::Stores;

use idp_core::model::{Consumed, EphemeralKind, Session};
use serde_json::json;

use crate::given_users;

pub async fn single_use_records_are_consumed_once(stores: &Stores) {
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
    // Putting it again does not make it fresh: a replayed `jti` is put before it is consumed.
    stores
        .ephemeral
        .put(kind, "code-1", &json!({"grant": "g1"}), 2000)
        .await
        .unwrap();
    assert!(matches!(
        stores
            .ephemeral
            .consume(kind, "code-1", 1500)
            .await
            .unwrap(),
        Consumed::Replayed(_)
    ));
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

pub async fn records_expire(stores: &Stores) {
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
}

pub async fn expired_records_are_purged(stores: &Stores) {
    let kind = EphemeralKind::Interaction;
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

/// Revoked tokens' `jti`s are listed whole (for a node that holds them in memory), or not at
/// all when there are more than asked for; expired and consumed records are not live.
pub async fn live_records_are_listed_up_to_a_limit(stores: &Stores) {
    let kind = EphemeralKind::RevokedAccessToken;
    let ephemeral = &stores.ephemeral;
    ephemeral
        .put(kind, "j-old", &json!({}), 2000)
        .await
        .unwrap();
    ephemeral.put(kind, "j-1", &json!({}), 4000).await.unwrap();
    ephemeral.put(kind, "j-2", &json!({}), 5000).await.unwrap();
    ephemeral
        .put(kind, "j-used", &json!({}), 5000)
        .await
        .unwrap();
    ephemeral.consume(kind, "j-used", 1000).await.unwrap();
    let other = EphemeralKind::AssertionJti;
    ephemeral.put(other, "a-1", &json!({}), 5000).await.unwrap();
    assert!(ephemeral.contains(kind, "j-1", 3000).await.unwrap());
    assert!(!ephemeral.contains(kind, "j-old", 3000).await.unwrap());
    assert!(!ephemeral.contains(kind, "a-1", 3000).await.unwrap());
    let Some(mut live) = ephemeral.live_ids(kind, 3000, 2).await.unwrap() else {
        panic!("a database lists them");
    };
    live.sort();
    assert_eq!(live, [("j-1".to_owned(), 4000), ("j-2".to_owned(), 5000)]);
    assert_eq!(
        ephemeral.live_ids(kind, 3000, 1).await.unwrap(),
        None,
        "too many"
    );
}

pub async fn sessions_expire_and_end(stores: &Stores) {
    given_users(stores, &[("u1", "alice")]).await;
    let session = Session {
        id_hash: "h1".into(),
        sid: "sid-1".into(),
        user_id: "u1".into(),
        auth_time: 1000,
        acr: "acr".into(),
        amr: vec!["pwd".into(), "pin".into()],
        created_at: 1000,
        expires_at: 2000,
        ip: Some("127.0.0.1".into()),
        user_agent: Some("test".into()),
        credential_epoch: 3,
    };
    let sessions = &stores.sessions;
    sessions.create_session(&session).await.unwrap();
    assert_eq!(
        sessions.find_session("h1", 1999).await.unwrap(),
        Some(session.clone())
    );
    assert!(sessions.find_session("h1", 2000).await.unwrap().is_none());
    // A change made in the session moves its credential epoch on; it lives as long as before.
    sessions.restamp_session("h1", 4).await.unwrap();
    let restamped = sessions.find_session("h1", 1999).await.unwrap().unwrap();
    assert_eq!(
        restamped,
        Session {
            credential_epoch: 4,
            ..session.clone()
        }
    );
    sessions.restamp_session("gone", 4).await.unwrap();
    assert!(sessions.find_session("gone", 1500).await.unwrap().is_none());
    sessions.delete_session("h1").await.unwrap();
    assert!(sessions.find_session("h1", 1500).await.unwrap().is_none());
}

pub async fn expired_sessions_are_purged(stores: &Stores) {
    given_users(stores, &[("u1", "alice")]).await;
    let sessions = &stores.sessions;
    let stale = Session {
        id_hash: "h2".into(),
        sid: "sid-2".into(),
        user_id: "u1".into(),
        auth_time: 1000,
        acr: "acr".into(),
        amr: vec!["pwd".into(), "pin".into()],
        created_at: 1000,
        expires_at: 2000,
        ip: None,
        user_agent: None,
        credential_epoch: 3,
    };
    sessions.create_session(&stale).await.unwrap();
    assert_eq!(sessions.purge_expired_sessions(2001).await.unwrap(), 1);
    assert!(sessions.find_session("h2", 1500).await.unwrap().is_none());
}

pub async fn sessions_are_listed_and_ended_by_sid(stores: &Stores) {
    given_users(stores, &[("u-change", "changer")]).await;
    let sessions = &stores.sessions;
    for (hash, sid, created) in [("l1", "sid-l1", 1000), ("l2", "sid-l2", 1100)] {
        let session = Session {
            id_hash: hash.into(),
            sid: sid.into(),
            user_id: "u-change".into(),
            auth_time: created,
            acr: "acr".into(),
            amr: vec![],
            created_at: created,
            expires_at: 5000,
            ip: None,
            user_agent: None,
            credential_epoch: 3,
        };
        sessions.create_session(&session).await.unwrap();
    }
    let listed: Vec<String> = sessions
        .list_sessions("u-change", 1500)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.sid)
        .collect();
    assert_eq!(listed, ["sid-l2", "sid-l1"], "newest first");
    sessions.delete_session("l1").await.unwrap();
    assert_eq!(
        sessions
            .list_sessions("u-change", 1500)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        sessions
            .list_sessions("u-change", 5000)
            .await
            .unwrap()
            .is_empty(),
        "expired ones are not listed"
    );
}

pub async fn a_found_session_is_deleted_without_its_siblings(stores: &Stores) {
    given_users(stores, &[("u-found", "finder")]).await;
    let sessions = &stores.sessions;
    for (hash, created) in [("f1", 1000), ("f2", 1100)] {
        let session = Session {
            id_hash: hash.into(),
            sid: format!("sid-{hash}"),
            user_id: "u-found".into(),
            auth_time: created,
            acr: "acr".into(),
            amr: vec![],
            created_at: created,
            expires_at: 5000,
            ip: None,
            user_agent: None,
            credential_epoch: 1,
        };
        sessions.create_session(&session).await.unwrap();
    }
    let found = sessions.find_session("f1", 1500).await.unwrap().unwrap();
    sessions.delete_found_session(&found).await.unwrap();
    assert!(sessions.find_session("f1", 1500).await.unwrap().is_none());
    let listed: Vec<String> = sessions
        .list_sessions("u-found", 1500)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id_hash)
        .collect();
    assert_eq!(listed, ["f2"], "the other session stays");
    // Gone already (another node, a logout meanwhile): nothing to do, and no error.
    sessions.delete_found_session(&found).await.unwrap();
    assert!(sessions.find_session("f2", 1500).await.unwrap().is_some());
}

/// The replay cache of DPoP proofs: of many nodes racing with one `jti`, exactly one is first,
/// and the `jti` stays used until it expires.
pub async fn a_jti_is_used_first_exactly_once(stores: &Stores) {
    let kind = EphemeralKind::DpopJti;
    let racers = (0..20).map(|_| {
        let store = stores.ephemeral.clone();
        tokio::spawn(async move { store.first_use(kind, "jti-1", 1600, 1500).await.unwrap() })
    });
    let mut first = 0;
    for racer in racers {
        first += usize::from(racer.await.unwrap());
    }
    assert_eq!(first, 1);
    assert!(
        !stores
            .ephemeral
            .first_use(kind, "jti-1", 1600, 1550)
            .await
            .unwrap()
    );
    // Another jti, or the same id of another kind, is a different record.
    assert!(
        stores
            .ephemeral
            .first_use(kind, "jti-2", 1600, 1500)
            .await
            .unwrap()
    );
    assert!(
        stores
            .ephemeral
            .first_use(EphemeralKind::AssertionJti, "jti-1", 1600, 1500)
            .await
            .unwrap()
    );
}
