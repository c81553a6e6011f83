//! The authorization-code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6,
//! OpenID Connect Core §3.1.3).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::model::{Client, Consumed, EphemeralKind, Grant};
use idp_core::random::{constant_time_eq, random_token, sha256_b64};
use idp_core::{OAuthError, StoreError};
use idp_token_issuer::{AccessTokenClaims, IdTokenClaims, at_hash};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::JsonError;
use crate::state::AppState;

/// What an authorization code stands for, stored under the hash of the code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub sid: String,
    /// The grant the tokens will belong to; a replayed code revokes it.
    pub grant_id: String,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    pub scope: String,
}

pub struct CodeRequest<'a> {
    pub code: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

pub async fn exchange(
    state: &AppState,
    client: &Client,
    request: CodeRequest<'_>,
) -> Result<TokenResponse, JsonError> {
    let code = request
        .code
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let id = sha256_b64(code);
    let Some(payload) = state.stores.ephemeral.get(CODE, &id, state.now()).await? else {
        return Err(unusable_code(state, client, &id).await);
    };
    let grant = parse(payload)?;
    // Checked before the code is consumed, so that whoever else presents a leaked code (another
    // client, or without the PKCE verifier) cannot use it up.
    check_client_binding(&grant, client, request.redirect_uri)?;
    check_pkce(&grant, request.code_verifier)?;
    match state
        .stores
        .ephemeral
        .consume(CODE, &id, state.now())
        .await?
    {
        Consumed::Fresh(_) => {}
        // Another redemption won the race: the code was used twice.
        Consumed::Replayed(_) => return Err(replayed(state, &grant).await),
        Consumed::Missing => {
            return Err(OAuthError::invalid_grant("the authorization code expired").into());
        }
    }
    let user = state
        .stores
        .users
        .find_user(&grant.user_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
    let now = state.now();
    state
        .stores
        .grants
        .create_grant(&Grant {
            id: grant.grant_id.clone(),
            user_id: user.id.clone(),
            client_id: client.id.clone(),
            created_at: now,
            revoked_at: None,
        })
        .await?;
    issue_tokens(state, client, &grant, now)
}

const CODE: EphemeralKind = EphemeralKind::AuthorizationCode;

fn parse(payload: serde_json::Value) -> Result<CodeGrant, JsonError> {
    serde_json::from_value::<CodeGrant>(payload)
        .map_err(|_| JsonError::from(StoreError::Corrupt("authorization code".into())))
}

/// The answer for a code that is not live: unknown, expired, or already used. A second use by
/// the client it was issued to means the code leaked or was raced, so the grant its first use
/// created is revoked (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
async fn unusable_code(state: &AppState, client: &Client, id: &str) -> JsonError {
    match state.stores.ephemeral.consume(CODE, id, state.now()).await {
        Ok(Consumed::Replayed(payload)) => match parse(payload) {
            Ok(grant) if grant.client_id == client.id => replayed(state, &grant).await,
            Ok(_) => {
                OAuthError::invalid_grant("the authorization code was issued to another client")
                    .into()
            }
            Err(error) => error,
        },
        Ok(_) => OAuthError::invalid_grant("the authorization code is invalid or expired").into(),
        Err(error) => error.into(),
    }
}

async fn replayed(state: &AppState, grant: &CodeGrant) -> JsonError {
    if let Err(error) = state
        .stores
        .grants
        .revoke_grant(&grant.grant_id, state.now())
        .await
    {
        return error.into();
    }
    tracing::warn!(client_id = %grant.client_id, "authorization code replayed; its grant is revoked");
    OAuthError::invalid_grant("the authorization code was already used").into()
}

fn check_client_binding(
    grant: &CodeGrant,
    client: &Client,
    redirect_uri: Option<&str>,
) -> Result<(), OAuthError> {
    if grant.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
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

fn issue_tokens(
    state: &AppState,
    client: &Client,
    grant: &CodeGrant,
    now: i64,
) -> Result<TokenResponse, JsonError> {
    let settings = &state.settings.tokens;
    let scope = grant.scopes.join(" ");
    let access_claims = AccessTokenClaims {
        iss: state.issuer().to_owned(),
        sub: grant.user_id.clone(),
        aud: state.issuer().to_owned(),
        exp: now + settings.access_token_ttl,
        iat: now,
        jti: random_token(16),
        client_id: client.id.clone(),
        scope: scope.clone(),
        auth_time: grant.auth_time,
        acr: grant.acr.clone(),
        amr: grant.amr.clone(),
        grant_id: grant.grant_id.clone(),
    };
    // Access tokens are always ES256; the client's choice applies to its ID tokens.
    let access_token =
        state
            .keys
            .sign(idp_core::model::SigningAlg::ES256, "at+jwt", &access_claims)?;
    let alg = client.id_token_signed_response_alg;
    let id_claims = IdTokenClaims {
        iss: state.issuer().to_owned(),
        sub: grant.user_id.clone(),
        aud: client.id.clone(),
        exp: now + settings.id_token_ttl,
        iat: now,
        auth_time: grant.auth_time,
        nonce: grant.nonce.clone(),
        acr: grant.acr.clone(),
        amr: grant.amr.clone(),
        sid: grant.sid.clone(),
        at_hash: Some(at_hash(&access_token, alg)),
    };
    let id_token = state.keys.sign(alg, "JWT", &id_claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: settings.access_token_ttl,
        id_token,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(challenge: Option<&str>) -> CodeGrant {
        CodeGrant {
            client_id: "c".into(),
            redirect_uri: "https://rp.example/cb".into(),
            user_id: "u".into(),
            scopes: vec!["openid".into()],
            nonce: None,
            code_challenge: challenge.map(str::to_owned),
            auth_time: 0,
            acr: String::new(),
            amr: vec![],
            sid: "s".into(),
            grant_id: "g".into(),
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
