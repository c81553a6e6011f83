//! Grants in memory: created, then active until revoked.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{EphemeralKind, Grant, Rotated, RotationCheck};
use idp_core::store::GrantStore;

/// Grants by id; the refresh tokens' rotation is `MemoryRotation`'s.
#[derive(Default)]
pub struct MemoryGrants(Mutex<HashMap<String, Grant>>);

impl MemoryGrants {
    /// The grant stored under `id`, as it is now.
    pub fn get(&self, id: &str) -> Option<Grant> {
        self.0.lock().unwrap().get(id).cloned()
    }

    /// Whether the grant `id` is active and was given by `user_id`.
    pub fn is_of(&self, id: &str, user_id: &str) -> bool {
        self.get(id)
            .is_some_and(|grant| grant.revoked_at.is_none() && grant.user_id == user_id)
    }
}

#[async_trait]
impl GrantStore for MemoryGrants {
    async fn create_grant(&self, grant: &Grant) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap()
            .insert(grant.id.clone(), grant.clone());
        Ok(())
    }
    async fn revoke_grant(&self, id: &str, now: UnixTime) -> Result<(), StoreError> {
        if let Some(grant) = self.0.lock().unwrap().get_mut(id) {
            grant.revoked_at.get_or_insert(now);
        }
        Ok(())
    }
    async fn grant_is_active(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.get(id).is_some_and(|grant| grant.revoked_at.is_none()))
    }
    async fn active_grant_user(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(id)
            .filter(|grant| grant.revoked_at.is_none())
            .map(|grant| grant.user_id))
    }
    async fn rotate(
        &self,
        _: EphemeralKind,
        _: &str,
        _: UnixTime,
        _: (&str, UnixTime),
        _: RotationCheck,
    ) -> Result<Rotated, StoreError> {
        unreachable!("the refresh grant rotates through MemoryRotation")
    }
    async fn revoke_grants_of(&self, _: &str, _: &str, _: UnixTime) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn move_session_grants(&self, _: &str, _: &str) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn revoke_grants_of_client(&self, _: &str, _: UnixTime) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn revoke_all_grants_of_user(&self, _: &str, _: UnixTime) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn clients_of_session(&self, _: &str) -> Result<Vec<String>, StoreError> {
        unreachable!("not used by these tests")
    }
}
