//! Redeeming single-use secrets at the token endpoint: authorization codes here; refresh
//! tokens rotate in one step of the store (`refresh_token`), with the same answers.
//!
//! The record is checked against the presenting client, and by the caller's own checks, before
//! it is used up, so that whoever else presents a leaked one cannot spoil it. A second use by
//! its own client means it leaked or was raced, so the grant it belongs to is revoked with
//! every token issued under it (RFC 6749 §4.1.2 and §10.4, RFC 9700 §4.2.4 and §4.14.2).

use idp_core::clock::UnixTime;
use idp_core::model::{Client, Consumed, EphemeralKind};
use idp_core::random::sha256_b64;
use idp_core::store::{EphemeralStore, GrantStore};
use idp_core::{Clock, OAuthError, StoreError};
use serde::de::DeserializeOwned;

use crate::grant_error::GrantError;
use crate::tokens::UserGrant;

pub trait Redeemable: DeserializeOwned {
    fn grant(&self) -> &UserGrant;
}

fn parse<T: Redeemable>(payload: serde_json::Value, what: &str) -> Result<T, GrantError> {
    serde_json::from_value::<T>(payload)
        .map_err(|_| GrantError::from(StoreError::Corrupt(what.to_owned())))
}

/// What redeeming a secret reads and writes: the single-use records, the grants a replay
/// revokes, and the clock that says which records are live.
pub struct Redemption<'a> {
    pub records: &'a dyn EphemeralStore,
    pub grants: &'a dyn GrantStore,
    pub clock: &'a dyn Clock,
}

impl Redemption<'_> {
    /// Redeems `secret` of `kind` for `client`, running `check` first.
    pub async fn redeem<T: Redeemable>(
        &self,
        kind: EphemeralKind,
        what: &'static str,
        secret: &str,
        client: &Client,
        check: impl FnOnce(&T) -> Result<(), OAuthError>,
    ) -> Result<T, GrantError> {
        let (id, record) = self.find(kind, what, secret, client).await?;
        check(&record)?;
        self.spend(kind, what, &id, record).await
    }

    /// The live record of `secret` of `kind`, presented by `client`, and the id it is stored
    /// under; nothing is used up yet.
    async fn find<T: Redeemable>(
        &self,
        kind: EphemeralKind,
        what: &'static str,
        secret: &str,
        client: &Client,
    ) -> Result<(String, T), GrantError> {
        let id = sha256_b64(secret);
        let Some(payload) = self.records.get(kind, &id, self.clock.now()).await? else {
            return Err(self.unusable::<T>(kind, what, &id, client).await);
        };
        let record: T = parse(payload, what)?;
        if record.grant().client_id != client.id {
            return Err(invalid(what));
        }
        Ok((id, record))
    }

    /// Uses up the record `find` returned.
    async fn spend<T: Redeemable>(
        &self,
        kind: EphemeralKind,
        what: &'static str,
        id: &str,
        record: T,
    ) -> Result<T, GrantError> {
        let now = self.clock.now();
        match self.records.consume(kind, id, now).await? {
            Consumed::Fresh(_) => Ok(record),
            // Another redemption won the race: the secret was used twice.
            Consumed::Replayed(_) => Err(replayed(self.grants, now, what, record.grant()).await),
            Consumed::Missing => {
                Err(OAuthError::invalid_grant(format!("the {what} expired")).into())
            }
        }
    }

    /// The answer for a secret that is not live: unknown, expired, or already used.
    async fn unusable<T: Redeemable>(
        &self,
        kind: EphemeralKind,
        what: &'static str,
        id: &str,
        client: &Client,
    ) -> GrantError {
        let now = self.clock.now();
        match self.records.consume(kind, id, now).await {
            Ok(Consumed::Replayed(payload)) => {
                used_again::<T>(self.grants, now, what, payload, client).await
            }
            Ok(_) => invalid(what),
            Err(error) => error.into(),
        }
    }
}

/// The answer for a secret presented again after it was used (its record's `payload`): its
/// own client presenting it revokes its grant (at `now`).
pub async fn used_again<T: Redeemable>(
    grants: &dyn GrantStore,
    now: UnixTime,
    what: &str,
    payload: serde_json::Value,
    client: &Client,
) -> GrantError {
    match parse::<T>(payload, what) {
        Ok(record) if record.grant().client_id == client.id => {
            replayed(grants, now, what, record.grant()).await
        }
        Ok(_) => invalid(what),
        Err(error) => error,
    }
}

/// The answer for a secret that is unknown, expired, or another client's.
pub fn invalid(what: &str) -> GrantError {
    OAuthError::invalid_grant(format!("the {what} is invalid or expired")).into()
}

async fn replayed(
    grants: &dyn GrantStore,
    now: UnixTime,
    what: &str,
    grant: &UserGrant,
) -> GrantError {
    if let Err(error) = grants.revoke_grant(&grant.grant_id, now).await {
        return error.into();
    }
    tracing::warn!(client_id = %grant.client_id, "{what} used twice; its grant is revoked");
    OAuthError::invalid_grant(format!("the {what} was already used")).into()
}
