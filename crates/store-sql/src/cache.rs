//! A short-lived, per-node cache of clients: every token, introspection and authorization
//! request looks its client up, and clients change rarely. A change made through this node is
//! seen at once; one made through another node within [`CLIENT_TTL`]. Administration and
//! changes to a client read the store itself (`find_client_now`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::Client;
use idp_core::store::ClientStore;

/// How long a client read from the store is served from memory.
pub const CLIENT_TTL: Duration = Duration::from_secs(2);
/// Clients kept at most; past it the cache starts over (clients are few; ids are not guessed
/// into it, since unknown ids are never cached).
const MAX_CLIENTS: usize = 10_000;

pub struct CachedClients {
    inner: Arc<dyn ClientStore>,
    found: Mutex<HashMap<String, (Instant, Client)>>,
    /// Bumped after every change through this node: a read that started before a change does
    /// not put what it read into the cache.
    changes: AtomicU64,
}

impl CachedClients {
    pub fn new(inner: Arc<dyn ClientStore>) -> Self {
        Self {
            inner,
            found: Mutex::default(),
            changes: AtomicU64::new(0),
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut found) = self.found.lock() {
            self.changes.fetch_add(1, Ordering::SeqCst);
            found.remove(id);
        }
    }
}

#[async_trait]
impl ClientStore for CachedClients {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let result = self.inner.create_client(client).await;
        self.forget(&client.id);
        result
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        self.inner.list_clients().await
    }

    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        if let Ok(found) = self.found.lock()
            && let Some((at, client)) = found.get(id)
            && at.elapsed() < CLIENT_TTL
        {
            return Ok(Some(client.clone()));
        }
        let before = self.changes.load(Ordering::SeqCst);
        let client = self.inner.find_client(id).await?;
        if let (Some(client), Ok(mut found)) = (&client, self.found.lock())
            && self.changes.load(Ordering::SeqCst) == before
        {
            if found.len() >= MAX_CLIENTS {
                found.clear();
            }
            found.insert(id.to_owned(), (Instant::now(), client.clone()));
        }
        Ok(client)
    }

    async fn find_client_now(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.inner.find_client(id).await
    }

    async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        let result = self.inner.update_client(client).await;
        self.forget(&client.id);
        result
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let result = self.inner.delete_client(id).await;
        self.forget(id);
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
