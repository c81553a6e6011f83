//! The authorization-code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6,
//! OpenID Connect Core §3.1.3).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::model::{Client, EphemeralKind, Grant};
use idp_core::random::constant_time_eq;
use idp_core::store::{ConsentStore, EphemeralStore, GrantStore, UserStore};
use idp_core::{Clock, OAuthError};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::grant_error::GrantError;
use crate::issuer::Issuer;
use crate::single_use::{Redeemable, Redemption};
use crate::tokens::{TokenResponse, UserGrant, issue_for_user};

/// What an authorization code stands for, stored under the hash of the code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    #[serde(flatten)]
    pub grant: UserGrant,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// The person's credential epoch when the code was issued: a PIN or password change,
    /// recovery or unlock since then voids the code (codes of earlier releases carry none).
    #[serde(default)]
    pub credential_epoch: Option<i64>,
    /// The grant was recorded when the code was issued, with the tokens the authorization
    /// endpoint returned beside it (hybrid flow).
    #[serde(default)]
    pub grant_recorded: bool,
}

impl Redeemable for CodeGrant {
    fn grant(&self) -> &UserGrant {
        &self.grant
    }
}

/// The token request's parameters for this grant (RFC 6749 §4.1.3, RFC 7636 §4.5).
pub struct CodeRequest<'a> {
    pub code: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

/// What exchanging a code reads and writes: the codes (and the refresh tokens it issues), the
/// grants it records or revokes, the users and consents it checks again, the clock, and the
/// issuer that signs.
pub struct CodeExchange<'a> {
    pub ephemeral: &'a dyn EphemeralStore,
    pub grants: &'a dyn GrantStore,
    pub users: &'a dyn UserStore,
    pub consents: &'a dyn ConsentStore,
    pub clock: &'a dyn Clock,
    pub issuer: &'a Issuer<'a>,
}

impl CodeExchange<'_> {
    /// Exchanges the code in `request`, presented by `client`, for tokens.
    pub async fn exchange(
        &self,
        client: &Client,
        request: CodeRequest<'_>,
    ) -> Result<TokenResponse, GrantError> {
        let code = request
            .code
            .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let redemption = Redemption {
            records: self.ephemeral,
            grants: self.grants,
            clock: self.clock,
        };
        let record: CodeGrant = redemption
            .redeem(
                EphemeralKind::AuthorizationCode,
                "authorization code",
                code,
                client,
                |record: &CodeGrant| {
                    check_redirect_uri(record, request.redirect_uri)?;
                    check_pkce(record, request.code_verifier)?;
                    record.grant.check_possession(self.issuer.proven)
                },
            )
            .await?;
        let grant = &record.grant;
        let user = self.users.find_user(&grant.user_id).await?;
        let Some(user) = user.filter(|user| user.disabled_at.is_none()) else {
            return Err(OAuthError::invalid_grant("the user no longer exists").into());
        };
        if record
            .credential_epoch
            .is_some_and(|epoch| epoch != user.credential_epoch)
        {
            return Err(OAuthError::invalid_grant(
                "the user's credentials changed since the code was issued",
            )
            .into());
        }
        // Consent withdrawn between the code and its exchange counts.
        if !client.metadata.first_party {
            let consented = self
                .consents
                .consented_scopes(&grant.user_id, &client.id)
                .await?
                .unwrap_or_default();
            let needed = crate::claims::consent_scopes(&grant.scopes, grant.claims.as_ref());
            if !needed.iter().all(|s| consented.contains(s)) {
                return Err(OAuthError::invalid_grant("the user withdrew their consent").into());
            }
        }
        if !record.grant_recorded {
            self.grants
                .create_grant(&Grant {
                    id: grant.grant_id.clone(),
                    user_id: grant.user_id.clone(),
                    client_id: client.id.clone(),
                    sid: Some(grant.sid.clone()),
                    created_at: self.clock.now(),
                    revoked_at: None,
                })
                .await?;
        } else if !self.grants.grant_is_active(&grant.grant_id).await? {
            // Its front-channel access token was revoked, or the session logged out.
            return Err(OAuthError::invalid_grant("the grant was revoked").into());
        }
        issue_for_user(
            self.ephemeral,
            self.issuer,
            self.clock,
            client,
            grant,
            &user,
            record.nonce.clone(),
        )
        .await
    }
}

fn check_redirect_uri(grant: &CodeGrant, redirect_uri: Option<&str>) -> Result<(), OAuthError> {
    if redirect_uri != Some(grant.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    Ok(())
}

/// RFC 7636 §4.6, and no verifier without a challenge (a PKCE downgrade, RFC 9700 §2.1.1).
fn check_pkce(grant: &CodeGrant, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (&grant.code_challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent, but the authorization request had no code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        (Some(challenge), Some(verifier)) => {
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !well_formed {
                return Err(OAuthError::invalid_grant("code_verifier is malformed"));
            }
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(challenge: Option<&str>) -> CodeGrant {
        CodeGrant {
            grant: UserGrant {
                client_id: "c".into(),
                user_id: "u".into(),
                scopes: vec!["openid".into()],
                auth_time: 0,
                acr: String::new(),
                amr: vec![],
                sid: "s".into(),
                grant_id: "g".into(),
                claims: None,
                dpop_jkt: None,
                certificate: None,
            },
            redirect_uri: "https://rp.example/cb".into(),
            nonce: None,
            code_challenge: challenge.map(str::to_owned),
            credential_epoch: Some(0),
            grant_recorded: false,
        }
    }

    #[test]
    fn pkce_follows_rfc_7636_appendix_b() {
        let with = grant(Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(check_pkce(&with, Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).is_ok());
        assert!(check_pkce(&with, Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx")).is_err());
        assert!(check_pkce(&with, None).is_err());
        assert!(check_pkce(&with, Some("short")).is_err());
        let without = grant(None);
        assert!(check_pkce(&without, None).is_ok());
        assert!(
            check_pkce(
                &without,
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            )
            .is_err()
        );
    }
}
