//! The refresh-token grant (RFC 6749 §6). Refresh tokens rotate: each use returns a new one and
//! spends the old, and presenting a spent one revokes the whole grant (RFC 9700 §4.14.2).

use idp_core::OAuthError;
use idp_core::model::{Client, EphemeralKind};

use super::single_use::{Redeemable, redeem};
use super::tokens::{TokenResponse, UserGrant, issue_for_user, narrowed_scopes, sign_for_user};
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
    // The new refresh token keeps the grant's scopes; only this access token is narrowed.
    let mut response = issue_for_user(state, client, &grant, None).await?;
    if narrowed != grant.scopes {
        let narrowed_grant = UserGrant {
            scopes: narrowed,
            ..grant.clone()
        };
        // Signed only: the refresh token issued above is the one the client keeps.
        let narrowed_response = sign_for_user(state, client, &narrowed_grant, None, None)?;
        response.access_token = narrowed_response.access_token;
        response.id_token = narrowed_response.id_token;
        response.scope = narrowed_response.scope;
    }
    Ok(response)
}
