//! People: their accounts, secrets, contacts and roles, and their PIN tries.

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::model::{NewUser, Roles, User};

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores the whole user in one write. `StoreError::Conflict` when the username is taken.
    async fn create_user(&self, user: &NewUser) -> Result<(), StoreError>;
    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// The person whose claims an access token's holder reads (UserInfo): where a node holds
    /// people in memory while it hears of their changes, from there, as fresh as the token's
    /// own check. Never for a decision about signing in: that reads [`UserStore::find_user`].
    async fn find_user_for_claims(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.find_user(id).await
    }
    /// `username` must already be normalised.
    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Sets a new PIN hash, or none (a new PIN must be chosen at the next sign-in), and gives
    /// every PIN try back.
    async fn set_pin(&self, user_id: &str, pin_hash: Option<&str>) -> Result<(), StoreError>;
    async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<(), StoreError>;
    /// Replaces the password hash with `upgraded` (the same password hashed at the current
    /// parameters) only while it is still `current`, so that a password changed meanwhile is
    /// never undone; false when it was not. Atomic.
    async fn upgrade_password_hash(
        &self,
        user_id: &str,
        current: &str,
        upgraded: &str,
    ) -> Result<bool, StoreError>;
    /// The same for the PIN hash; the PIN tries stay as they are. Atomic.
    async fn upgrade_pin_hash(
        &self,
        user_id: &str,
        current: &str,
        upgraded: &str,
    ) -> Result<bool, StoreError>;
    /// Disables the account (`Some(time)`) or enables it again (`None`).
    async fn set_disabled(
        &self,
        user_id: &str,
        disabled_at: Option<UnixTime>,
    ) -> Result<(), StoreError>;
    /// Replaces the user's security questions (none: removes them).
    async fn set_security_questions(
        &self,
        user_id: &str,
        answers: &[crate::security_questions::SecurityAnswer],
    ) -> Result<(), StoreError>;
    /// Sets the e-mail address and whether it is confirmed.
    async fn set_email(&self, user_id: &str, email: &str, verified: bool)
    -> Result<(), StoreError>;
    /// Sets the phone number (or removes it) and whether it is confirmed.
    async fn set_phone(
        &self,
        user_id: &str,
        phone: Option<&str>,
        verified: bool,
    ) -> Result<(), StoreError>;
    /// Replaces the person's names and address (see [`crate::model::Profile`]).
    async fn set_profile(
        &self,
        user_id: &str,
        profile: &crate::model::Profile,
    ) -> Result<(), StoreError>;
    /// Replaces the person's roles; an error when there is no such person.
    async fn set_roles(&self, user_id: &str, roles: Roles) -> Result<(), StoreError>;
    /// People whose username holds `text` (any case; `%` and `_` as typed), or whose whole
    /// e-mail address (any case) or phone number (however written) it is: a search never tells
    /// more of a contact than its masked form shows. Ordered by username, those after `after`
    /// only (a page's last username), at most `limit`.
    async fn search_users(
        &self,
        text: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError>;
}

/// The PIN try counter. Correctness under concurrency lives here, so it is its own trait.
#[async_trait]
pub trait PinAttemptStore: Send + Sync {
    /// Atomically takes one try when fewer than `max` are taken: returns the number taken now
    /// (1..=max), or `None` when `max` are already taken (the PIN is locked). A try is taken
    /// *before* the PIN is evaluated, so concurrent requests can never evaluate more than `max`.
    async fn take_pin_attempt(&self, user_id: &str, max: u32) -> Result<Option<u32>, StoreError>;
    /// Gives one try back: the PIN it was taken for could not be evaluated (the hashing pool
    /// was busy, or the store failed), so it does not count.
    async fn give_back_pin_attempt(&self, user_id: &str) -> Result<(), StoreError>;
    /// Gives every try back after a correct PIN.
    async fn reset_pin_attempts(&self, user_id: &str) -> Result<(), StoreError>;
}
