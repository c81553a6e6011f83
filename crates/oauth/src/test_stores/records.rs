//! Short-lived records in memory, and the refresh tokens' rotation over them.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{Consumed, EphemeralKind, GrantOwner, Rotated, RotationCheck};
use idp_core::store::EphemeralStore;

use super::{MemoryGrants, MemoryUsers};
use crate::refresh_token::{Durable, RefreshRotation};

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

/// The rotation of refresh tokens over `records`, as the database does it: the record is
/// judged, then its grant (active, of the record's user, who is not disabled), then it is spent
/// and stored again under the next id. When `lands` is false the outcome is answered but the
/// write never becomes durable: nothing is changed and the durable future fails, as when the
/// batch a write joined fails.
pub struct MemoryRotation<'a> {
    pub records: &'a MemoryEphemeral,
    pub grants: &'a MemoryGrants,
    pub users: &'a MemoryUsers,
    pub lands: bool,
}

#[async_trait]
impl RefreshRotation for MemoryRotation<'_> {
    async fn rotate_early(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
        next: (&str, UnixTime),
        check: RotationCheck,
    ) -> Result<(Rotated, Durable), StoreError> {
        let found = self.records.0.lock().unwrap().get(&key(kind, id)).cloned();
        let rotated = match found {
            None => Rotated::Missing,
            Some((payload, _, true)) => Rotated::Replayed(payload),
            Some((_, expires_at, false)) if expires_at <= now => Rotated::Missing,
            Some((payload, _, false)) => {
                let payload = payload.to_string();
                // As the database does: a record known to pass is not judged again, only its
                // grant and user checked.
                let owner = match &check.judged {
                    Some(grant_id) => self.grants.get(grant_id).map(|grant| GrantOwner {
                        grant_id: grant.id,
                        user_id: grant.user_id,
                    }),
                    None => (check.judge)(&payload),
                };
                match owner {
                    None => Rotated::Refused(payload),
                    Some(owner) => {
                        let active = self.grants.is_of(&owner.grant_id, &owner.user_id)
                            && self.users.is_enabled(&owner.user_id);
                        if active {
                            Rotated::Done(payload)
                        } else {
                            Rotated::Inactive
                        }
                    }
                }
            }
        };
        if !self.lands {
            let failed = StoreError::backend(std::io::Error::other("the batch did not land"));
            return Ok((rotated, Box::pin(std::future::ready(Err(failed)))));
        }
        if let Rotated::Done(payload) = &rotated {
            let mut records = self.records.0.lock().unwrap();
            if let Some(record) = records.get_mut(&key(kind, id)) {
                record.2 = true;
            }
            let payload = serde_json::from_str(payload).map_err(StoreError::backend)?;
            records.insert(key(kind, next.0), (payload, next.1, false));
        }
        Ok((rotated, Box::pin(std::future::ready(Ok(())))))
    }
}
