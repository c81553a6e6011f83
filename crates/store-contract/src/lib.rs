//! The storage contract: every rule a backend must keep. Each rule is a function of the stores
//! alone; a backend's tests run each rule as a test of its own on stores opened fresh for it
//! ([`database_contract!`], [`cache_contract!`]), so that one broken rule does not hide the
//! others and no rule leans on what another left behind.

// Only tests run this crate: a step that fails is a rule broken, and says where.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;

use idp_core::StoreError;
use idp_core::model::{Client, Grant, NewUser, Rotated, SigningAlg, TokenEndpointAuthMethod};
use idp_core::store::Stores;

pub mod codes;
pub mod factors;
pub mod grants;
pub mod keys;
pub mod operations;
pub mod records;
pub mod throttle;
pub mod users;

/// Stores opened for one rule, and what to do once it passed (drop its database).
pub struct Fixture {
    pub stores: Stores,
    cleanup: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Fixture {
    pub fn new(stores: Stores) -> Self {
        Self {
            stores,
            cleanup: None,
        }
    }

    /// Runs `cleanup` after the rule passed (a failed rule leaves its database to look at).
    pub fn then(mut self, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cleanup = Some(Box::pin(cleanup));
        self
    }

    pub async fn finish(self) {
        let Self { stores, cleanup } = self;
        drop(stores);
        if let Some(cleanup) = cleanup {
            cleanup.await;
        }
    }
}

/// The people a rule's records belong to, as the database's references need them.
/// The user `user_id` (username `username`), the client `client_id` and a grant `grant_id` of
/// the user's to the client.
pub async fn given_grant(
    stores: &Stores,
    (user_id, username): (&str, &str),
    client_id: &str,
    grant_id: &str,
) {
    stores
        .users
        .create_user(&user(user_id, username))
        .await
        .unwrap();
    stores
        .clients
        .create_client(&client(client_id))
        .await
        .unwrap();
    let grant = grant(grant_id, user_id, client_id);
    stores.grants.create_grant(&grant).await.unwrap();
}

pub async fn given_users(stores: &Stores, users: &[(&str, &str)]) {
    for (id, username) in users {
        stores.users.create_user(&user(id, username)).await.unwrap();
    }
}

/// One `#[tokio::test]` per rule of a database backend. `$open` is an `async fn() ->
/// Option<Fixture>` that opens fresh, empty stores (`None`: the backend is not available
/// here, and the test says it is skipped).
#[macro_export]
macro_rules! database_contract {
    ($open:path) => {
        $crate::rules!($open;
            users::users_are_unique_by_username,
            users::pin_tries_are_taken_atomically,
            users::users_change_their_secrets_and_contacts,
            users::hashes_are_upgraded_only_while_unchanged,
            users::devices_are_trusted_per_user,
            users::people_have_roles_and_are_found_by_part_of_a_contact,
            grants::grants_revoke,
            grants::rotations_are_checked_and_store_one_successor,
            grants::rotations_known_to_pass_settle_alike,
            keys::clients_and_keys_round_trip,
            keys::key_fingerprints_are_recorded_once_and_moved_by_a_rewrap,
            keys::initial_access_tokens_are_spent_exactly_their_uses,
            records::expired_records_are_purged,
            records::live_records_are_listed_up_to_a_limit,
            records::expired_sessions_are_purged,
            operations::audit_events_are_kept_newest_first,
            operations::an_event_appended_twice_is_stored_once,
            operations::the_outbox_keeps_messages_in_order,
            operations::leases_have_one_holder_at_a_time,
            codes::codes_take_tries_atomically_and_are_consumed_once,
            codes::code_failures_are_counted_atomically_per_user,
            factors::factors_are_bound_listed_renamed_and_removed,
            factors::a_totp_step_is_accepted_once,
            factors::saved_codes_are_used_once,
        );
        $crate::cache_contract!($open);
    };
}

/// One `#[tokio::test]` per rule of what a shared cache may hold (sessions, single-use
/// records, throttling), which expires records by itself rather than by purging.
#[macro_export]
macro_rules! cache_contract {
    ($open:path) => {
        $crate::rules!($open;
            records::single_use_records_are_consumed_once,
            records::a_jti_is_used_first_exactly_once,
            records::records_expire,
            records::sessions_expire_and_end,
            records::sessions_are_listed_and_ended_by_sid,
            records::a_found_session_is_deleted_without_its_siblings,
            throttle::throttle_counts_failures_in_a_window,
            throttle::throttle_counts_several_keys_at_once,
            throttle::throttle_backlogs_drain_in_real_time,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! rules {
    ($open:path; $($module:ident :: $rule:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $rule() {
                let Some(fixture) = $open().await else {
                    eprintln!("skipped: the backend is not available here");
                    return;
                };
                $crate::$module::$rule(&fixture.stores).await;
                fixture.finish().await;
            }
        )+
    };
}

pub fn user(id: &str, username: &str) -> NewUser {
    NewUser {
        id: id.into(),
        username: username.into(),
        email: format!("{username}@example.com"),
        email_verified: false,
        phone: Some("+447700900123".into()),
        phone_verified: false,
        password_hash: "$argon2id$password".into(),
        pin_hash: "$argon2id$pin".into(),
        created_at: 1000,
    }
}

/// An active grant of `client_id` to `user_id`, made at 1000.
pub fn grant(id: &str, user_id: &str, client_id: &str) -> Grant {
    Grant {
        id: id.into(),
        user_id: user_id.into(),
        client_id: client_id.into(),
        sid: None,
        created_at: 1000,
        revoked_at: None,
    }
}

/// What a rotation came to (durable once it is known).
pub async fn settled(rotation: impl Future<Output = Result<Rotated, StoreError>>) -> Rotated {
    rotation.await.unwrap()
}

pub fn client(id: &str) -> Client {
    Client {
        id: id.into(),
        name: "Tax Portal".into(),
        secret_hash: Some("hash".into()),
        redirect_uris: vec![
            "https://rp.example/cb".into(),
            "https://rp.example/cb2".into(),
        ],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        id_token_signed_response_alg: SigningAlg::RS256,
        admin: false,
        created_at: 1000,
        metadata: idp_core::model::ClientMetadata {
            grant_types: vec!["authorization_code".into()],
            post_logout_redirect_uris: vec!["https://rp.example/bye".into()],
            ..idp_core::model::ClientMetadata::default()
        },
    }
}
