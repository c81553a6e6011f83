//! The cache contract on Redis (in front of a SQLite database): every rule a test of its own,
//! each under a key prefix of its own; and what sealing the records keeps out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use idp_core::clock::ManualClock;
use idp_core::store::Stores;
use idp_store_contract::Fixture;
use idp_store_redis::RedisStore;

/// Stores with Redis in front, under a new key prefix; `None` without `IDP_TEST_REDIS_URL`.
async fn open_with_prefix() -> Option<(Stores, String, String, tempfile::TempDir)> {
    let Ok(redis_url) = std::env::var("IDP_TEST_REDIS_URL") else {
        eprintln!("skipped: IDP_TEST_REDIS_URL is not set");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("contract.db").display());
    let prefix = format!("idp-unit-{:016x}:", rand::random::<u64>());
    // The contract's times are around 1000; the clock says when "now" is for expiry.
    let clock = Arc::new(ManualClock::new(1000));
    let redis = RedisStore::open(&redis_url, &prefix, [7; 32], clock).unwrap();
    let stores =
        idp_store_redis::layer(idp_store_sql::open(&url, 8).await.unwrap(), Arc::new(redis));
    Some((stores, redis_url, prefix, dir))
}

async fn open() -> Option<Fixture> {
    let (stores, _, _, dir) = open_with_prefix().await?;
    Some(Fixture::new(stores).then(async move { drop(dir) }))
}

idp_store_contract::cache_contract!(open);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_cannot_be_forged_or_moved() {
    let Some((stores, redis_url, prefix, _dir)) = open_with_prefix().await else {
        return;
    };
    // Whoever can write to Redis cannot forge or alter a session: it is refused.
    let session = idp_core::model::Session {
        id_hash: "sealed".into(),
        sid: "sid-sealed".into(),
        user_id: "victim".into(),
        auth_time: 1000,
        acr: "acr".into(),
        amr: vec!["pwd".into()],
        created_at: 1000,
        expires_at: 5000,
        ip: None,
        user_agent: None,
        credential_epoch: 3,
    };
    stores.sessions.create_session(&session).await.unwrap();
    let client = ::redis::Client::open(redis_url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}session:sealed");
    let stored: String = ::redis::AsyncCommands::get(&mut raw, &key).await.unwrap();
    let forged = stored.replace("\"victim\"", "\"admin\"");
    let _: () = ::redis::AsyncCommands::set(&mut raw, &key, forged)
        .await
        .unwrap();
    assert!(matches!(
        stores.sessions.find_session("sealed", 1500).await,
        Err(idp_core::StoreError::Corrupt(_))
    ));
    let moved = format!("{prefix}session:other");
    let _: () = ::redis::AsyncCommands::set(&mut raw, &moved, stored)
        .await
        .unwrap();
    assert!(
        stores.sessions.find_session("other", 1500).await.is_err(),
        "a session copied under another cookie is refused"
    );
}

/// What Redis keeps expires by itself: every record a sign-in leaves and every session; a
/// person's session index outlives the longest of their sessions, never shorter.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn records_sessions_and_their_index_expire_in_redis() {
    let Some((stores, redis_url, prefix, _dir)) = open_with_prefix().await else {
        return;
    };
    let client = ::redis::Client::open(redis_url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    // The clock says 1000.
    let kind = idp_core::model::EphemeralKind::Interaction;
    let payload = serde_json::json!({"step": 1});
    stores
        .ephemeral
        .put(kind, "i-ttl", &payload, 1600)
        .await
        .unwrap();
    assert!(
        (590..=600)
            .contains(&seconds_left(&mut raw, &format!("{prefix}eph:interaction:i-ttl")).await)
    );
    assert_eq!(
        stores.ephemeral.get(kind, "i-ttl", 1001).await.unwrap(),
        Some(payload)
    );
    let session = |id: &str, expires_at| idp_core::model::Session {
        id_hash: id.into(),
        sid: format!("sid-{id}"),
        user_id: "ttl-user".into(),
        auth_time: 1000,
        acr: "acr".into(),
        amr: vec!["pwd".into()],
        created_at: 1000,
        expires_at,
        ip: None,
        user_agent: None,
        credential_epoch: 1,
    };
    stores
        .sessions
        .create_session(&session("long", 6000))
        .await
        .unwrap();
    assert!(
        (4990..=5000)
            .contains(&seconds_left(&mut raw, &format!("{prefix}user-sessions:ttl-user")).await)
    );
    stores
        .sessions
        .create_session(&session("short", 1100))
        .await
        .unwrap();
    assert!((90..=100).contains(&seconds_left(&mut raw, &format!("{prefix}session:short")).await));
    assert!(
        (4990..=5000)
            .contains(&seconds_left(&mut raw, &format!("{prefix}user-sessions:ttl-user")).await),
        "a shorter session does not shorten the index"
    );
    stores
        .sessions
        .create_session(&session("longer", 9000))
        .await
        .unwrap();
    assert!(
        (7990..=8000)
            .contains(&seconds_left(&mut raw, &format!("{prefix}user-sessions:ttl-user")).await)
    );
    let listed = stores
        .sessions
        .list_sessions("ttl-user", 1000)
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    // Once the short one has ended it leaves the index.
    let listed = stores
        .sessions
        .list_sessions("ttl-user", 1200)
        .await
        .unwrap();
    let mut ids: Vec<_> = listed.iter().map(|s| s.id_hash.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["long", "longer"]);
    // A session deleted as found leaves its person's index at once.
    let found = stores
        .sessions
        .find_session("long", 1200)
        .await
        .unwrap()
        .unwrap();
    stores.sessions.delete_found_session(&found).await.unwrap();
    let index = format!("{prefix}user-sessions:ttl-user");
    let listed: Vec<String> = ::redis::cmd("ZRANGE")
        .arg(&index)
        .arg(0)
        .arg(-1)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(listed, ["longer"]);
}

async fn seconds_left(raw: &mut ::redis::aio::MultiplexedConnection, key: &str) -> i64 {
    ::redis::cmd("TTL").arg(key).query_async(raw).await.unwrap()
}
