//! Redeeming single-use secrets at the token endpoint: authorization codes here; refresh
//! tokens rotate in one step of the store (`refresh_token`), with the same answers.
//!
//! The record is checked against the presenting client, and by the caller's own checks, before
//! it is used up, so that whoever else presents a leaked one cannot spoil it. A second use by
//! its own client means it leaked or was raced, so the grant it belongs to is revoked with
//! every token issued under it (RFC 6749 §4.1.2 and §10.4, RFC 9700 §4.2.4 and §4.14.2).

use idp_core::model::{Client, Consumed, EphemeralKind};
use idp_core::random::sha256_b64;
use idp_core::{OAuthError, StoreError};
use serde::de::DeserializeOwned;

use super::tokens::UserGrant;
use crate::error::JsonError;
use crate::state::AppState;

pub trait Redeemable: DeserializeOwned {
    fn grant(&self) -> &UserGrant;
}

fn parse<T: Redeemable>(payload: serde_json::Value, what: &str) -> Result<T, JsonError> {
    serde_json::from_value::<T>(payload)
        .map_err(|_| JsonError::from(StoreError::Corrupt(what.to_owned())))
}

/// Redeems `secret` of `kind` for `client`, running `check` first.
pub async fn redeem<T: Redeemable>(
    state: &AppState,
    kind: EphemeralKind,
    what: &'static str,
    secret: &str,
    client: &Client,
    check: impl FnOnce(&T) -> Result<(), OAuthError>,
) -> Result<T, JsonError> {
    let (id, record) = find(state, kind, what, secret, client).await?;
    check(&record)?;
    spend(state, kind, what, &id, record).await
}

/// The live record of `secret` of `kind`, presented by `client`, and the id it is stored
/// under; nothing is used up yet.
async fn find<T: Redeemable>(
    state: &AppState,
    kind: EphemeralKind,
    what: &'static str,
    secret: &str,
    client: &Client,
) -> Result<(String, T), JsonError> {
    let id = sha256_b64(secret);
    let Some(payload) = state.stores.ephemeral.get(kind, &id, state.now()).await? else {
        return Err(unusable::<T>(state, kind, what, &id, client).await);
    };
    let record: T = parse(payload, what)?;
    if record.grant().client_id != client.id {
        return Err(invalid(what));
    }
    Ok((id, record))
}

/// Uses up the record `find` returned.
async fn spend<T: Redeemable>(
    state: &AppState,
    kind: EphemeralKind,
    what: &'static str,
    id: &str,
    record: T,
) -> Result<T, JsonError> {
    match state
        .stores
        .ephemeral
        .consume(kind, id, state.now())
        .await?
    {
        Consumed::Fresh(_) => Ok(record),
        // Another redemption won the race: the secret was used twice.
        Consumed::Replayed(_) => Err(replayed(state, what, record.grant()).await),
        Consumed::Missing => Err(OAuthError::invalid_grant(format!("the {what} expired")).into()),
    }
}

/// The answer for a secret that is not live: unknown, expired, or already used.
async fn unusable<T: Redeemable>(
    state: &AppState,
    kind: EphemeralKind,
    what: &'static str,
    id: &str,
    client: &Client,
) -> JsonError {
    match state.stores.ephemeral.consume(kind, id, state.now()).await {
        Ok(Consumed::Replayed(payload)) => used_again::<T>(state, what, payload, client).await,
        Ok(_) => invalid(what),
        Err(error) => error.into(),
    }
}

/// The answer for a secret presented again after it was used (its record's `payload`): its
/// own client presenting it revokes its grant.
pub async fn used_again<T: Redeemable>(
    state: &AppState,
    what: &str,
    payload: serde_json::Value,
    client: &Client,
) -> JsonError {
    match parse::<T>(payload, what) {
        Ok(record) if record.grant().client_id == client.id => {
            replayed(state, what, record.grant()).await
        }
        Ok(_) => invalid(what),
        Err(error) => error,
    }
}

/// The answer for a secret that is unknown, expired, or another client's.
pub fn invalid(what: &str) -> JsonError {
    OAuthError::invalid_grant(format!("the {what} is invalid or expired")).into()
}

async fn replayed(state: &AppState, what: &str, grant: &UserGrant) -> JsonError {
    if let Err(error) = state
        .stores
        .grants
        .revoke_grant(&grant.grant_id, state.now())
        .await
    {
        return error.into();
    }
    tracing::warn!(client_id = %grant.client_id, "{what} used twice; its grant is revoked");
    OAuthError::invalid_grant(format!("the {what} was already used")).into()
}
