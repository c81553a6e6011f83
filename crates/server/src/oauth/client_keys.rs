//! Clients' public keys at their `jwks_uri`: fetched through [`outbound::fetch`], kept on
//! each node for as long as the answer's `Cache-Control` allows (clamped between a minute and
//! a day; five minutes when it says nothing), and fetched again when a signature names a key
//! the copy lacks (the client rotated its keys), at most once per
//! [`REFETCH_INTERVAL_SECS`] per client. A fetch holds only its own client's slot, so a slow
//! relying party delays no other client's requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use idp_core::model::Client;
use idp_oauth::client_keys::{ClientKeys, KeysUnavailable};

use super::outbound::{self, Caller};
use crate::state::AppState;

/// How long keys are kept when the answer does not say.
pub const DEFAULT_LIFETIME_SECS: i64 = 300;
/// The shortest and longest any answer is kept.
pub const MIN_LIFETIME_SECS: i64 = 60;
pub const MAX_LIFETIME_SECS: i64 = 86_400;
/// The least time between two fetches of one client's keys.
pub const REFETCH_INTERVAL_SECS: i64 = 10;

/// What the media types a JWK Set comes as.
const ACCEPT: &str = "application/jwk-set+json, application/json";

/// The keys fetched so far, one slot per client.
#[derive(Default)]
pub struct KeyCache {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

#[derive(Default)]
struct Slot {
    /// The URI the copy came from: a client that registers another starts afresh.
    uri: String,
    keys: Option<Arc<serde_json::Value>>,
    expires_at: i64,
    /// When the last fetch was made, and why it failed if it did.
    fetched_at: Option<i64>,
    failure: Option<String>,
    /// When a signature by a key the copy lacked last made it fetch again.
    refetched_at: Option<i64>,
}

impl KeyCache {
    fn slot(&self, client_id: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = match self.slots.lock() {
            Ok(slots) => slots,
            Err(poisoned) => poisoned.into_inner(),
        };
        slots.entry(client_id.to_owned()).or_default().clone()
    }
}

/// A client's keys as this node knows them: registered, or fetched from its `jwks_uri`.
pub struct ClientKeysOf<'a>(pub &'a AppState);

#[async_trait]
impl ClientKeys for ClientKeysOf<'_> {
    async fn jwks(
        &self,
        client: &Client,
        fresh: bool,
    ) -> Result<Arc<serde_json::Value>, KeysUnavailable> {
        if let Some(jwks) = &client.metadata.jwks {
            return Ok(Arc::new(jwks.clone()));
        }
        let Some(uri) = &client.metadata.jwks_uri else {
            return Err(KeysUnavailable("the client registered no keys".into()));
        };
        let state = self.0;
        let slot = state.client_keys.slot(&client.id);
        let mut slot = slot.lock().await;
        if slot.uri != *uri {
            *slot = Slot {
                uri: uri.clone(),
                ..Slot::default()
            };
        }
        let now = state.now();
        let recent = |at: Option<i64>| at.is_some_and(|at| now - at < REFETCH_INTERVAL_SECS);
        match slot.keys.clone().filter(|_| now < slot.expires_at) {
            Some(keys) if !fresh || recent(slot.refetched_at) => return Ok(keys),
            Some(_) => slot.refetched_at = Some(now),
            // A failed fetch is not repeated at once either.
            None if recent(slot.fetched_at) && slot.failure.is_some() => {
                let why = slot.failure.clone().unwrap_or_default();
                return Err(KeysUnavailable(why));
            }
            None => {}
        }
        slot.fetched_at = Some(now);
        match fetch(state, client, uri).await {
            Ok((keys, lifetime)) => {
                let keys = Arc::new(keys);
                slot.keys = Some(keys.clone());
                slot.expires_at = now + lifetime;
                slot.failure = None;
                Ok(keys)
            }
            Err(why) => {
                tracing::info!(client_id = %client.id, "jwks_uri: {why}");
                slot.failure = Some(why.clone());
                // A refetch for an unknown `kid` (which anyone can ask for) that fails keeps
                // the keys still within their lifetime: the client's own keys go on working.
                match slot.keys.clone().filter(|_| now < slot.expires_at) {
                    Some(keys) => Ok(keys),
                    None => {
                        slot.keys = None;
                        Err(KeysUnavailable(why))
                    }
                }
            }
        }
    }
}

/// The JWK Set at `uri` and how long to keep it.
async fn fetch(
    state: &AppState,
    client: &Client,
    uri: &str,
) -> Result<(serde_json::Value, i64), String> {
    let caller = if client.metadata.first_party {
        Caller::Trusted
    } else {
        Caller::Registered
    };
    let fetched = outbound::fetch(&state.http, uri, caller, ACCEPT)
        .await
        .map_err(|e| e.to_string())?;
    let keys: serde_json::Value = serde_json::from_slice(&fetched.body)
        .map_err(|_| "the document at jwks_uri is not JSON".to_owned())?;
    if keys["keys"].as_array().is_none() {
        return Err("the document at jwks_uri is not a JWK Set".into());
    }
    let lifetime = fetched
        .max_age
        .map_or(DEFAULT_LIFETIME_SECS, |age| {
            i64::try_from(age.as_secs()).unwrap_or(MAX_LIFETIME_SECS)
        })
        .clamp(MIN_LIFETIME_SECS, MAX_LIFETIME_SECS);
    Ok((keys, lifetime))
}
