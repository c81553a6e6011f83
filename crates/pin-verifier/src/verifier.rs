//! Checking a typed PIN. A try is taken from the user's allowance *before* the PIN is evaluated
//! and given back only when it is correct, so the number of PINs evaluated can never exceed the
//! allowance, whatever the number of concurrent requests or nodes (the counter lives in the
//! shared store and is taken atomically).

use std::sync::Arc;

use idp_core::StoreError;
use idp_core::hashing::{HashError, HashPool, Pepper, Turn};
use idp_core::model::User;
use idp_core::store::PinAttemptStore;

use crate::policy::{PinPolicy, PinRejection};

/// Longest input that is hashed at all; longer digit strings are wrong without hashing.
const MAX_TYPED_LENGTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOutcome {
    Correct,
    /// Wrong; `tries_left` is 0 when this try locked the PIN.
    Wrong {
        tries_left: u32,
    },
    /// No tries left: only recovery or an administrator opens it.
    Locked,
    /// Not digits (often a password typed into the PIN field): no try taken.
    NotDigits,
    /// The account has no PIN (one must be set first).
    NotSet,
}

#[derive(Debug, thiserror::Error)]
pub enum PinVerifierError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

#[derive(Clone)]
pub struct PinVerifier {
    hasher: HashPool,
    pepper: Pepper,
    attempts: Arc<dyn PinAttemptStore>,
    max_attempts: u32,
    policy: PinPolicy,
}

impl PinVerifier {
    pub fn new(
        hasher: HashPool,
        pepper: Pepper,
        attempts: Arc<dyn PinAttemptStore>,
        max_attempts: u32,
        policy: PinPolicy,
    ) -> Self {
        Self {
            hasher,
            pepper,
            attempts,
            max_attempts: max_attempts.max(1),
            policy,
        }
    }

