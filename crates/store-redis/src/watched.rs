//! The database's grants, clients and people, read through this node's view of revocations
//! (see [`crate::revocations`]): a check that a grant is active or a client enabled, and the
//! claims UserInfo releases, read memory while the node hears of changes; every change is
//! announced to every node.

use std::sync::Arc;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{
    Client, EphemeralKind, Grant, NewUser, Profile, Roles, Rotated, RotationCheck, User,
};
use idp_core::security_questions::SecurityAnswer;
use idp_core::store::{ClientStore, GrantStore, UserStore};

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

    /// From memory while this node hears of changes (read from the database itself when it
    /// is not held); otherwise as the store below keeps clients (a per-node cache of a
    /// couple of seconds), as without Redis.
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let view = &self.redis.view;
        if let Some(client) = view.client(id) {
            return Ok(Some(client));
        }
        let ticket = view.ticket();
        if !ticket.is_live() {
            return self.inner.find_client(id).await;
        }
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

/// People, read for their claims through the view (see `UserStore::find_user_for_claims`);
/// every change to an account is announced. Everything else reads the database.
pub struct WatchedUsers {
    pub inner: Arc<dyn UserStore>,
    pub redis: Arc<RedisStore>,
}

impl WatchedUsers {
    /// Announces a change to `user_id`'s account, even when the database answered with an
    /// error (it may have been made all the same).
    async fn changed<T>(
        &self,
        user_id: &str,
        done: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.redis
            .announce(Notice::Person(user_id.to_owned()))
            .await;
        done
    }
}

#[async_trait]
impl UserStore for WatchedUsers {
    async fn create_user(&self, user: &NewUser) -> Result<(), StoreError> {
        self.inner.create_user(user).await
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_user(id).await
    }

    async fn find_user_for_claims(&self, id: &str) -> Result<Option<User>, StoreError> {
        let view = &self.redis.view;
        if let Some(person) = view.person(id) {
            return Ok(Some(person));
        }
        let ticket = view.ticket();
        let person = self.inner.find_user(id).await?;
        if let Some(person) = &person {
            view.keep_person(ticket, person);
        }
        Ok(person)
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_user_by_username(username).await
    }

    async fn set_pin(&self, user_id: &str, pin_hash: Option<&str>) -> Result<(), StoreError> {
        let done = self.inner.set_pin(user_id, pin_hash).await;
        self.changed(user_id, done).await
    }

    async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<(), StoreError> {
        let done = self.inner.set_password(user_id, password_hash).await;
        self.changed(user_id, done).await
    }

    async fn upgrade_password_hash(
        &self,
        user_id: &str,
        current: &str,
        upgraded: &str,
    ) -> Result<bool, StoreError> {
        // The same password, hashed anew: nothing anyone reads from memory changes.
        self.inner
            .upgrade_password_hash(user_id, current, upgraded)
            .await
    }

    async fn upgrade_pin_hash(
        &self,
        user_id: &str,
        current: &str,
        upgraded: &str,
    ) -> Result<bool, StoreError> {
        self.inner
            .upgrade_pin_hash(user_id, current, upgraded)
            .await
    }

    async fn set_disabled(
        &self,
        user_id: &str,
        disabled_at: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        let done = self.inner.set_disabled(user_id, disabled_at).await;
        self.changed(user_id, done).await
    }

    async fn set_security_questions(
        &self,
        user_id: &str,
        answers: &[SecurityAnswer],
    ) -> Result<(), StoreError> {
        let done = self.inner.set_security_questions(user_id, answers).await;
        self.changed(user_id, done).await
    }

    async fn set_email(
        &self,
        user_id: &str,
        email: &str,
        verified: bool,
    ) -> Result<(), StoreError> {
        let done = self.inner.set_email(user_id, email, verified).await;
        self.changed(user_id, done).await
    }

    async fn set_phone(
        &self,
        user_id: &str,
        phone: Option<&str>,
        verified: bool,
    ) -> Result<(), StoreError> {
        let done = self.inner.set_phone(user_id, phone, verified).await;
        self.changed(user_id, done).await
    }

    async fn set_profile(&self, user_id: &str, profile: &Profile) -> Result<(), StoreError> {
        let done = self.inner.set_profile(user_id, profile).await;
        self.changed(user_id, done).await
    }

    async fn set_roles(&self, user_id: &str, roles: Roles) -> Result<(), StoreError> {
        let done = self.inner.set_roles(user_id, roles).await;
        self.changed(user_id, done).await
    }

    async fn search_users(
        &self,
        text: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        self.inner.search_users(text, after, limit).await
    }
}
