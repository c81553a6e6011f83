//! The SSO session: found from its cookie, started after a full sign-in, ended by logout, by
//! the person on the account page, or by a change of their credentials.

use axum_extra::extract::CookieJar;
use idp_core::StoreError;
use idp_core::model::{AuditKind, Session, User};
use idp_core::random::{random_token, sha256_b64};

use crate::audit;
use crate::oauth::backchannel_logout;
use crate::state::AppState;
use crate::trusted_device;
use crate::web::client_info::ClientInfo;
use crate::web::cookies;

fn cookie_value(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(&cookies::name(&state.settings, cookies::SESSION, true))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The live session this browser presents, if any.
pub async fn current(state: &AppState, jar: &CookieJar) -> Result<Option<Session>, StoreError> {
    let Some(value) = cookie_value(state, jar) else {
        return Ok(None);
    };
    state
        .stores
        .sessions
        .find_session(&sha256_b64(&value), state.now())
        .await
}

/// Starts a session for `user_id` after a sign-in with password and PIN (and the methods of
/// `amr`, RFC 8176). Always a new session id (no fixation); the one the browser had before, if
/// any, ends. `known`: the browser's session as this request already found it, not looked up
/// again (unless the browser's cookie no longer names it).
#[allow(clippy::too_many_arguments)]
pub async fn start(
    state: &AppState,
    jar: CookieJar,
    known: Option<&Session>,
    user_id: &str,
    credential_epoch: i64,
    acr: &str,
    amr: &[&str],
    from: &ClientInfo,
) -> Result<(CookieJar, Session), StoreError> {
    let previous = match cookie_value(state, &jar).map(|old| sha256_b64(&old)) {
        Some(id_hash) => match known.filter(|s| s.id_hash == id_hash && s.expires_at > state.now())
        {
            Some(session) => Some(session.clone()),
            None => {
                state
                    .stores
                    .sessions
                    .find_session(&id_hash, state.now())
                    .await?
            }
        },
        None => None,
    };
    let now = state.now();
    let ttl = state.settings.session.ttl;
    let value = random_token(32);
    let session = Session {
        id_hash: sha256_b64(&value),
        sid: random_token(16),
        user_id: user_id.to_owned(),
        auth_time: now,
        acr: acr.to_owned(),
        amr: amr.iter().map(|s| (*s).to_owned()).collect(),
        created_at: now,
        expires_at: now + ttl,
        ip: from.ip.clone(),
        user_agent: from.user_agent.clone(),
        credential_epoch,
    };
    state.stores.sessions.create_session(&session).await?;
    if let Some(previous) = previous {
        if previous.user_id == user_id {
            // The same person, signing in again or stepping up: the relying parties of the
            // old session now belong to the new one, so a later logout still reaches them.
            state
                .stores
                .sessions
                .delete_found_session(&previous)
                .await?;
            state
                .stores
                .grants
                .move_session_grants(&previous.sid, &session.sid)
                .await?;
        } else {
            end(state, &previous, from).await?;
        }
    }
    let jar = jar.add(cookies::build(
        &state.settings,
        cookies::SESSION,
        value,
        Some(ttl),
    ));
    Ok((jar, session))
}

/// Ends a session: deleted at once, and every relying party it signed in to that registered a
/// `backchannel_logout_uri` is sent a logout token (in the background).
pub async fn end(state: &AppState, session: &Session, from: &ClientInfo) -> Result<(), StoreError> {
    state.stores.sessions.delete_found_session(session).await?;
    let event = audit::event(state, AuditKind::SessionEnded, from).user(&session.user_id);
    audit::record(state, event).await;
    backchannel_logout::notify(state, session).await
}

/// A credential of the person changed (PIN, password, recovery): every grant to a relying
/// party is revoked (whoever knew the old secret may hold one), every other session of theirs
/// ends (their relying parties are told) and every other browser they trusted is forgotten.
/// The browser making the change keeps its session and device, when they are the person's.
/// Sign-ins in progress and codes not yet exchanged end by themselves: the change moved the
/// person's credential epoch on. Returns the person as read after the change, when a kept
/// session needed them read (so that the caller need not read them again).
pub async fn credentials_changed(
    state: &AppState,
    jar: &CookieJar,
    user_id: &str,
    from: &ClientInfo,
) -> Result<Option<User>, StoreError> {
    let keep = current(state, jar).await?.filter(|s| s.user_id == user_id);
    let this_device = trusted_device::this_device(state, jar);
    let kept = Kept {
        sid: keep.as_ref().map(|s| s.sid.as_str()),
        device: this_device.as_deref(),
    };
    // Everything else ends first, whatever happens to the session kept.
    reset(state, user_id, kept, from).await?;
    if let Some(kept) = &keep {
        // The session the change was made in goes on, under the credentials it now holds;
        // if it cannot be marked so, it ends too (the person signs in again).
        let restamped = match state.stores.users.find_user(user_id).await {
            Ok(Some(user)) => state
                .stores
                .sessions
                .restamp_session(&kept.id_hash, user.credential_epoch)
                .await
                .map(|()| user),
            Ok(None) => Err(StoreError::Corrupt("the person is gone".into())),
            Err(error) => Err(error),
        };
        return match restamped {
            Ok(user) => Ok(Some(user)),
            Err(error) => {
                tracing::warn!(%error, "the session a credential change was made in is ended");
                state.stores.sessions.delete_found_session(kept).await?;
                Err(error)
            }
        };
    }
    Ok(None)
}

/// The person as they are after a change of their credentials: as `credentials_changed`
/// read them, or read now.
pub async fn after_change(
    state: &AppState,
    read: Option<User>,
    user_id: &str,
) -> Result<Option<User>, StoreError> {
    match read {
        Some(user) => Ok(Some(user)),
        None => state.stores.users.find_user(user_id).await,
    }
}

/// An administrator acted on the account (unlock, disabling): every grant is revoked, every
/// session ends and every trusted browser is forgotten.
pub async fn account_reset(
    state: &AppState,
    user_id: &str,
    from: &ClientInfo,
) -> Result<(), StoreError> {
    let kept = Kept {
        sid: None,
        device: None,
    };
    reset(state, user_id, kept, from).await
}

/// What of the person's a reset leaves: the session and the trusted browser (digest) of the
/// browser making the change.
struct Kept<'a> {
    sid: Option<&'a str>,
    device: Option<&'a str>,
}

async fn reset(
    state: &AppState,
    user_id: &str,
    kept: Kept<'_>,
    from: &ClientInfo,
) -> Result<(), StoreError> {
    // The grants first: they live in the database with the credentials, and the sessions
    // may be elsewhere.
    state
        .stores
        .grants
        .revoke_all_grants_of_user(user_id, state.now())
        .await?;
    for other in state
        .stores
        .sessions
        .list_sessions(user_id, state.now())
        .await?
    {
        if Some(other.sid.as_str()) != kept.sid {
            end(state, &other, from).await?;
        }
    }
    state
        .stores
        .devices
        .forget_devices_of_user(user_id, kept.device)
        .await?;
    Ok(())
}
