//! The refresh-token grant for clients whose refresh tokens do not rotate (the FAPI 2.0
//! profile, see [`crate::fapi::Rules::rotates_refresh_tokens`]): the token is read, not used
//! up, and answered back as it is, with new access and ID tokens. Presenting it again is not a
//! replay, so it revokes nothing; it stops working when it expires or its grant is revoked.

use idp_core::model::EphemeralKind;
use idp_core::store::{EphemeralStore, GrantStore, UserStore};
use idp_core::{Clock, OAuthError, StoreError};

use crate::grant_error::GrantError;
use crate::issuer::Issuer;
use crate::refresh_format::RefreshToken;
use crate::refresh_token::{WHAT, judge};
use crate::single_use::invalid;
use crate::tokens::{TokenResponse, UserGrant, id_token_names_claims, sign_for_user};

/// What a refresh that keeps its token reads: the refresh tokens, the grants, the people, the
/// clock, and the issuer that signs.
pub struct SteadyRefresh<'a> {
    pub tokens: &'a dyn EphemeralStore,
    pub grants: &'a dyn GrantStore,
    pub users: &'a dyn UserStore,
    pub clock: &'a dyn Clock,
    pub issuer: &'a Issuer<'a>,
}

impl SteadyRefresh<'_> {
    /// New access and ID tokens for `refresh_token`, presented by `client` and asking for
    /// `scope`; the answer carries the same refresh token.
    pub async fn exchange(
        &self,
        client: &idp_core::model::Client,
        refresh_token: Option<&str>,
        scope: Option<&str>,
    ) -> Result<TokenResponse, GrantError> {
        let token = refresh_token
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
        let now = self.clock.now();
        let Some(payload) = self
            .tokens
            .get(
                EphemeralKind::RefreshToken,
                &RefreshToken::id_of(token),
                now,
            )
            .await?
        else {
            return Err(invalid(WHAT));
        };
        let payload = serde_json::to_string(&payload)
            .map_err(|_| GrantError::from(StoreError::Corrupt(WHAT.to_owned())))?;
        let (grant, narrowed) = judge(&payload, &client.id, scope, self.issuer.proven)?;
        // The grant must be active, and belong to a person who is not disabled.
        let active_user = self.grants.active_grant_user_now(&grant.grant_id).await?;
        if active_user.as_deref() != Some(grant.user_id.as_str()) {
            return Err(inactive());
        }
        let user = self.users.find_user(&grant.user_id).await?;
        if user.as_ref().is_none_or(|u| u.disabled_at.is_some()) {
            return Err(inactive());
        }
        let user = if id_token_names_claims(&grant) {
            user
        } else {
            None
        };
        let signed = UserGrant {
            scopes: narrowed,
            ..grant
        };
        Ok(sign_for_user(
            self.issuer,
            now,
            client,
            &signed,
            user.as_ref(),
            None,
            Some(token.to_owned()),
        )?)
    }
}

fn inactive() -> GrantError {
    OAuthError::invalid_grant("the grant was revoked, or its user disabled").into()
}
