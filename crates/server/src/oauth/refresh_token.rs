//! The refresh-token grant (RFC 6749 §6). Refresh tokens rotate: each use returns a new one and
//! spends the old, and presenting a spent one revokes the whole grant (RFC 9700 §4.14.2).

use idp_core::OAuthError;
use idp_core::model::{Client, EphemeralKind};

use super::single_use::{Redeemable, redeem};
use super::tokens::{
    TokenResponse, UserGrant, narrowed_scopes, sign_for_user, store_refresh_token,
};
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
    let token =
        refresh_token.ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let mut narrowed = Vec::new();
    let grant: UserGrant = redeem(
        state,
        EphemeralKind::RefreshToken,
        "refresh token",
        token,
        client,
        |grant: &UserGrant| {
            narrowed = narrowed_scopes(&grant.scopes, scope)?;
            Ok(())
        },
    )
    .await?;
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
    // offline_access); only the access and ID tokens answer the narrowed scope.
    let refresh = store_refresh_token(state, &grant).await?;
    let signed = UserGrant {
        scopes: narrowed,
        ..grant
    };
    sign_for_user(state, client, &signed, None, Some(refresh))
}
