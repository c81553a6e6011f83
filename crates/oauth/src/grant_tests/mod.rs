//! The token endpoint's grants, driven as the endpoint drives them: over in-memory stores, a
//! manual clock and a key set of their own. Issued tokens are checked by verifying them with
//! that key set.

mod authorization_code;
mod client_credentials;
mod id_token;
mod refresh_token;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use idp_core::clock::{ManualClock, UnixTime};
use idp_core::model::{Client, EphemeralKind, TokenEndpointAuthMethod};
use idp_core::random::{random_token, sha256_b64};
use idp_core::store::EphemeralStore;
use idp_core::{Clock, ErrorCode};
use idp_token_issuer::{AccessTokenClaims, IdTokenClaims, KeySet};

use crate::authorization_code::{CodeExchange, CodeGrant, CodeRequest};
use crate::grant_error::GrantError;
use crate::issuer::{Issuer, Lifetimes, Proven};
use crate::refresh_format::RefreshToken;
use crate::refresh_token::RefreshExchange;
use crate::test_stores::{
    CountedTokens, MemoryConsents, MemoryEphemeral, MemoryGrants, MemoryRotation, MemoryUsers,
    client, key_set, person,
};
use crate::tokens::{TokenResponse, UserGrant};

pub const ISSUER: &str = "https://idp.example";
pub const REDIRECT_URI: &str = "https://rp.example/cb";
pub const LIFETIMES: Lifetimes = Lifetimes {
    access_token: 300,
    id_token: 600,
    refresh_token: 86_400,
};
/// How long a code lives, as the authorization endpoint stores it.
pub const CODE_TTL: i64 = 60;

/// The token endpoint's stores, clock and keys, with one person, `u1`.
pub struct Endpoint {
    pub clock: ManualClock,
    pub records: MemoryEphemeral,
    pub grants: MemoryGrants,
    pub users: MemoryUsers,
    pub consents: MemoryConsents,
    pub keys: Arc<KeySet>,
    pub counted: CountedTokens,
    /// Whether refresh-token rotations become durable.
    pub rotations_land: AtomicBool,
}

impl Endpoint {
    pub fn new() -> Self {
        Self {
            clock: ManualClock::new(1_700_000_000),
            records: MemoryEphemeral::default(),
            grants: MemoryGrants::default(),
            users: MemoryUsers::with([person("u1")]),
            consents: MemoryConsents::default(),
            keys: Arc::new(key_set()),
            counted: CountedTokens::default(),
            rotations_land: AtomicBool::new(true),
        }
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub fn issuer(&self) -> Issuer<'_> {
        Issuer {
            issuer: ISSUER,
            keys: &self.keys,
            lifetimes: LIFETIMES,
            counter: &self.counted,
            pairwise_key: &PAIRWISE_KEY,
            proven: Proven::default(),
        }
    }

    /// Stores a code for `record`, as the authorization endpoint does, and returns the code.
    pub async fn code_for(&self, record: &CodeGrant) -> String {
        let code = random_token(32);
        let payload = serde_json::to_value(record).unwrap();
        self.records
            .put(
                EphemeralKind::AuthorizationCode,
                &sha256_b64(&code),
                &payload,
                self.now() + CODE_TTL,
            )
            .await
            .unwrap();
        code
    }

    /// `grant_type=authorization_code` from `client`.
    pub async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> Result<TokenResponse, GrantError> {
        let issuer = self.issuer();
        let exchange = CodeExchange {
            ephemeral: &self.records,
            grants: &self.grants,
            users: &self.users,
            consents: &self.consents,
            clock: &self.clock,
            issuer: &issuer,
        };
        let request = CodeRequest {
            code: Some(code),
            redirect_uri,
            code_verifier,
        };
        exchange.exchange(client, request).await
    }

    /// `grant_type=refresh_token` from `client`.
    pub async fn refresh(
        &self,
        client: &Client,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, GrantError> {
        let issuer = self.issuer();
        let rotation = MemoryRotation {
            records: &self.records,
            grants: &self.grants,
            users: &self.users,
            lands: self.rotations_land.load(Ordering::SeqCst),
        };
        let exchange = RefreshExchange {
            rotation: &rotation,
            tokens: &self.records,
            grants: &self.grants,
            users: &self.users,
            clock: &self.clock,
            issuer: &issuer,
        };
        exchange.exchange(client, Some(refresh_token), scope).await
    }

    /// A code for `record` exchanged by `client`, which must succeed.
    pub async fn signed_in(&self, client: &Client, record: &CodeGrant) -> TokenResponse {
        let code = self.code_for(record).await;
        self.exchange_code(client, &code, Some(REDIRECT_URI), None)
            .await
            .unwrap()
    }

    /// The access token's claims, verified with the key set as of now.
    pub fn access_claims(&self, tokens: &TokenResponse) -> AccessTokenClaims {
        self.keys
            .verify(&tokens.access_token, "at+jwt", ISSUER, self.now())
            .unwrap()
    }

    /// The ID token's claims, verified with the key set as of now.
    pub fn id_claims(&self, tokens: &TokenResponse) -> IdTokenClaims {
        let id_token = tokens.id_token.as_deref().expect("an ID token");
        self.keys
            .verify(id_token, "JWT", ISSUER, self.now())
            .unwrap()
    }

    pub fn grant_is_revoked(&self, grant_id: &str) -> bool {
        self.grants
            .get(grant_id)
            .is_some_and(|grant| grant.revoked_at.is_some())
    }
}

/// A client that may skip consent (first party) or not.
pub fn relying_party(id: &str, first_party: bool) -> Client {
    let mut client = client(
        id,
        TokenEndpointAuthMethod::ClientSecretBasic,
        Some("hash".to_owned()),
    );
    client.metadata.first_party = first_party;
    client
}

/// What a code stands for: `u1` signed in with password and PIN, for `client_id` and `scopes`,
/// at credential epoch 1.
pub fn code_grant(client_id: &str, scopes: &[&str]) -> CodeGrant {
    CodeGrant {
        grant: UserGrant {
            client_id: client_id.to_owned(),
            user_id: "u1".to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            auth_time: 1_699_999_990,
            acr: crate::acr::PASSWORD_PIN.to_owned(),
            amr: vec!["pwd".to_owned(), "pin".to_owned()],
            sid: "sid-1".to_owned(),
            grant_id: random_token(16),
            claims: None,
            dpop_jkt: None,
            certificate: None,
        },
        redirect_uri: REDIRECT_URI.to_owned(),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        code_challenge: None,
        credential_epoch: Some(1),
        grant_recorded: false,
    }
}

/// The protocol refusal a grant answered: its code and description.
#[track_caller]
pub fn refusal(result: Result<TokenResponse, GrantError>) -> (ErrorCode, String) {
    match result {
        Err(GrantError::OAuth(error)) => (error.code, error.description.into_owned()),
        other => panic!("expected a protocol refusal, got {other:?}"),
    }
}

/// An `invalid_grant` refusal saying `description`.
pub fn invalid_grant(description: &str) -> (ErrorCode, String) {
    (ErrorCode::InvalidGrant, description.to_owned())
}

/// The key of the tests' pairwise subjects.
pub static PAIRWISE_KEY: crate::subject::PairwiseKey = crate::subject::PairwiseKey([9; 32]);
