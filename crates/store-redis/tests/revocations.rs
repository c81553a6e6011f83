//! Two nodes over one database and one Redis, each listening for the other's notices: what
//! one revokes the other refuses at once, from memory while it hears of changes and from the
//! database when it cannot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use idp_core::clock::ManualClock;
use idp_core::model::EphemeralKind;
use idp_core::store::Stores;
use idp_store_contract::{client, given_users, grant};
use idp_store_redis::RedisStore;

struct Node {
    stores: Stores,
    redis: Arc<RedisStore>,
}

async fn node(redis_url: &str, prefix: &str, database_url: &str) -> Node {
    let clock = Arc::new(ManualClock::new(1000));
    let redis = Arc::new(RedisStore::open(redis_url, prefix, [7; 32], clock).unwrap());
    let stores = idp_store_redis::layer(
        idp_store_sql::open(database_url, 4).await.unwrap(),
        redis.clone(),
    );
    let watcher = redis.clone();
    tokio::spawn(async move { watcher.watch(|| async {}).await });
    Node { stores, redis }
}

/// Waits (on the real clock: the subscription is a real connection) until `done` holds.
async fn within(limit: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if done().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Whether `node` takes the grant `id` for active, as an access token's check does.
async fn active(node: &Node, id: &str) -> bool {
    node.stores
        .grants
        .active_grant_user(id)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_node_revokes_every_node_refuses_at_once() {
    let Ok(redis_url) = std::env::var("IDP_TEST_REDIS_URL") else {
        eprintln!("skipped: IDP_TEST_REDIS_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("nodes.db").display());
    let prefix = format!("idp-unit-{:016x}:", rand::random::<u64>());
    let a = node(&redis_url, &prefix, &database_url).await;
    let b = node(&redis_url, &prefix, &database_url).await;
    for node in [&a, &b] {
        let redis = node.redis.clone();
        within(Duration::from_secs(5), "subscribed", async || {
            redis.hears_revocations()
        })
        .await;
    }
    let fast = Duration::from_millis(100);

    // A grant ended at one node.
    given_users(
        &a.stores,
        &[
            ("u1", "one"),
            ("u2", "two"),
            ("u3", "three"),
            ("u5", "five"),
        ],
    )
    .await;
    for id in ["c1", "c9"] {
        a.stores.clients.create_client(&client(id)).await.unwrap();
    }
    for (id, user) in [("g1", "u1"), ("g2", "u1"), ("g3", "u2"), ("g4", "u3")] {
        a.stores
            .grants
            .create_grant(&grant(id, user, "c1"))
            .await
            .unwrap();
    }
    for id in ["g1", "g2", "g3", "g4"] {
        assert!(active(&b, id).await, "{id}");
    }
    a.stores.grants.revoke_grant("g1", 1100).await.unwrap();
    within(fast, "a grant revoked", async || !active(&b, "g1").await).await;
    // Every grant of a person (a password change).
    a.stores
        .grants
        .revoke_all_grants_of_user("u1", 1100)
        .await
        .unwrap();
    within(fast, "a person's grants revoked", async || {
        b.stores
            .grants
            .active_grant_user("g2")
            .await
            .unwrap()
            .is_none()
    })
    .await;
    assert_eq!(
        b.stores
            .grants
            .active_grant_user("g3")
            .await
            .unwrap()
            .as_deref(),
        Some("u2")
    );
    // Every grant of a client (it was disabled).
    a.stores
        .grants
        .revoke_grants_of_client("c1", 1100)
        .await
        .unwrap();
    within(fast, "a client's grants revoked", async || {
        !active(&b, "g3").await
    })
    .await;

    // An access token revoked on its own.
    let revoked = EphemeralKind::RevokedAccessToken;
    assert!(
        !b.stores
            .ephemeral
            .contains(revoked, "jti-1", 1000)
            .await
            .unwrap()
    );
    a.stores
        .ephemeral
        .put(
            revoked,
            "jti-1",
            &serde_json::json!({"client_id": "c1"}),
            2000,
        )
        .await
        .unwrap();
    within(fast, "a token revoked", async || {
        b.stores
            .ephemeral
            .contains(revoked, "jti-1", 1000)
            .await
            .unwrap()
    })
    .await;
    assert!(
        !b.stores
            .ephemeral
            .contains(revoked, "jti-1", 2000)
            .await
            .unwrap(),
        "until it would have expired"
    );

    // A client disabled.
    let mut client = client("c2");
    a.stores.clients.create_client(&client).await.unwrap();
    assert!(b.stores.clients.find_client("c2").await.unwrap().is_some());
    client.metadata.disabled = true;
    a.stores.clients.update_client(&client).await.unwrap();
    within(fast, "a client disabled", async || {
        b.stores.clients.find_client("c2").await.unwrap().is_none()
    })
    .await;

    // A person's claims (UserInfo) changed.
    let email = async |node: &Node| {
        let person = node.stores.users.find_user_for_claims("u3").await.unwrap();
        person.unwrap().email
    };
    let before = email(&b).await;
    a.stores
        .users
        .set_email("u3", "new@example.com", true)
        .await
        .unwrap();
    within(fast, "a changed e-mail address", async || {
        email(&b).await == "new@example.com"
    })
    .await;
    assert_ne!(before, "new@example.com");

    // While it hears of changes, a node answers from memory: a change made behind the
    // notices' back (straight in the database) is not seen...
    b.stores
        .grants
        .create_grant(&grant("g5", "u5", "c9"))
        .await
        .unwrap();
    assert!(active(&b, "g5").await);
    let behind = idp_store_sql::open(&database_url, 1).await.unwrap();
    behind.grants.revoke_grant("g5", 1200).await.unwrap();
    assert!(active(&b, "g5").await, "held");
    // What issues tokens reads the database all the same.
    assert!(!b.stores.grants.grant_is_active("g5").await.unwrap());
    assert_eq!(
        b.stores.grants.active_grant_user_now("g5").await.unwrap(),
        None
    );
    // A notice without the nodes' seal is ignored: whoever can publish on Redis cannot make a
    // node forget (or learn) anything.
    let client = ::redis::Client::open(redis_url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let channel = format!("{prefix}revoked");
    for forged in ["grant g5", "0000.grant g5", "grants"] {
        let _: i64 = ::redis::AsyncCommands::publish(&mut raw, &channel, forged)
            .await
            .unwrap();
    }
    a.stores
        .grants
        .create_grant(&grant("g6", "u5", "c9"))
        .await
        .unwrap();
    assert!(active(&b, "g6").await);
    a.stores.grants.revoke_grant("g6", 1200).await.unwrap();
    within(fast, "a sealed notice after the forged ones", async || {
        !active(&b, "g6").await
    })
    .await;
    assert!(
        active(&b, "g5").await,
        "still held: the forged notices were ignored"
    );
    // ...but once it cannot hear (its subscription dropped), it reads the database itself.
    let _: i64 = ::redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut raw)
        .await
        .unwrap();
    within(Duration::from_secs(2), "unsubscribed", async || {
        !b.redis.hears_revocations()
    })
    .await;
    assert!(!active(&b, "g5").await);
    // It subscribes again, and holds nothing from before.
    within(Duration::from_secs(5), "resubscribed", async || {
        b.redis.hears_revocations()
    })
    .await;
    assert!(!active(&b, "g5").await);
}
