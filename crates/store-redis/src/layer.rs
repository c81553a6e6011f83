//! Redis in front of the database: what it takes over, and the records that stay behind.

use std::sync::Arc;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{Consumed, EphemeralKind};
use idp_core::store::{EphemeralStore, HealthCheck, Stores};

use crate::RedisStore;
use crate::revocations::{MAX_REVOKED, Notice, Revoked};
use crate::watched::{WatchedClients, WatchedGrants, WatchedUsers};

/// Moves sessions, short-lived records and throttling to Redis, shared by every node;
/// durable records stay in the database.
pub fn layer(stores: Stores, redis: Arc<RedisStore>) -> Stores {
    Stores {
        sessions: redis.clone(),
        ephemeral: Arc::new(SplitEphemeral {
            durable: stores.ephemeral,
            cache: redis.clone(),
            redis: redis.clone(),
        }),
        grants: Arc::new(WatchedGrants {
            inner: stores.grants,
            redis: redis.clone(),
        }),
        clients: Arc::new(WatchedClients {
            inner: stores.clients,
            redis: redis.clone(),
        }),
        users: Arc::new(WatchedUsers {
            inner: stores.users,
            redis: redis.clone(),
        }),
        throttle: redis.clone(),
        health: stores
            .health
            .into_iter()
            .chain([("redis", redis as Arc<dyn HealthCheck>)])
            .collect(),
        ..stores
    }
}

/// Short-lived records in the cache, the ones that must survive a cache restart (refresh
/// tokens, revocations, initial access tokens) in the database; revoked tokens' `jti`s also
/// in this node's view (see [`crate::revocations`]).
struct SplitEphemeral {
    durable: Arc<dyn EphemeralStore>,
    cache: Arc<dyn EphemeralStore>,
    redis: Arc<RedisStore>,
}

/// The revoked tokens' `jti`s a node's view holds.
const REVOKED: EphemeralKind = EphemeralKind::RevokedAccessToken;

impl SplitEphemeral {
    fn store(&self, kind: EphemeralKind) -> &dyn EphemeralStore {
        if kind.is_durable() {
            self.durable.as_ref()
        } else {
            self.cache.as_ref()
        }
    }
}

#[async_trait]
impl EphemeralStore for SplitEphemeral {
    async fn put(
        &self,
        kind: EphemeralKind,
        id: &str,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let put = self.store(kind).put(kind, id, payload, expires_at).await;
        if kind == REVOKED {
            let jti = id.to_owned();
            self.redis.announce(Notice::Token { jti, expires_at }).await;
        }
        put
    }

    async fn contains(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        if kind != REVOKED {
            return self.store(kind).contains(kind, id, now).await;
        }
        let view = &self.redis.view;
        match view.revoked(id, now) {
            Revoked::Known(revoked) => Ok(revoked),
            Revoked::ReadOne => self.durable.contains(kind, id, now).await,
            Revoked::ReadAll(ticket) => {
                let all = self.durable.live_ids(kind, now, MAX_REVOKED).await;
                let all = match all {
                    Ok(all) => all,
                    Err(error) => {
                        view.keep_revoked(ticket, None);
                        return Err(error);
                    }
                };
                let revoked = all.as_ref().map(|all| all.iter().any(|(jti, _)| jti == id));
                view.keep_revoked(ticket, all);
                match revoked {
                    Some(revoked) => Ok(revoked),
                    None => self.durable.contains(kind, id, now).await,
                }
            }
        }
    }

    async fn get(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.store(kind).get(kind, id, now).await
    }

    async fn consume(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Consumed, StoreError> {
        self.store(kind).consume(kind, id, now).await
    }

    async fn delete(&self, kind: EphemeralKind, id: &str) -> Result<(), StoreError> {
        self.store(kind).delete(kind, id).await
    }

    async fn first_use(
        &self,
        kind: EphemeralKind,
        id: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.store(kind).first_use(kind, id, expires_at, now).await
    }

    async fn live_ids(
        &self,
        kind: EphemeralKind,
        now: UnixTime,
        limit: usize,
    ) -> Result<Option<Vec<(String, UnixTime)>>, StoreError> {
        self.store(kind).live_ids(kind, now, limit).await
    }

    async fn purge_expired(&self, before: UnixTime) -> Result<u64, StoreError> {
        Ok(self.durable.purge_expired(before).await? + self.cache.purge_expired(before).await?)
    }
}
