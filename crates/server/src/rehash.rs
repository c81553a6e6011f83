//! Secrets hashed at other Argon2 parameters than the configured `hashing.*` (made before the
//! settings changed) are hashed again at the current ones when the person next proves them:
//! only the typed secret can make the new hash. Best effort: nothing here fails a sign-in,
//! and a secret changed meanwhile is never replaced by the old one rehashed.

use idp_core::StoreError;
use idp_core::hashing::HashError;
use idp_core::model::User;

use crate::state::AppState;

/// After `typed` was verified as `user`'s password.
pub async fn password(state: &AppState, user: &User, typed: &str) {
    let current = user.password_hash.as_str();
    let rehashed = state
        .hasher
        .rehash_if_outdated(typed.to_owned(), current, None)
        .await;
    if let Some(upgraded) = made(rehashed, user, "password") {
        let stored = state
            .stores
            .users
            .upgrade_password_hash(&user.id, current, &upgraded)
            .await;
        log_stored(stored, user, "password");
    }
}

/// After `typed` was found to be `user`'s PIN (the hash stays keyed with the PIN key).
pub async fn pin(state: &AppState, user: &User, typed: &str) {
    let Some(current) = user.pin_hash.as_deref() else {
        return;
    };
    let rehashed = state.pins.rehash_if_outdated(typed, current).await;
    if let Some(upgraded) = made(rehashed, user, "PIN") {
        let stored = state
            .stores
            .users
            .upgrade_pin_hash(&user.id, current, &upgraded)
            .await;
        log_stored(stored, user, "PIN");
    }
}

fn made(rehashed: Result<Option<String>, HashError>, user: &User, what: &str) -> Option<String> {
    match rehashed {
        Ok(upgraded) => upgraded,
        Err(HashError::Busy) => {
            tracing::debug!(user = %user.id, "no hashing slot free to rehash the {what}; a later sign-in will");
            None
        }
        Err(error) => {
            tracing::warn!(user = %user.id, %error, "could not rehash the {what} at the current parameters");
            None
        }
    }
}

fn log_stored(stored: Result<bool, StoreError>, user: &User, what: &str) {
    match stored {
        Ok(true) => {
            tracing::debug!(user = %user.id, "{what} rehashed at the current Argon2 parameters");
        }
        Ok(false) => {
            tracing::debug!(user = %user.id, "{what} changed meanwhile; the rehash is dropped");
        }
        Err(error) => {
            tracing::warn!(user = %user.id, %error, "could not store the {what} rehashed at the current parameters");
        }
    }
}
