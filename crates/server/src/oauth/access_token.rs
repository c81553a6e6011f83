//! Whether an access token this provider issued is still good: signature, type, issuer and
//! expiry, not revoked by itself (RFC 7009) and not through its grant.

use idp_core::StoreError;
use idp_core::model::EphemeralKind;
use idp_token_issuer::AccessTokenClaims;

use crate::state::AppState;

/// The token's claims if it is active, `None` if it is not (for any reason).
pub async fn active_claims(
    state: &AppState,
    token: &str,
) -> Result<Option<AccessTokenClaims>, StoreError> {
    let Some(claims) = state.published().access_token_claims(token, state.issuer()) else {
        return Ok(None);
    };
    if claims.exp <= state.now() {
        return Ok(None);
    }
    let revoked = state
        .stores
        .ephemeral
        .get(EphemeralKind::RevokedAccessToken, &claims.jti, state.now())
        .await?
        .is_some();
    if revoked {
        return Ok(None);
    }
    if let Some(grant_id) = &claims.grant_id
        && !state.stores.grants.grant_is_active(grant_id).await?
    {
        return Ok(None);
    }
    // A client disabled since (or deleted) takes its tokens with it.
    if state
        .stores
        .clients
        .find_client(&claims.client_id)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    Ok(Some(claims))
}

/// Revokes one access token until it would have expired.
pub async fn revoke(state: &AppState, claims: &AccessTokenClaims) -> Result<(), StoreError> {
    state
        .stores
        .ephemeral
        .put(
            EphemeralKind::RevokedAccessToken,
            &claims.jti,
            &serde_json::json!({ "client_id": claims.client_id }),
            claims.exp,
        )
        .await
}
