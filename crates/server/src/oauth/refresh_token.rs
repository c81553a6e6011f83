//! The refresh-token grant (RFC 6749 §6). Refresh tokens rotate: each use returns a new one and
//! spends the old, and presenting a spent one revokes the whole grant (RFC 9700 §4.14.2).

use idp_core::OAuthError;
use idp_core::model::{Client, EphemeralKind};

use super::single_use::{Redeemable, find, spend};
use super::tokens::{RefreshToken, TokenResponse, UserGrant, narrowed_scopes, sign_for_user};
use crate::error::JsonError;
use crate::state::AppState;

impl Redeemable for UserGrant {
    fn grant(&self) -> &UserGrant {
        self
    }
}

pub async fn exchange(
    state: &AppState,
    client: &Client,
    refresh_token: Option<&str>,
    scope: Option<&str>,
) -> Result<TokenResponse, JsonError> {
    const KIND: EphemeralKind = EphemeralKind::RefreshToken;
    let token =
        refresh_token.ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let (id, grant): (String, UserGrant) =
        find(state, KIND, "refresh token", token, client).await?;
    let narrowed = narrowed_scopes(&grant.scopes, scope)?;
    if !state
        .stores
        .grants
        .grant_and_user_are_active(&grant.grant_id, &grant.user_id)
        .await?
    {
        return Err(
            OAuthError::invalid_grant("the grant was revoked, or its user disabled").into(),
        );
    }
    // The new refresh token keeps the grant's scopes (a refresh token exists only under
    // offline_access); only the access and ID tokens answer the narrowed scope. The old token
    // is spent and the new one stored in one step: neither without the other.
    let next = RefreshToken::new(state, &grant)?;
    let successor = (next.id.as_str(), &next.payload, next.expires_at);
    let grant = spend(state, KIND, "refresh token", &id, grant, Some(successor)).await?;
    state.metrics.token("refresh");
    let signed = UserGrant {
        scopes: narrowed,
        ..grant
    };
    sign_for_user(state, client, &signed, None, Some(next.token))
}
