//! What a test issuer signs and counts with.

use std::sync::Mutex;

use idp_core::model::SigningAlg;
use idp_token_issuer::{KeySet, SigningKey};

use crate::issuer::{IssuedToken, TokenCounter};

/// A fresh key for every algorithm, all signing.
pub fn key_set() -> KeySet {
    let keys = SigningAlg::ALL
        .into_iter()
        .map(|alg| SigningKey::from_pkcs8(alg, &SigningKey::generate(alg).unwrap()).unwrap())
        .collect();
    KeySet::new(keys)
}

/// Every token counted, in order.
#[derive(Default)]
pub struct CountedTokens(Mutex<Vec<IssuedToken>>);

impl CountedTokens {
    /// How many of `kind` were counted.
    pub fn of(&self, kind: IssuedToken) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|k| **k == kind)
            .count()
    }
}

impl TokenCounter for CountedTokens {
    fn issued(&self, kind: IssuedToken) {
        self.0.lock().unwrap().push(kind);
    }
}
