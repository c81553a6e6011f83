//! Whether an access token this provider issued is still good: signature, type, issuer and
//! expiry, not revoked by itself (RFC 7009) and not through its grant.

use idp_core::model::EphemeralKind;
use idp_core::store::{ClientStore, EphemeralStore, GrantStore};
use idp_core::{Clock, StoreError};
use idp_token_issuer::AccessTokenClaims;

/// An active access token: its claims, and the person it was issued for (none for a client
/// acting on its own behalf). The token's `sub` is the person as its client sees them
/// (see [`crate::subject`]); `user_id` is the person's own id, from the grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    pub claims: AccessTokenClaims,
    pub user_id: Option<String>,
}

/// The token's claims if it is active, `None` if it is not (for any reason). `claims` are
/// those of a token whose signature, type and issuer were verified; `revoked` holds the tokens
/// revoked on their own.
pub async fn active_claims(
    claims: AccessTokenClaims,
    revoked: &dyn EphemeralStore,
    grants: &dyn GrantStore,
    clients: &dyn ClientStore,
    clock: &dyn Clock,
) -> Result<Option<ActiveToken>, StoreError> {
    if claims.exp <= clock.now() {
        return Ok(None);
    }
    let revoked = revoked
        .contains(EphemeralKind::RevokedAccessToken, &claims.jti, clock.now())
        .await?;
    if revoked {
        return Ok(None);
    }
    let user_id = match &claims.grant_id {
        Some(grant_id) => match grants.active_grant_user(grant_id).await? {
            Some(user_id) => Some(user_id),
            None => return Ok(None),
        },
        None => None,
    };
    // A client disabled since (or deleted) takes its tokens with it.
    if clients.find_client(&claims.client_id).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(ActiveToken { claims, user_id }))
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

#[cfg(test)]
mod tests {
    use idp_core::clock::ManualClock;
    use idp_core::model::{Grant, TokenEndpointAuthMethod};

    use super::*;
    use crate::test_stores::{MemoryEphemeral, MemoryGrants, OneClient, client};

    fn claims(jti: &str, client_id: &str, grant_id: Option<&str>) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://idp.example".to_owned(),
            sub: "u1".to_owned(),
            aud: client_id.to_owned(),
            exp: 1100,
            iat: 1000,
            jti: jti.to_owned(),
            client_id: client_id.to_owned(),
            scope: "openid".to_owned(),
            auth_time: None,
            acr: None,
            amr: None,
            grant_id: grant_id.map(str::to_owned),
            userinfo_claims: None,
            cnf: None,
        }
    }

    #[tokio::test]
    async fn a_token_is_active_until_it_expires_is_revoked_or_loses_its_grant_or_client() {
        let clients = OneClient(client("c1", TokenEndpointAuthMethod::None, None));
        let (revoked, grants) = (MemoryEphemeral::default(), MemoryGrants::default());
        let grant = Grant {
            id: "g1".to_owned(),
            user_id: "u1".to_owned(),
            client_id: "c1".to_owned(),
            sid: None,
            created_at: 1000,
            revoked_at: None,
        };
        grants.create_grant(&grant).await.unwrap();
        let clock = ManualClock::new(1000);
        let active = |claims: AccessTokenClaims| async {
            active_claims(claims, &revoked, &grants, &clients, &clock)
                .await
                .unwrap()
                .is_some()
        };
        assert!(active(claims("t1", "c1", Some("g1"))).await);
        let found = active_claims(
            claims("t1", "c1", Some("g1")),
            &revoked,
            &grants,
            &clients,
            &clock,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            found.user_id.as_deref(),
            Some("u1"),
            "the person, from the grant"
        );
        assert!(active(claims("t2", "c1", None)).await, "client credentials");
        assert!(!active(claims("t3", "gone", None)).await, "unknown client");

        revoke(&claims("t1", "c1", Some("g1")), &revoked)
            .await
            .unwrap();
        assert!(!active(claims("t1", "c1", Some("g1"))).await, "revoked");
        assert!(active(claims("t4", "c1", Some("g1"))).await);

        grants.revoke_grant("g1", 1000).await.unwrap();
        assert!(
            !active(claims("t4", "c1", Some("g1"))).await,
            "grant revoked"
        );

        clock.advance(100);
        assert!(!active(claims("t2", "c1", None)).await, "expired");
    }
}
