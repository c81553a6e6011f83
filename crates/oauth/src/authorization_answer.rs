//! What the authorization endpoint issues once the sign-in machine has authorized a request:
//! a code (RFC 6749 §4.1.2), and in the implicit and hybrid flows an ID token and an access
//! token (OpenID Connect Core §3.2.2.5, §3.3.2.5), signed by the same functions as the token
//! endpoint's.

use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{Client, EphemeralKind, Grant, Session, User};
use idp_core::random::{random_token, sha256_b64};
use idp_core::store::{EphemeralStore, GrantStore};
use idp_signin::Authorization;

use crate::authorization_code::CodeGrant;
use crate::authorization_request::AuthorizationRequest;
use crate::authorization_response::AuthorizationResponse;
use crate::grant_error::GrantError;
use crate::issuer::Issuer;
use crate::tokens::{self, IdTokenFor, UserGrant};

/// Where codes are kept until they are exchanged, where grants are recorded, and the issuer
/// that signs the tokens the authorization endpoint returns.
pub struct AuthorizationAnswers<'a> {
    pub ephemeral: &'a dyn EphemeralStore,
    pub grants: &'a dyn GrantStore,
    pub issuer: &'a Issuer<'a>,
    /// How long a code lives, in seconds.
    pub code_lifetime: i64,
}

impl AuthorizationAnswers<'_> {
    /// Issues what the request's response type asks for, at `now`, and returns the answer
    /// that delivers it (with `state` and `iss`, in the request's response mode). Only the
    /// sign-in machine grants the [`Authorization`], for the session it names. `user` is the
    /// session's person, for the claims an ID token from here carries (needed only when the
    /// response type has `id_token`).
    #[allow(clippy::too_many_arguments)]
    pub async fn answer(
        &self,
        now: UnixTime,
        client: &Client,
        user: Option<&User>,
        request: &AuthorizationRequest,
        authorization: &Authorization,
        session: &Session,
        credential_epoch: i64,
    ) -> Result<AuthorizationResponse, GrantError> {
        if authorization.sid() != session.sid
            || authorization.user_id() != session.user_id
            || client.id != request.client_id
            || user.is_some_and(|user| user.id != session.user_id)
        {
            return Err(StoreError::Corrupt("an authorization for another session".into()).into());
        }
        let grant = UserGrant {
            client_id: request.client_id.clone(),
            user_id: session.user_id.clone(),
            scopes: request.scopes.clone(),
            auth_time: session.auth_time,
            acr: session.acr.clone(),
            amr: session.amr.clone(),
            sid: session.sid.clone(),
            grant_id: random_token(16),
            claims: request.claims.clone(),
            dpop_jkt: request.dpop_jkt.clone(),
            certificate: None,
        };
        let response_type = request.response_type;
        let mut params = Vec::new();
        // Tokens issued here belong to a grant recorded now, so that revoking it, a replayed
        // code and logout (back-channel included: the grant names the session) reach them as
        // they reach the code flow's.
        let recorded = response_type.returns_tokens();
        if recorded {
            self.record(now, client, &grant).await?;
        }
        let access_token = if response_type.token {
            Some(tokens::sign_access_token(self.issuer, now, client, &grant)?)
        } else {
            None
        };
        let code = if response_type.code {
            Some(
                self.store_code(now, request, grant.clone(), credential_epoch, recorded)
                    .await?,
            )
        } else {
            None
        };
        let id_token = if response_type.id_token {
            let with = IdTokenFor {
                user,
                nonce: request.nonce.as_deref(),
                access_token: access_token.as_deref(),
                code: code.as_deref(),
                // The ID token is all the relying party gets: the scopes' claims go in it
                // (OpenID Connect Core §5.4).
                scope_claims: !response_type.token && !response_type.code,
            };
            Some(tokens::id_token(self.issuer, now, client, &grant, with)?)
        } else {
            None
        };
        if let Some(code) = code {
            params.push(("code".to_owned(), code));
        }
        if let Some(access_token) = access_token {
            params.push(("access_token".to_owned(), access_token));
            params.push(("token_type".to_owned(), "Bearer".to_owned()));
            let expires_in = self.issuer.lifetimes.access_token.to_string();
            params.push(("expires_in".to_owned(), expires_in));
            params.push(("scope".to_owned(), grant.scopes.join(" ")));
        }
        if let Some(id_token) = id_token {
            params.push(("id_token".to_owned(), id_token));
        }
        Ok(AuthorizationResponse::success(
            &request.redirect_uri,
            request.response_mode,
            params,
            request.state.as_deref(),
            self.issuer.issuer,
        ))
    }

    async fn record(
        &self,
        now: UnixTime,
        client: &Client,
        grant: &UserGrant,
    ) -> Result<(), StoreError> {
        self.grants
            .create_grant(&Grant {
                id: grant.grant_id.clone(),
                user_id: grant.user_id.clone(),
                client_id: client.id.clone(),
                sid: Some(grant.sid.clone()),
                created_at: now,
                revoked_at: None,
            })
            .await
    }

    /// Stores a single-use code for `grant` and returns it.
    async fn store_code(
        &self,
        now: UnixTime,
        request: &AuthorizationRequest,
        grant: UserGrant,
        credential_epoch: i64,
        grant_recorded: bool,
    ) -> Result<String, StoreError> {
        let code = random_token(32);
        let record = CodeGrant {
            grant,
            redirect_uri: request.redirect_uri.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            credential_epoch: Some(credential_epoch),
            grant_recorded,
        };
        let payload =
            serde_json::to_value(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.ephemeral
            .put(
                EphemeralKind::AuthorizationCode,
                &sha256_b64(&code),
                &payload,
                now + self.code_lifetime,
            )
            .await?;
        Ok(code)
    }
}
