//! Stores just big enough for this crate's tests: one client, short-lived records in memory,
//! and grants that are active unless revoked.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{
    Client, ClientMetadata, Consumed, EphemeralKind, Grant, Rotated, RotationCheck, SigningAlg,
    TokenEndpointAuthMethod,
};
use idp_core::store::{ClientStore, EphemeralStore, GrantStore};

pub fn client(id: &str, method: TokenEndpointAuthMethod, secret_hash: Option<String>) -> Client {
    Client {
        id: id.to_owned(),
        name: id.to_owned(),
        secret_hash,
        redirect_uris: vec!["https://rp.example/cb".to_owned()],
        token_endpoint_auth_method: method,
        id_token_signed_response_alg: SigningAlg::ES256,
        admin: false,
        created_at: 0,
        metadata: ClientMetadata::default(),
    }
}

/// One client, known by id.
pub struct OneClient(pub Client);

#[async_trait]
impl ClientStore for OneClient {
    async fn create_client(&self, _: &Client) -> Result<(), StoreError> {
        Err(StoreError::Conflict("read only"))
    }
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        Ok(vec![self.0.clone()])
    }
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        Ok((id == self.0.id).then(|| self.0.clone()))
    }
    async fn update_client(&self, _: &Client) -> Result<(), StoreError> {
        Err(StoreError::Conflict("read only"))
    }
    async fn delete_client(&self, _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
}

/// Records by kind and id: payload, expiry, consumed.
#[derive(Default)]
pub struct MemoryEphemeral(Mutex<HashMap<String, (serde_json::Value, UnixTime, bool)>>);

fn key(kind: EphemeralKind, id: &str) -> String {
    format!("{kind:?}:{id}")
}

#[async_trait]
impl EphemeralStore for MemoryEphemeral {
    async fn put(
        &self,
        kind: EphemeralKind,
        id: &str,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let mut records = self.0.lock().unwrap();
        let consumed = records.get(&key(kind, id)).is_some_and(|r| r.2);
        records.insert(key(kind, id), (payload.clone(), expires_at, consumed));
        Ok(())
    }
    async fn get(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let records = self.0.lock().unwrap();
        Ok(records
            .get(&key(kind, id))
            .filter(|(_, expires_at, consumed)| *expires_at > now && !consumed)
            .map(|(payload, _, _)| payload.clone()))
    }
    async fn consume(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Consumed, StoreError> {
        let mut records = self.0.lock().unwrap();
        Ok(match records.get_mut(&key(kind, id)) {
            Some((_, expires_at, _)) if *expires_at <= now => Consumed::Missing,
            Some((payload, _, consumed)) if *consumed => Consumed::Replayed(payload.clone()),
            Some((payload, _, consumed)) => {
                *consumed = true;
                Consumed::Fresh(payload.clone())
            }
            None => Consumed::Missing,
        })
    }
    async fn delete(&self, kind: EphemeralKind, id: &str) -> Result<(), StoreError> {
        self.0.lock().unwrap().remove(&key(kind, id));
        Ok(())
    }
    async fn purge_expired(&self, before: UnixTime) -> Result<u64, StoreError> {
        let mut records = self.0.lock().unwrap();
        let count = records.len();
        records.retain(|_, (_, expires_at, _)| *expires_at >= before);
        Ok((count - records.len()) as u64)
    }
}

/// Grants by id, active unless revoked; only `revoke_grant` and `grant_is_active` are used.
#[derive(Default)]
pub struct RevokedGrants(Mutex<Vec<String>>);

#[async_trait]
impl GrantStore for RevokedGrants {
    async fn create_grant(&self, _: &Grant) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn revoke_grant(&self, id: &str, _: UnixTime) -> Result<(), StoreError> {
        self.0.lock().unwrap().push(id.to_owned());
        Ok(())
    }
    async fn grant_is_active(&self, id: &str) -> Result<bool, StoreError> {
        Ok(!self.0.lock().unwrap().iter().any(|revoked| revoked == id))
    }
    async fn rotate(
        &self,
        _: EphemeralKind,
        _: &str,
        _: UnixTime,
        _: (&str, UnixTime),
        _: RotationCheck,
    ) -> Result<Rotated, StoreError> {
        unreachable!("not used by these tests")
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
