//! Whether an access token this provider issued is still good: signature, type, issuer and
//! expiry, not revoked by itself (RFC 7009) and not through its grant.

use idp_core::model::EphemeralKind;
use idp_core::store::{ClientStore, EphemeralStore, GrantStore};
use idp_core::{Clock, StoreError};
use idp_token_issuer::AccessTokenClaims;

/// The token's claims if it is active, `None` if it is not (for any reason). `claims` are
/// those of a token whose signature, type and issuer were verified; `revoked` holds the tokens
/// revoked on their own.
pub async fn active_claims(
    claims: AccessTokenClaims,
    revoked: &dyn EphemeralStore,
    grants: &dyn GrantStore,
    clients: &dyn ClientStore,
    clock: &dyn Clock,
) -> Result<Option<AccessTokenClaims>, StoreError> {
    if claims.exp <= clock.now() {
        return Ok(None);
    }
    let revoked = revoked
        .get(EphemeralKind::RevokedAccessToken, &claims.jti, clock.now())
        .await?
        .is_some();
    if revoked {
        return Ok(None);
    }
    if let Some(grant_id) = &claims.grant_id
        && !grants.grant_is_active(grant_id).await?
    {
        return Ok(None);
    }
    // A client disabled since (or deleted) takes its tokens with it.
    if clients.find_client(&claims.client_id).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(claims))
}

/// Revokes one access token until it would have expired.
pub async fn revoke(
    claims: &AccessTokenClaims,
    revoked: &dyn EphemeralStore,
) -> Result<(), StoreError> {
    revoked
        .put(
            EphemeralKind::RevokedAccessToken,
            &claims.jti,
            &serde_json::json!({ "client_id": claims.client_id }),
            claims.exp,
        )
        .await
}
