//! The refresh-token grant (RFC 6749 §6). Refresh tokens rotate: each use returns a new one and
//! spends the old, and presenting a spent one revokes the whole grant (RFC 9700 §4.14.2).

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use idp_core::clock::UnixTime;
use idp_core::model::{Client, EphemeralKind, GrantOwner, Rotated, RotationCheck};
use idp_core::store::{EphemeralStore, GrantStore, UserStore};
use idp_core::{Clock, OAuthError, StoreError};

use crate::grant_error::GrantError;
use crate::issuer::{IssuedToken, Issuer, Proven};
use crate::refresh_format::{Binding, RefreshToken};
use crate::single_use::{Redeemable, invalid, used_again};
use crate::tokens::{TokenResponse, UserGrant, id_token_names_claims, sign_for_user};

impl Redeemable for UserGrant {
    fn grant(&self) -> &UserGrant {
        self
    }
}

/// Resolves once a rotation is durable; until then nothing that depends on it may leave.
pub type Durable = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;

/// A rotation of a single-use record (see `GrantStore::rotate`) that answers before it is
/// durable, so that the answer is made meanwhile (a refresh signs its tokens while the
/// database's log is flushed): the second value resolves once the rotation is durable.
#[async_trait]
pub trait RefreshRotation: Send + Sync {
    async fn rotate_early(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
        next: (&str, UnixTime),
        check: RotationCheck,
    ) -> Result<(Rotated, Durable), StoreError>;
}

pub(crate) const WHAT: &str = "refresh token";

/// A refresh token's grant, and the scopes this refresh answers; or why it may not be used.
type Verdict = Result<(UserGrant, Vec<String>), GrantError>;

/// Judges a live refresh token's record for `client_id`, asking for `scope`.
pub(crate) fn judge(
    payload: &str,
    client_id: &str,
    scope: Option<&str>,
    proven: Proven<'_>,
) -> Verdict {
    let grant: UserGrant = serde_json::from_str(payload)
        .map_err(|_| GrantError::from(StoreError::Corrupt(WHAT.to_owned())))?;
    let narrowed = Binding::of(&grant).admits(client_id, scope, proven)?;
    Ok((grant, narrowed))
}

/// What a refresh reads and writes: the rotation of refresh tokens, the grants a replay
/// revokes, the clock, and the issuer that signs.
pub struct RefreshExchange<'a> {
    pub rotation: &'a dyn RefreshRotation,
    /// Read only for a token of the form that carries nothing.
    pub tokens: &'a dyn EphemeralStore,
    pub grants: &'a dyn GrantStore,
    /// Read only when the ID token carries claims about the person.
    pub users: &'a dyn UserStore,
    pub clock: &'a dyn Clock,
    pub issuer: &'a Issuer<'a>,
}

impl RefreshExchange<'_> {
    /// The new tokens of `grant`, with the claims about the person its request asked the ID
    /// token for.
    async fn sign(
        &self,
        client: &Client,
        grant: &UserGrant,
        refresh_token: String,
    ) -> Result<TokenResponse, GrantError> {
        let user = if id_token_names_claims(grant) {
            self.users.find_user(&grant.user_id).await?
        } else {
            None
        };
        let now = self.clock.now();
        Ok(sign_for_user(
            self.issuer,
            now,
            client,
            grant,
            user.as_ref(),
            None,
            Some(refresh_token),
        )?)
    }

    /// Exchanges `refresh_token`, presented by `client` and asking for `scope`, for new tokens.
    pub async fn exchange(
        &self,
        client: &Client,
        refresh_token: Option<&str>,
        scope: Option<&str>,
    ) -> Result<TokenResponse, GrantError> {
        let token = refresh_token
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
        // The token is judged where it is read, in the rotation's own step: against the
        // presenting client and the scope asked for before it is used up (so that whoever else
        // presents a leaked one cannot spoil it), and its grant and user must be active until
        // it is. The new refresh token keeps the grant's scopes (a refresh token exists only
        // under offline_access); only the access and ID tokens answer the narrowed scope.
        // The outcome carries the payload the check judged; judging it again (a pure function)
        // gives the same verdict.
        let (id, now) = (RefreshToken::id_of(token), self.clock.now());
        let check = {
            let (client_id, scope) = (client.id.clone(), scope.map(str::to_owned));
            let proven = self.issuer.proven;
            let jkt = proven.dpop_jkt.map(str::to_owned);
            let certificate = proven.certificate.map(str::to_owned);
            RotationCheck::reading(move |payload: &str| {
                let proven = Proven {
                    dpop_jkt: jkt.as_deref(),
                    certificate: certificate.as_deref(),
                };
                let (grant, _) = judge(payload, &client_id, scope.as_deref(), proven).ok()?;
                Some(GrantOwner {
                    grant_id: grant.grant_id,
                    user_id: grant.user_id,
                })
            })
        };
        // What the check needs is what the token carries (bound to its record's id), or,
        // for a token of an earlier form, its record read first. A token that passes is
        // rotated without its record being read again; its successor carries the same.
        let binding = match RefreshToken::binding(token) {
            Some(binding) => Some(binding),
            None => self
                .tokens
                .get(EphemeralKind::RefreshToken, &id, now)
                .await?
                .and_then(|payload| serde_json::from_value::<UserGrant>(payload).ok())
                .map(|grant| Binding::of(&grant)),
        };
        // One its binding does not admit is left to the rotation's own read, which refuses it
        // as it stands, or finds it spent: a replay, whoever presents it.
        let check = match &binding {
            Some(binding)
                if binding
                    .admits(&client.id, scope, self.issuer.proven)
                    .is_ok() =>
            {
                check.passed(binding.grant_id.clone())
            }
            _ => check,
        };
        let ttl = self.issuer.lifetimes.refresh_token;
        let next = RefreshToken::new(self.clock, ttl, binding.as_ref());
        let (rotated, durable) = self
            .rotation
            .rotate_early(
                EphemeralKind::RefreshToken,
                &id,
                now,
                (&next.id, next.expires_at),
                check,
            )
            .await?;
        let verdict = |payload: &str| judge(payload, &client.id, scope, self.issuer.proven);
        // The answer is made while the rotation reaches the disk (a replay's payload is set
        // aside).
        let made = match rotated {
            Rotated::Done(payload) => Ok(match verdict(&payload) {
                Ok((grant, narrowed)) => {
                    let signed = UserGrant {
                        scopes: narrowed,
                        ..grant
                    };
                    self.sign(client, &signed, next.token).await
                }
                Err(error) => Err(error),
            }),
            Rotated::Replayed(payload) => Err(payload),
            Rotated::Refused(payload) => Ok(Err(match verdict(&payload) {
                Err(error) => error,
                Ok(_) => StoreError::Corrupt(format!("a {WHAT} its check refused passed it again"))
                    .into(),
            })),
            Rotated::Inactive => Ok(Err(OAuthError::invalid_grant(
                "the grant was revoked, or its user disabled",
            )
            .into())),
            Rotated::Missing => Ok(Err(invalid(WHAT))),
        };
        // Nothing that depends on the rotation leaves before it is durable: not the answer, nor
        // the revocation a replay brings.
        durable.await?;
        match made {
            Ok(answer) => {
                if answer.is_ok() {
                    self.issuer.counter.issued(IssuedToken::Refresh);
                }
                answer
            }
            Err(payload) => {
                Err(
                    used_again::<UserGrant>(self.grants, self.clock.now(), WHAT, payload, client)
                        .await,
                )
            }
        }
    }
}
