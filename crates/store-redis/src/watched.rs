//! The database's grants and clients, read through this node's view of revocations (see
//! [`crate::revocations`]): a check that a grant is active or a client enabled reads memory
//! while the node hears of changes; every change is announced to every node.

use std::sync::Arc;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{Client, EphemeralKind, Grant, Rotated, RotationCheck};
use idp_core::store::{ClientStore, GrantStore};

use crate::RedisStore;
use crate::revocations::Notice;

pub struct WatchedGrants {
    pub inner: Arc<dyn GrantStore>,
    pub redis: Arc<RedisStore>,
}

impl WatchedGrants {
    /// Announces the revocation even when the database answered with an error: the change
    /// may have been made all the same, and a needless notice costs only a read.
    async fn revoked(
        &self,
        done: Result<(), StoreError>,
        notice: Notice,
    ) -> Result<(), StoreError> {
        self.redis.announce(notice).await;
        done
    }
}

#[async_trait]
impl GrantStore for WatchedGrants {
    async fn create_grant(&self, grant: &Grant) -> Result<(), StoreError> {
        self.inner.create_grant(grant).await
    }

    async fn revoke_grant(&self, id: &str, now: UnixTime) -> Result<(), StoreError> {
        let done = self.inner.revoke_grant(id, now).await;
        self.revoked(done, Notice::Grant(id.to_owned())).await
    }

    async fn grant_is_active(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.grant_is_active(id).await
    }

    async fn active_grant_user_now(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.inner.active_grant_user(id).await
    }

    async fn active_grant_user(&self, id: &str) -> Result<Option<String>, StoreError> {
        let view = &self.redis.view;
        if let Some(user) = view.grant(id) {
            return Ok(user);
        }
        let ticket = view.ticket();
        let user = self.inner.active_grant_user(id).await?;
        view.keep_grant(ticket, id, user.clone());
        Ok(user)
    }

    async fn rotate(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
        next: (&str, UnixTime),
        check: RotationCheck,
    ) -> Result<Rotated, StoreError> {
        self.inner.rotate(kind, id, now, next, check).await
    }

    async fn revoke_grants_of(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let done = self.inner.revoke_grants_of(user_id, client_id, now).await;
        self.revoked(done, Notice::GrantsOfUser(user_id.to_owned()))
            .await
    }

    async fn move_session_grants(&self, from_sid: &str, to_sid: &str) -> Result<(), StoreError> {
        self.inner.move_session_grants(from_sid, to_sid).await
    }

    async fn revoke_grants_of_client(
        &self,
        client_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let done = self.inner.revoke_grants_of_client(client_id, now).await;
        self.revoked(done, Notice::Grants).await
    }

    async fn revoke_all_grants_of_user(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let done = self.inner.revoke_all_grants_of_user(user_id, now).await;
        self.revoked(done, Notice::GrantsOfUser(user_id.to_owned()))
            .await
    }

    async fn clients_of_session(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        self.inner.clients_of_session(sid).await
    }
}

pub struct WatchedClients {
    pub inner: Arc<dyn ClientStore>,
    pub redis: Arc<RedisStore>,
}

impl WatchedClients {
    async fn changed(&self, id: &str) {
        self.redis.announce(Notice::Client(id.to_owned())).await;
    }
}

#[async_trait]
impl ClientStore for WatchedClients {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        self.inner.create_client(client).await
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        self.inner.list_clients().await
    }

    /// From memory while this node hears of changes; from the database itself otherwise.
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let view = &self.redis.view;
        if let Some(client) = view.client(id) {
            return Ok(Some(client));
        }
        let ticket = view.ticket();
        let client = self.inner.find_client_now(id).await?;
        if let Some(client) = &client {
            view.keep_client(ticket, client);
        }
        Ok(client)
    }

    async fn find_client_now(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.inner.find_client_now(id).await
    }

    async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        let result = self.inner.update_client(client).await;
        self.changed(&client.id).await;
        result
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let result = self.inner.delete_client(id).await;
        self.changed(id).await;
        result
    }

    async fn create_initial_access_token(
        &self,
        id_hash: &str,
        uses: u32,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.inner
            .create_initial_access_token(id_hash, uses, expires_at, now)
            .await
    }

    async fn initial_access_token_uses(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<u32, StoreError> {
        self.inner.initial_access_token_uses(id_hash, now).await
    }

    async fn spend_initial_access_token(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.inner.spend_initial_access_token(id_hash, now).await
    }
}
