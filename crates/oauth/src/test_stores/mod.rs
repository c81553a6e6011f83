//! Stores just big enough for this crate's tests, in memory: one client, short-lived records
//! (with the refresh tokens' rotation), grants, people and their consents, and the keys and
//! counter a test issuer signs and counts with.

mod grants;
mod issuing;
mod people;
mod records;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{Client, ClientMetadata, SigningAlg, TokenEndpointAuthMethod};
use idp_core::store::ClientStore;

pub use grants::MemoryGrants;
pub use issuing::{CountedTokens, key_set};
pub use people::{MemoryConsents, MemoryUsers, person};
pub use records::{MemoryEphemeral, MemoryRotation};

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
    async fn create_initial_access_token(
        &self,
        _: &str,
        _: u32,
        _: UnixTime,
        _: UnixTime,
    ) -> Result<(), StoreError> {
        Err(StoreError::Conflict("read only"))
    }
    async fn initial_access_token_uses(&self, _: &str, _: UnixTime) -> Result<u32, StoreError> {
        Ok(0)
    }
    async fn spend_initial_access_token(&self, _: &str, _: UnixTime) -> Result<bool, StoreError> {
        Ok(false)
    }
}
