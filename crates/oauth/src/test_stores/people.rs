//! People and their consents to third-party clients, in memory.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{NewUser, User};
use idp_core::security_questions::SecurityAnswer;
use idp_core::store::{ConsentStore, UserStore};

/// A person with id `id`, enabled, at credential epoch 1.
pub fn person(id: &str) -> User {
    User {
        id: id.to_owned(),
        username: id.to_owned(),
        email: format!("{id}@example.org"),
        email_verified: true,
        phone: None,
        phone_verified: false,
        password_hash: "not a hash".to_owned(),
        pin_hash: None,
        pin_failures: 0,
        security_questions: Vec::new(),
        created_at: 0,
        disabled_at: None,
        credential_epoch: 1,
        profile: Default::default(),
        roles: Default::default(),
    }
}

/// People by id; what the grants read (finding, disabling) and the credential change tests
/// make by hand.
#[derive(Default)]
pub struct MemoryUsers(Mutex<HashMap<String, User>>);

impl MemoryUsers {
    pub fn with(users: impl IntoIterator<Item = User>) -> Self {
        Self(Mutex::new(
            users.into_iter().map(|u| (u.id.clone(), u)).collect(),
        ))
    }

    /// Moves the person's credential epoch on, as a PIN or password change does.
    pub fn change_credentials(&self, id: &str) {
        if let Some(user) = self.0.lock().unwrap().get_mut(id) {
            user.credential_epoch += 1;
        }
    }

    /// Whether the person exists and is not disabled.
    pub fn is_enabled(&self, id: &str) -> bool {
        self.0
            .lock()
            .unwrap()
            .get(id)
            .is_some_and(|user| user.disabled_at.is_none())
    }
}

#[async_trait]
impl UserStore for MemoryUsers {
    async fn create_user(&self, _: &NewUser) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.0.lock().unwrap().get(id).cloned())
    }
    async fn find_user_by_username(&self, _: &str) -> Result<Option<User>, StoreError> {
        unreachable!("not used by these tests")
    }
    async fn set_pin(&self, _: &str, _: Option<&str>) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn set_password(&self, _: &str, _: &str) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn upgrade_password_hash(&self, _: &str, _: &str, _: &str) -> Result<bool, StoreError> {
        unreachable!("not used by these tests")
    }
    async fn upgrade_pin_hash(&self, _: &str, _: &str, _: &str) -> Result<bool, StoreError> {
        unreachable!("not used by these tests")
    }
    async fn set_disabled(
        &self,
        id: &str,
        disabled_at: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        if let Some(user) = self.0.lock().unwrap().get_mut(id) {
            user.disabled_at = disabled_at;
            user.credential_epoch += 1;
        }
        Ok(())
    }
    async fn set_security_questions(
        &self,
        _: &str,
        _: &[SecurityAnswer],
    ) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn set_email(&self, _: &str, _: &str, _: bool) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn set_phone(&self, _: &str, _: Option<&str>, _: bool) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn set_profile(&self, _: &str, _: &idp_core::model::Profile) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn set_roles(&self, _: &str, _: idp_core::model::Roles) -> Result<(), StoreError> {
        unreachable!("not used by these tests")
    }
    async fn search_users(
        &self,
        _: &str,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<User>, StoreError> {
        unreachable!("not used by these tests")
    }
}

/// A person's consent to a client: the scopes allowed, and when.
type Consent = (Vec<String>, UnixTime);

/// The consent of each person to each client, keyed by (user, client).
#[derive(Default)]
pub struct MemoryConsents(Mutex<HashMap<(String, String), Consent>>);

#[async_trait]
impl ConsentStore for MemoryConsents {
    async fn consented_scopes(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let consents = self.0.lock().unwrap();
        let key = (user_id.to_owned(), client_id.to_owned());
        Ok(consents.get(&key).map(|(scopes, _)| scopes.clone()))
    }
    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut consents = self.0.lock().unwrap();
        let key = (user_id.to_owned(), client_id.to_owned());
        let (allowed, at) = consents.entry(key).or_insert_with(|| (Vec::new(), now));
        for scope in scopes {
            if !allowed.contains(scope) {
                allowed.push(scope.clone());
            }
        }
        *at = now;
        Ok(())
    }
    async fn list_consents(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, Vec<String>, UnixTime)>, StoreError> {
        let consents = self.0.lock().unwrap();
        Ok(consents
            .iter()
            .filter(|((user, _), _)| user == user_id)
            .map(|((_, client), (scopes, at))| (client.clone(), scopes.clone(), *at))
            .collect())
    }
    async fn withdraw_consent(&self, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
        let key = (user_id.to_owned(), client_id.to_owned());
        Ok(self.0.lock().unwrap().remove(&key).is_some())
    }
}
