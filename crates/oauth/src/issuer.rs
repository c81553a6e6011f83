//! What signing the token endpoint's tokens needs: who the issuer is, the keys, how long each
//! token lives, and where each issued token is counted. The server builds one from its
//! settings and published keys for each request; tests build one from a key set of their own.

use std::sync::Arc;

use idp_token_issuer::KeySet;

/// A token the provider issues, as it is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuedToken {
    Access,
    Id,
    Refresh,
}

impl IssuedToken {
    /// The name it is counted under (`access`, `id`, `refresh`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Id => "id",
            Self::Refresh => "refresh",
        }
    }
}

/// Where the signing keys come from. They are read as each token is signed, not when a
/// request begins, so that a key revoked while a request waited on the database signs
/// nothing more.
pub trait KeySource: Send + Sync {
    /// The keys as of now.
    fn current(&self) -> Arc<KeySet>;
}

/// A key set that never changes (tests, tools).
impl KeySource for Arc<KeySet> {
    fn current(&self) -> Arc<KeySet> {
        self.clone()
    }
}

/// Where issued tokens are counted (the server's metrics).
pub trait TokenCounter: Send + Sync {
    /// Counts one token of `kind`, once it is issued.
    fn issued(&self, kind: IssuedToken);
}

/// How long each token lives, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_token: i64,
    pub id_token: i64,
    pub refresh_token: i64,
}

/// The issuing context: the issuer identifier (`iss`, and `aud` of access tokens), where the
/// keys that sign come from, the tokens' lifetimes, their counter, and the key of pairwise
/// subjects.
pub struct Issuer<'a> {
    pub issuer: &'a str,
    pub keys: &'a dyn KeySource,
    pub lifetimes: Lifetimes,
    pub counter: &'a dyn TokenCounter,
    /// Makes the `sub` pairwise clients see (see [`crate::subject`]).
    pub pairwise_key: &'a crate::subject::PairwiseKey,
    /// What this request proved it holds: the access tokens issued are bound to it.
    pub proven: Proven<'a>,
}

/// What a token request proved it holds, each by its thumbprint: a DPoP key (RFC 9449 §5)
/// and a TLS client certificate (RFC 8705 §3). Tokens issued to it are bound to both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Proven<'a> {
    pub dpop_jkt: Option<&'a str>,
    /// `x5t#S256`.
    pub certificate: Option<&'a str>,
}

impl Issuer<'_> {
    /// The `token_type` of the access tokens issued (RFC 9449 §5.1).
    pub fn token_type(&self) -> &'static str {
        if self.proven.dpop_jkt.is_some() {
            "DPoP"
        } else {
            "Bearer"
        }
    }
}
