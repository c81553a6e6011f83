//! The token endpoint's grants (in `idp-oauth`), wired to the application state: the issuer is
//! built here from the settings and the published keys, issued tokens are counted in the
//! metrics, and refresh tokens rotate through the database's early rotation.

use std::sync::Arc;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{Client, EphemeralKind, Rotated, RotationCheck, Session, User};
use idp_oauth::authorization_answer::AuthorizationAnswers;
use idp_oauth::authorization_code::{CodeExchange, CodeRequest};
use idp_oauth::authorization_request::AuthorizationRequest;
use idp_oauth::authorization_response::AuthorizationResponse;
use idp_oauth::fapi::Rules;
use idp_oauth::grant_error::GrantError;
use idp_oauth::issuer::{IssuedToken, Issuer, KeySource, Lifetimes, Proven, TokenCounter};
use idp_oauth::refresh_token::{Durable, RefreshExchange, RefreshRotation};
use idp_oauth::steady_refresh::SteadyRefresh;
use idp_oauth::tokens::{self, TokenResponse};
use idp_signin::Authorization;
use idp_token_issuer::KeySet;

use crate::error::JsonError;
use crate::metrics::Metrics;
use crate::state::AppState;

impl KeySource for AppState {
    fn current(&self) -> Arc<KeySet> {
        self.keys()
    }
}

impl TokenCounter for Metrics {
    fn issued(&self, kind: IssuedToken) {
        self.token(kind.as_str());
    }
}

/// The database's rotation that answers before it is durable, as the refresh grant asks for it.
struct EarlyRotation<'a>(&'a dyn idp_store_sql::EarlyRotation);

#[async_trait]
impl RefreshRotation for EarlyRotation<'_> {
    async fn rotate_early(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
        next: (&str, UnixTime),
        check: RotationCheck,
    ) -> Result<(Rotated, Durable), StoreError> {
        self.0.rotate_early(kind, id, now, next, check).await
    }
}

/// The issuing context of this request: the issuer, the keys as of the last key change, the
/// configured lifetimes, and the metrics.
pub fn issuer(state: &AppState) -> Issuer<'_> {
    let tokens = &state.settings.tokens;
    Issuer {
        issuer: state.issuer(),
        keys: state,
        lifetimes: Lifetimes {
            access_token: tokens.access_token_ttl,
            id_token: tokens.id_token_ttl,
            refresh_token: tokens.refresh_token_ttl,
        },
        counter: &state.metrics,
        pairwise_key: &state.pairwise_key,
        proven: Proven::default(),
    }
}

/// The authorization endpoint's answer to a request the sign-in authorized: a code, and in the
/// implicit and hybrid flows the tokens (signed as the token endpoint signs them).
pub async fn answer_authorized(
    state: &AppState,
    client: &Client,
    user: Option<&User>,
    request: &AuthorizationRequest,
    authorization: &Authorization,
    session: &Session,
    credential_epoch: i64,
) -> Result<AuthorizationResponse, GrantError> {
    let issuer = issuer(state);
    let answers = AuthorizationAnswers {
        ephemeral: state.stores.ephemeral.as_ref(),
        grants: state.stores.grants.as_ref(),
        issuer: &issuer,
        code_lifetime: Rules::for_client(&client.metadata, state.protocol())
            .code_lifetime(state.settings.tokens.authorization_code_ttl),
    };
    answers
        .answer(
            state.now(),
            client,
            user,
            request,
            authorization,
            session,
            credential_epoch,
        )
        .await
}

/// The issuing context of a token request, its tokens bound to what it proved it holds (a
/// DPoP key, a TLS client certificate).
pub fn bound_issuer<'a>(state: &'a AppState, proven: Proven<'a>) -> Issuer<'a> {
    Issuer {
        proven,
        ..issuer(state)
    }
}

/// The authorization-code grant (RFC 6749 §4.1.3).
pub async fn exchange_code(
    state: &AppState,
    client: &Client,
    request: CodeRequest<'_>,
    proven: Proven<'_>,
) -> Result<TokenResponse, JsonError> {
    let issuer = bound_issuer(state, proven);
    let exchange = CodeExchange {
        ephemeral: state.stores.ephemeral.as_ref(),
        grants: state.stores.grants.as_ref(),
        users: state.stores.users.as_ref(),
        consents: state.stores.consents.as_ref(),
        clock: state.clock.as_ref(),
        issuer: &issuer,
    };
    Ok(exchange.exchange(client, request).await?)
}

/// The refresh-token grant (RFC 6749 §6).
pub async fn exchange_refresh_token(
    state: &AppState,
    client: &Client,
    refresh_token: Option<&str>,
    scope: Option<&str>,
    proven: Proven<'_>,
) -> Result<TokenResponse, JsonError> {
    let issuer = bound_issuer(state, proven);
    if !Rules::for_client(&client.metadata, state.protocol()).rotates_refresh_tokens() {
        let exchange = SteadyRefresh {
            tokens: state.stores.ephemeral.as_ref(),
            grants: state.stores.grants.as_ref(),
            users: state.stores.users.as_ref(),
            clock: state.clock.as_ref(),
            issuer: &issuer,
        };
        return Ok(exchange.exchange(client, refresh_token, scope).await?);
    }
    let exchange = RefreshExchange {
        rotation: &EarlyRotation(state.rotations.as_ref()),
        tokens: state.stores.ephemeral.as_ref(),
        grants: state.stores.grants.as_ref(),
        users: state.stores.users.as_ref(),
        clock: state.clock.as_ref(),
        issuer: &issuer,
    };
    Ok(exchange.exchange(client, refresh_token, scope).await?)
}

/// The client-credentials grant (RFC 6749 §4.4), for the scopes already granted.
pub fn issue_for_client(
    state: &AppState,
    client: &Client,
    scopes: &[String],
    proven: Proven<'_>,
) -> Result<TokenResponse, JsonError> {
    Ok(tokens::issue_for_client(
        &bound_issuer(state, proven),
        state.now(),
        client,
        scopes,
    )?)
}
