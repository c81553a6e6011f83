//! `id_token_hint`: an ID token this provider issued earlier, sent back to name a person, at
//! the authorization endpoint (OpenID Connect Core §3.1.2.1) and at logout (RP-Initiated
//! Logout §2). It names a past sign-in, so an expired one still counts; its signature, `typ`
//! and issuer must hold.

use idp_core::model::{Client, Session};
use idp_token_issuer::IdTokenClaims;

use crate::state::AppState;

/// The claims of `hint` if this provider signed it as an ID token (expired or not).
pub fn verify(state: &AppState, hint: &str) -> Option<IdTokenClaims> {
    state
        .keys()
        .verify_ignoring_expiry::<IdTokenClaims>(hint, "JWT", state.issuer())
        .ok()
}

/// The `sub` of a hint sent with an authorization request of `client`: one this provider
/// issued to that client (its `aud`), else `None` (`invalid_request`).
pub fn hinted_subject(state: &AppState, client: &Client, hint: &str) -> Option<String> {
    verify(state, hint)
        .filter(|claims| claims.aud == client.id)
        .map(|claims| claims.sub)
}

/// Whether `hinted_sub`, the `sub` an ID token for `client` carried, is the person `user_id`.
/// The one place a hint is compared with a person: where subjects differ per client, this is
/// where the client's `sub` for `user_id` is worked out.
pub fn hint_matches(state: &AppState, client: &Client, user_id: &str, hinted_sub: &str) -> bool {
    state.subject_for(client, user_id) == hinted_sub
}

/// The person a hint names, for the sign-in machine (`Policy::hinted_user`): the browser's
/// session's person when the hint names them; otherwise the hinted `sub` stands in, which is
/// no session's person here (only this browser's session is ever compared with it).
pub fn hinted_user(
    state: &AppState,
    client: &Client,
    hinted_sub: String,
    session: Option<&Session>,
) -> String {
    match session {
        Some(session) if hint_matches(state, client, &session.user_id, &hinted_sub) => {
            session.user_id.clone()
        }
        _ => hinted_sub,
    }
}
