//! Issuing tokens at the token endpoint: for a user (authorization code, refresh token) or for
//! a client acting on its own behalf (client credentials).

use idp_core::clock::UnixTime;
use idp_core::model::{Client, EphemeralKind, SigningAlg, TokenEndpointAuthMethod, User};
use idp_core::random::random_token;
use idp_core::store::EphemeralStore;
use idp_core::{Clock, OAuthError, StoreError};
use idp_token_issuer::{
    AccessTokenClaims, Confirmation, IdTokenClaims, TokenError, at_hash, c_hash,
};
use serde::{Deserialize, Serialize};

use crate::claims::{ClaimsRequest, released};
use crate::grant_error::GrantError;
use crate::issuer::{IssuedToken, Issuer, Proven};
use crate::refresh_format::RefreshToken;
use crate::subject::subject_for;

/// The scope that asks for a refresh token (OpenID Connect Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// A user's authorization of a client, as an authorization code or a refresh token carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserGrant {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub sid: String,
    /// Every token issued under this authorization; revoking it revokes them all.
    pub grant_id: String,
    /// The request's `claims` parameter (none in records made before it was honoured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsRequest>,
    /// The DPoP key (thumbprint) whoever redeems this code or refresh token must prove they
    /// hold: a public client's refresh tokens, and a code whose pushed request named a key
    /// (RFC 9449 §5, §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// The TLS client certificate (`x5t#S256`) whoever redeems this refresh token must
    /// present: a public client's, when its tokens are certificate-bound (RFC 8705 §4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

impl UserGrant {
    /// Whether what the request `proven` holds satisfies what this record is bound to: its
    /// DPoP key and its TLS client certificate, where it is bound to them.
    pub fn check_possession(&self, proven: Proven<'_>) -> Result<(), OAuthError> {
        check_possession(
            self.certificate.as_deref(),
            self.dpop_jkt.as_deref(),
            proven,
        )
    }
}

/// Whether what the request `proven` holds satisfies a record bound to `certificate` and
/// `dpop_jkt`, where it is bound to them.
pub fn check_possession(
    certificate: Option<&str>,
    dpop_jkt: Option<&str>,
    proven: Proven<'_>,
) -> Result<(), OAuthError> {
    if let Some(bound) = certificate
        && proven.certificate != Some(bound)
    {
        return Err(OAuthError::invalid_grant(
            "this grant is bound to a TLS client certificate: connect with it",
        ));
    }
    match (dpop_jkt, proven.dpop_jkt) {
        (None, _) => Ok(()),
        (Some(bound), Some(proven)) if bound == proven => Ok(()),
        (Some(_), None) => Err(OAuthError::new(
            idp_core::ErrorCode::InvalidDpopProof,
            "this grant is bound to a DPoP key: a DPoP proof is required",
        )),
        (Some(_), Some(_)) => Err(OAuthError::new(
            idp_core::ErrorCode::InvalidDpopProof,
            "the DPoP proof is not made with the key this grant is bound to",
        )),
    }
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

fn access_token(issuer: &Issuer<'_>, claims: &AccessTokenClaims) -> Result<String, TokenError> {
    // Access tokens are always ES256; a client's choice applies to its ID tokens.
    issuer
        .keys
        .current()
        .sign(SigningAlg::ES256, "at+jwt", claims)
}

/// Tokens for a user: an access token, an ID token (with `nonce` when the request had one),
/// and a rotating refresh token when `offline_access` was granted.
pub async fn issue_for_user(
    refresh_tokens: &dyn EphemeralStore,
    issuer: &Issuer<'_>,
    clock: &dyn Clock,
    client: &Client,
    grant: &UserGrant,
    user: &User,
    nonce: Option<String>,
) -> Result<TokenResponse, GrantError> {
    let refresh_token = if grant.scopes.iter().any(|s| s == OFFLINE_ACCESS) {
        // A public client's refresh tokens are bound to its DPoP key (RFC 9449 §5): it has no
        // other proof that it is the one presenting them.
        let public = client.token_endpoint_auth_method == TokenEndpointAuthMethod::None;
        let bound = UserGrant {
            dpop_jkt: issuer.proven.dpop_jkt.filter(|_| public).map(str::to_owned),
            certificate: issuer
                .proven
                .certificate
                .filter(|_| public)
                .map(str::to_owned),
            ..grant.clone()
        };
        Some(store_refresh_token(refresh_tokens, issuer, clock, &bound).await?)
    } else {
        None
    };
    Ok(sign_for_user(
        issuer,
        clock.now(),
        client,
        grant,
        Some(user),
        nonce,
        refresh_token,
    )?)
}

/// What an ID token says beyond the grant.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdTokenFor<'a> {
    /// The person, for the claims about them it carries; none: the protocol's claims only.
    pub user: Option<&'a User>,
    pub nonce: Option<&'a str>,
    /// The access token issued with it, hashed into `at_hash`.
    pub access_token: Option<&'a str>,
    /// The code issued with it at the authorization endpoint (hybrid flow), hashed into
    /// `c_hash` (OpenID Connect Core §3.3.2.11).
    pub code: Option<&'a str>,
    /// No access token is issued with it (`response_type=id_token`): the claims of the
    /// granted scopes go into the ID token (OpenID Connect Core §5.4).
    pub scope_claims: bool,
}

