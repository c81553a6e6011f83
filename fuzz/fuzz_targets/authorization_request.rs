//! An authorization request, as any browser may send it: the query or form is parsed and
//! checked against one registered client. It must be refused or accepted, never panic.
#![no_main]

use idp_core::StoreError;
use idp_core::model::{Client, ClientMetadata, SigningAlg, TokenEndpointAuthMethod};
use idp_core::store::ClientStore;
use idp_oauth::authorization_request::{Arrival, check};
use libfuzzer_sys::fuzz_target;

/// One client, known by id.
struct OneClient(Client);

#[async_trait::async_trait]
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

fuzz_target!(|data: &[u8]| {
    let client = Client {
        id: "c1".into(),
        name: "Tax Portal".into(),
        secret_hash: None,
        redirect_uris: vec![
            "https://rp.example/cb".into(),
            "http://127.0.0.1:9/callback".into(),
        ],
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        id_token_signed_response_alg: SigningAlg::ES256,
        admin: false,
        created_at: 0,
        metadata: ClientMetadata::default(),
    };
    let store = OneClient(client);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _ = runtime.block_on(check(pairs, &store, Arrival::Direct));
});