    pub fn policy(&self) -> &PinPolicy {
        &self.policy
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Hashes a new PIN (already checked with [`PinPolicy::check_new`]) with the server-side key.
    pub async fn hash_new_pin(&self, pin: &str) -> Result<String, HashError> {
        self.hash_keyed(pin).await
    }

    /// Hashes a secret with the server-side key, as PINs are: for other low-entropy secrets
    /// such as security answers.
    pub async fn hash_keyed(&self, secret: &str) -> Result<String, HashError> {
        self.hasher
            .hash(secret.to_owned(), Some(self.pepper.clone()))
            .await
    }

    /// Whether `pin` (or another secret hashed by [`PinVerifier::hash_keyed`]) is the one
    /// `hash` was made from, without counting a try: for refusing a new PIN equal to the old one.
    pub async fn matches_hash(&self, pin: &str, hash: &str) -> Result<bool, HashError> {
        self.hasher
            .verify(
                Turn::New,
                pin.to_owned(),
                hash.to_owned(),
                Some(self.pepper.clone()),
            )
            .await
    }

    /// For a PIN just found [`PinOutcome::Correct`] against `stored`: the PIN hashed anew with
    /// the server-side key when `stored` was made at other Argon2 parameters than the current
    /// ones, `None` when it is current (see [`HashPool::rehash_if_outdated`]).
    pub async fn rehash_if_outdated(
        &self,
        pin: &str,
        stored: &str,
    ) -> Result<Option<String>, HashError> {
        self.hasher
            .rehash_if_outdated(pin.to_owned(), stored, Some(self.pepper.clone()))
            .await
    }

    /// Checks `typed` against the user's PIN, counting a try. `turn`: [`Turn::Continuing`] for
    /// the PIN step of a sign-in whose password was verified (it goes ahead of new sign-ins
    /// when hashes queue), [`Turn::New`] otherwise.
    pub async fn verify(
        &self,
        turn: Turn,
        user: &User,
        typed: &str,
    ) -> Result<PinOutcome, PinVerifierError> {
        if self.policy.check_format(typed) == Err(PinRejection::NotDigits) {
            return Ok(PinOutcome::NotDigits);
        }
        let Some(stored) = user.pin_hash.clone() else {
            return Ok(PinOutcome::NotSet);
        };
        let Some(taken) = self
            .attempts
            .take_pin_attempt(&user.id, self.max_attempts)
            .await?
        else {
            return Ok(PinOutcome::Locked);
        };
        let correct = if typed.len() <= MAX_TYPED_LENGTH {
            let checked = self
                .hasher
                .verify(turn, typed.to_owned(), stored, Some(self.pepper.clone()))
                .await;
            match checked {
                Ok(correct) => correct,
                Err(error) => {
                    // Not evaluated, so not counted: a busy server must not lock people out.
                    self.attempts.give_back_pin_attempt(&user.id).await?;
                    return Err(error.into());
                }
            }
        } else {
            false
        };
        if correct {
            self.attempts.reset_pin_attempts(&user.id).await?;
            return Ok(PinOutcome::Correct);
        }
        Ok(PinOutcome::Wrong {
            tries_left: self.max_attempts.saturating_sub(taken),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;
    use idp_core::hashing::HashParams;

    use super::*;

    /// The counter contract in memory; the SQL backends are held to the same contract by the
    /// storage contract tests.
    #[derive(Default)]
    struct Counter(Mutex<HashMap<String, u32>>);

    #[async_trait]
    impl PinAttemptStore for Counter {
        async fn take_pin_attempt(
            &self,
            user_id: &str,
            max: u32,
        ) -> Result<Option<u32>, StoreError> {
            let mut map = self
                .0
                .lock()
                .map_err(|_| StoreError::Corrupt("poisoned".into()))?;
            let taken = map.entry(user_id.to_owned()).or_default();
            if *taken >= max {
                return Ok(None);
            }
            *taken += 1;
            Ok(Some(*taken))
        }

        async fn give_back_pin_attempt(&self, user_id: &str) -> Result<(), StoreError> {
            let mut map = self
                .0
                .lock()
                .map_err(|_| StoreError::Corrupt("poisoned".into()))?;
            if let Some(taken) = map.get_mut(user_id) {
                *taken = taken.saturating_sub(1);
            }
            Ok(())
        }

        async fn reset_pin_attempts(&self, user_id: &str) -> Result<(), StoreError> {
            let mut map = self
                .0
                .lock()
                .map_err(|_| StoreError::Corrupt("poisoned".into()))?;
            map.insert(user_id.to_owned(), 0);
            Ok(())
        }
    }

    async fn setup(pin: &str) -> (PinVerifier, User) {
        let params = HashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let pool = HashPool::new(params, 4, Duration::from_secs(5)).expect("pool");
        let verifier = PinVerifier::new(
            pool,
            Arc::from(&b"0123456789abcdef0123456789abcdef"[..]),
            Arc::new(Counter::default()),
            5,
            PinPolicy::default(),
        );
        let user = User {
            id: "u1".into(),
            username: "alice".into(),
            email: "alice@example.com".into(),
            email_verified: false,
            phone: None,
            phone_verified: false,
            password_hash: String::new(),
            pin_hash: Some(verifier.hash_new_pin(pin).await.expect("hash")),
            pin_failures: 0,
            security_questions: Vec::new(),
            created_at: 0,
            disabled_at: None,
            credential_epoch: 0,
            profile: Default::default(),
            roles: Default::default(),
        };
        (verifier, user)
    }

    #[tokio::test]
    async fn correct_pin_resets_the_count() {
        let (verifier, user) = setup("482916").await;
        assert_eq!(
            verifier.verify(Turn::New, &user, "000000").await.unwrap(),
            PinOutcome::Wrong { tries_left: 4 }
        );
        assert_eq!(
            verifier.verify(Turn::New, &user, "482916").await.unwrap(),
            PinOutcome::Correct
        );
        assert_eq!(
            verifier.verify(Turn::New, &user, "000000").await.unwrap(),
            PinOutcome::Wrong { tries_left: 4 }
        );
    }

    #[tokio::test]
    async fn five_wrong_pins_lock_even_the_right_one_out() {
        let (verifier, user) = setup("482916").await;
        for left in (0..5).rev() {
            assert_eq!(
                verifier.verify(Turn::New, &user, "000000").await.unwrap(),
                PinOutcome::Wrong { tries_left: left }
            );
        }
        assert_eq!(
            verifier.verify(Turn::New, &user, "482916").await.unwrap(),
            PinOutcome::Locked
        );
    }

    #[tokio::test]
    async fn letters_take_no_try() {
        let (verifier, user) = setup("482916").await;
        for _ in 0..10 {
            assert_eq!(
                verifier
                    .verify(Turn::New, &user, "my password")
                    .await
                    .unwrap(),
                PinOutcome::NotDigits
            );
        }
        assert_eq!(
            verifier.verify(Turn::New, &user, "482916").await.unwrap(),
            PinOutcome::Correct
        );
    }

    #[tokio::test]
    async fn concurrent_wrong_pins_evaluate_at_most_the_allowance() {
        let (verifier, user) = setup("482916").await;
        let attempts = (0..50).map(|_| {
            let (verifier, user) = (verifier.clone(), user.clone());
            tokio::spawn(async move { verifier.verify(Turn::New, &user, "000000").await.unwrap() })
        });
        let mut wrong = 0;
        for attempt in attempts {
            match attempt.await.unwrap() {
                PinOutcome::Wrong { .. } => wrong += 1,
                PinOutcome::Locked => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(wrong, 5);
        assert_eq!(
            verifier.verify(Turn::New, &user, "482916").await.unwrap(),
            PinOutcome::Locked
        );
    }

    #[tokio::test]
    async fn an_account_without_a_pin_says_so() {
        let (verifier, mut user) = setup("482916").await;
        user.pin_hash = None;
        assert_eq!(
            verifier.verify(Turn::New, &user, "482916").await.unwrap(),
            PinOutcome::NotSet
        );
    }

    #[tokio::test]
    async fn a_pin_that_could_not_be_checked_takes_no_try() {
        let (verifier, user) = setup("482916").await;
        let broken = User {
            pin_hash: Some("not a hash".into()),
            ..user.clone()
        };
        for _ in 0..10 {
            assert!(verifier.verify(Turn::New, &broken, "482916").await.is_err());
        }
        assert_eq!(
            verifier.verify(Turn::New, &user, "000000").await.unwrap(),
            PinOutcome::Wrong { tries_left: 4 }
        );
    }
}