/// The ID token for `grant`, issued at `now`: the protocol's claims, `sub` as `client` sees
/// the person (see [`crate::subject`]), and the claims about the person that the request's
/// `claims` parameter asked the ID token for (and the scopes', with `scope_claims`).
pub fn id_token(
    issuer: &Issuer<'_>,
    now: UnixTime,
    client: &Client,
    grant: &UserGrant,
    with: IdTokenFor<'_>,
) -> Result<String, TokenError> {
    let alg = client.id_token_signed_response_alg;
    let named = grant
        .claims
        .iter()
        .flat_map(|c| c.id_token.keys().map(String::as_str));
    let extra = match with.user {
        Some(user) => released(user, &grant.scopes, with.scope_claims, named),
        None => Default::default(),
    };
    let signed = issuer.keys.current().sign(
        alg,
        "JWT",
        &IdTokenClaims {
            iss: issuer.issuer.to_owned(),
            sub: subject_for(issuer.pairwise_key, client, &grant.user_id),
            aud: client.id.clone(),
            exp: now + issuer.lifetimes.id_token,
            iat: now,
            auth_time: grant.auth_time,
            nonce: with.nonce.map(str::to_owned),
            acr: grant.acr.clone(),
            amr: grant.amr.clone(),
            sid: grant.sid.clone(),
            at_hash: with.access_token.map(|token| at_hash(token, alg)),
            c_hash: with.code.map(|code| c_hash(code, alg)),
            extra,
        },
    )?;
    issuer.counter.issued(IssuedToken::Id);
    Ok(signed)
}

/// The access and ID tokens for a user, issued at `now`, with `refresh_token` (already
/// stored) when given. `user` is the person, for the claims the request asked the ID token
/// for; it may be left out when the request asked it for none.
pub fn sign_for_user(
    issuer: &Issuer<'_>,
    now: UnixTime,
    client: &Client,
    grant: &UserGrant,
    user: Option<&User>,
    nonce: Option<String>,
    refresh_token: Option<String>,
) -> Result<TokenResponse, TokenError> {
    let lifetimes = &issuer.lifetimes;
    let scope = grant.scopes.join(" ");
    let access_token = sign_access_token(issuer, now, client, grant)?;
    let id_token = id_token(
        issuer,
        now,
        client,
        grant,
        IdTokenFor {
            user,
            nonce: nonce.as_deref(),
            access_token: Some(&access_token),
            code: None,
            scope_claims: false,
        },
    )?;
    Ok(TokenResponse {
        access_token,
        token_type: issuer.token_type(),
        expires_in: lifetimes.access_token,
        id_token: Some(id_token),
        refresh_token,
        scope,
    })
}

/// The user's access token (RFC 9068) for `grant`, issued at `now`: the token endpoint's, and
/// the authorization endpoint's in the implicit and hybrid flows.
pub fn sign_access_token(
    issuer: &Issuer<'_>,
    now: UnixTime,
    client: &Client,
    grant: &UserGrant,
) -> Result<String, TokenError> {
    let token = access_token(
        issuer,
        &AccessTokenClaims {
            iss: issuer.issuer.to_owned(),
            sub: subject_for(issuer.pairwise_key, client, &grant.user_id),
            aud: issuer.issuer.to_owned(),
            exp: now + issuer.lifetimes.access_token,
            iat: now,
            jti: random_token(16),
            client_id: client.id.clone(),
            scope: grant.scopes.join(" "),
            auth_time: Some(grant.auth_time),
            acr: Some(grant.acr.clone()),
            amr: Some(grant.amr.clone()),
            grant_id: Some(grant.grant_id.clone()),
            userinfo_claims: grant
                .claims
                .as_ref()
                .map(ClaimsRequest::userinfo_names)
                .filter(|names| !names.is_empty()),
            cnf: Confirmation::of(issuer.proven.dpop_jkt, issuer.proven.certificate),
        },
    )?;
    issuer.counter.issued(IssuedToken::Access);
    Ok(token)
}

/// Whether the ID token of `grant` carries claims about the person (so the person must be
/// read before it is signed).
pub fn id_token_names_claims(grant: &UserGrant) -> bool {
    grant
        .claims
        .as_ref()
        .is_some_and(|c| !c.id_token.is_empty())
}

/// A new refresh token for the grant, stored as its digest; single use (each use rotates it).
pub async fn store_refresh_token(
    refresh_tokens: &dyn EphemeralStore,
    issuer: &Issuer<'_>,
    clock: &dyn Clock,
    grant: &UserGrant,
) -> Result<String, StoreError> {
    let binding = crate::refresh_format::Binding::of(grant);
    let next = RefreshToken::new(clock, issuer.lifetimes.refresh_token, Some(&binding));
    let payload = serde_json::to_value(grant).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    refresh_tokens
        .put(
            EphemeralKind::RefreshToken,
            &next.id,
            &payload,
            next.expires_at,
        )
        .await?;
    issuer.counter.issued(IssuedToken::Refresh);
    Ok(next.token)
}

/// An access token for the client itself (RFC 6749 §4.4), issued at `now`: no user, no ID
/// token, no refresh.
pub fn issue_for_client(
    issuer: &Issuer<'_>,
    now: UnixTime,
    client: &Client,
    scopes: &[String],
) -> Result<TokenResponse, TokenError> {
    let ttl = issuer.lifetimes.access_token;
    let scope = scopes.join(" ");
    let access_token = access_token(
        issuer,
        &AccessTokenClaims {
            iss: issuer.issuer.to_owned(),
            sub: client.id.clone(),
            aud: issuer.issuer.to_owned(),
            exp: now + ttl,
            iat: now,
            jti: random_token(16),
            client_id: client.id.clone(),
            scope: scope.clone(),
            auth_time: None,
            acr: None,
            amr: None,
            grant_id: None,
            userinfo_claims: None,
            cnf: Confirmation::of(issuer.proven.dpop_jkt, issuer.proven.certificate),
        },
    )?;
    issuer.counter.issued(IssuedToken::Access);
    Ok(TokenResponse {
        access_token,
        token_type: issuer.token_type(),
        expires_in: ttl,
        id_token: None,
        refresh_token: None,
        scope,
    })
}

/// The scopes a refresh may ask for: those of the grant or fewer (RFC 6749 §6).
pub fn narrowed_scopes(
    granted: &[String],
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested else {
        return Ok(granted.to_vec());
    };
    let mut out = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !granted.iter().any(|g| g == scope) {
            return Err(OAuthError::new(
                idp_core::ErrorCode::InvalidScope,
                "a refresh may not ask for scopes the grant does not have",
            ));
        }
        if !out.iter().any(|o: &String| o == scope) {
            out.push(scope.to_owned());
        }
    }
    Ok(out)
}
