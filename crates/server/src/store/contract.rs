//! The storage contract: what every backend must do, as one suite each backend runs.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idp_core::StoreError;
use idp_core::model::{
    Client, Consumed, EphemeralKind, Grant, GrantOwner, KeyState, NewUser, Rotated, RotationCheck,
    Session, SigningAlg, SigningKeyRecord, TokenEndpointAuthMethod, User,
};
use idp_core::store::Durable;
use serde_json::json;

use super::Stores;

pub(super) fn user(id: &str, username: &str) -> NewUser {
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
pub(super) fn grant(id: &str, user_id: &str, client_id: &str) -> Grant {
    Grant {
        id: id.into(),
        user_id: user_id.into(),
        client_id: client_id.into(),
        sid: None,
        created_at: 1000,
        revoked_at: None,
    }
}

/// What a rotation came to, once durable.
pub(super) async fn settled(
    rotation: impl std::future::Future<Output = Result<(Rotated, Durable), StoreError>>,
) -> Rotated {
    let (rotated, durable) = rotation.await.unwrap();
    durable.await.unwrap();
    rotated
}

/// Every rule, for a database backend.
pub async fn run_all(stores: Stores) {
    users_are_unique_by_username(&stores).await;
    pin_tries_are_taken_atomically(&stores).await;
    grants_revoke(&stores).await;
    clients_and_keys_round_trip(&stores).await;
    users_change_their_secrets_and_contacts(&stores).await;
    hashes_are_upgraded_only_while_unchanged(&stores).await;
    run_cache_rules(&stores).await;
    expired_records_are_purged(&stores).await;
    expired_sessions_are_purged(&stores).await;
    audit_events_are_kept_newest_first(&stores).await;
    the_outbox_keeps_messages_in_order(&stores).await;
    devices_are_trusted_per_user(&stores).await;
    codes_take_tries_atomically_and_are_consumed_once(&stores).await;
    code_failures_are_counted_atomically_per_user(&stores).await;
    key_fingerprints_are_recorded_once_and_moved_by_a_rewrap(&stores).await;
    leases_have_one_holder_at_a_time(&stores).await;
    rotations_are_checked_and_store_one_successor(&stores).await;
}

/// A check that accepts the record for grant `grant_id` of `user_id`, and notes that it ran.
fn accepting(grant_id: &str, user_id: &str, ran: &Arc<AtomicUsize>) -> RotationCheck {
    let (owner, ran) = (
        GrantOwner {
            grant_id: grant_id.into(),
            user_id: user_id.into(),
        },
        ran.clone(),
    );
    Box::new(move |payload: &str| {
        assert_eq!(payload, r#"{"grant":"g-rot"}"#, "the check sees the record");
        ran.fetch_add(1, Ordering::SeqCst);
        Some(owner.clone())
    })
}

/// A rotation spends the record and stores its payload under the new id: of many at once, one
/// succeeds and only its successor exists. A record that is not live, that its check refuses,
/// or whose grant is revoked or user disabled is left as it was, with no successor.
async fn rotations_are_checked_and_store_one_successor(stores: &Stores) {
    let kind = EphemeralKind::RefreshToken;
    stores
        .users
        .create_user(&user("u-rot", "rota"))
        .await
        .unwrap();
    stores
        .clients
        .create_client(&client("c-rot"))
        .await
        .unwrap();
    let grant = grant("g-rot", "u-rot", "c-rot");
    stores.grants.create_grant(&grant).await.unwrap();
    let payload = json!({"grant": "g-rot"});
    let ephemeral = &stores.ephemeral;
    ephemeral.put(kind, "rt-1", &payload, 2000).await.unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let rotations = (0..12).map(|n| {
        let (grants, check) = (stores.grants.clone(), accepting("g-rot", "u-rot", &ran));
        tokio::spawn(async move {
            let next = format!("rt-1-{n}");
            let done = grants.rotate(kind, "rt-1", 1500, (&next, 3000), check);
            (n, settled(done).await)
        })
    });
    let mut winners = Vec::new();
    for rotation in rotations {
        match rotation.await.unwrap() {
            (n, Rotated::Done) => winners.push(n),
            (_, Rotated::Replayed(seen)) => assert_eq!(seen, payload),
            (_, other) => panic!("a rotation of a spent record came to {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "the check ran for the winner alone"
    );
    for n in 0..12 {
        let successor = ephemeral
            .get(kind, &format!("rt-1-{n}"), 1500)
            .await
            .unwrap();
        if n == winners[0] {
            assert_eq!(successor.as_ref(), Some(&payload), "the same payload");
            assert_eq!(
                ephemeral
                    .get(kind, &format!("rt-1-{n}"), 3000)
                    .await
                    .unwrap(),
                None
            );
        } else {
            assert_eq!(successor, None, "a losing rotation stored its successor");
        }
    }

    // Live, but refused: by the check, or because the grant is not active for this user.
    ephemeral.put(kind, "rt-3", &payload, 2000).await.unwrap();
    let refused = stores
        .grants
        .rotate(kind, "rt-3", 1500, ("rt-3-a", 3000), Box::new(|_| None));
    assert_eq!(settled(refused).await, Rotated::Refused);
    let rotate = |grant_id: &str, user_id: &str, next: &'static str| {
        let check = accepting(grant_id, user_id, &ran);
        stores
            .grants
            .rotate(kind, "rt-3", 1500, (next, 3000), check)
    };
    assert_eq!(
        settled(rotate("g-rot", "u1", "rt-3-b")).await,
        Rotated::Inactive,
        "another user's grant"
    );
    assert_eq!(
        settled(rotate("g-none", "u-rot", "rt-3-c")).await,
        Rotated::Inactive
    );
    stores
        .users
        .set_disabled("u-rot", Some(1200))
        .await
        .unwrap();
    assert_eq!(
        settled(rotate("g-rot", "u-rot", "rt-3-d")).await,
        Rotated::Inactive,
        "a disabled user"
    );
    stores.users.set_disabled("u-rot", None).await.unwrap();
    stores.grants.revoke_grant("g-rot", 1400).await.unwrap();
    assert_eq!(
        settled(rotate("g-rot", "u-rot", "rt-3-e")).await,
        Rotated::Inactive,
        "a revoked grant"
    );
    for next in ["rt-3-a", "rt-3-b", "rt-3-c", "rt-3-d", "rt-3-e"] {
        assert_eq!(ephemeral.get(kind, next, 1500).await.unwrap(), None);
    }
    assert_eq!(
        ephemeral.get(kind, "rt-3", 1500).await.unwrap(),
        Some(payload.clone()),
        "still live"
    );

    // Nothing live to spend: no check, no successor.
    ephemeral.put(kind, "rt-2", &payload, 1200).await.unwrap();
    let before = ran.load(Ordering::SeqCst);
    for (id, next) in [("rt-2", "rt-2-next"), ("rt-unknown", "rt-unknown-next")] {
        let check = accepting("g-rot", "u-rot", &ran);
        let done = stores.grants.rotate(kind, id, 1500, (next, 3000), check);
        assert_eq!(
            settled(done).await,
            Rotated::Missing,
            "{id} expired or never was"
        );
        assert_eq!(ephemeral.get(kind, next, 1500).await.unwrap(), None);
    }
    assert_eq!(ran.load(Ordering::SeqCst), before);
}

/// A revocation under way in another connection (another node, the command line) holds up a
/// rotation of a token of its grant, which then finds the grant revoked: a token is never
/// rotated between a revocation and its commit. `url` names the stores' database.
pub async fn rotations_wait_for_a_revocation_under_way(stores: &Stores, url: &str) {
    use sqlx::Connection as _;
    let kind = EphemeralKind::RefreshToken;
    stores
        .users
        .create_user(&user("u-race", "racer"))
        .await
        .unwrap();
    stores
        .clients
        .create_client(&client("c-race"))
        .await
        .unwrap();
    let grant = grant("g-race", "u-race", "c-race");
    stores.grants.create_grant(&grant).await.unwrap();
    let payload = json!({"grant": "g-race"});
    stores
        .ephemeral
        .put(kind, "rt-race", &payload, 2000)
        .await
        .unwrap();

    let mut other = sqlx::AnyConnection::connect(url).await.unwrap();
    let mut revoking = other.begin().await.unwrap();
    sqlx::query("UPDATE grants SET revoked_at = 1400 WHERE id = 'g-race'")
        .execute(&mut *revoking)
        .await
        .unwrap();
    let rotating = {
        let grants = stores.grants.clone();
        tokio::spawn(async move {
            let check = Box::new(|_: &str| {
                Some(GrantOwner {
                    grant_id: "g-race".into(),
                    user_id: "u-race".into(),
                })
            });
            settled(grants.rotate(kind, "rt-race", 1500, ("rt-race-next", 3000), check)).await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !rotating.is_finished(),
        "the rotation waits for the revocation"
    );
    revoking.commit().await.unwrap();
    assert_eq!(rotating.await.unwrap(), Rotated::Inactive);
    let ephemeral = &stores.ephemeral;
    assert_eq!(
        ephemeral.get(kind, "rt-race", 1500).await.unwrap(),
        Some(payload)
    );
    assert_eq!(
        ephemeral.get(kind, "rt-race-next", 1500).await.unwrap(),
        None
    );
}

async fn leases_have_one_holder_at_a_time(stores: &Stores) {
    let leases = &stores.leases;
    assert!(
        leases
            .try_lease("chore", "node-a", 1000, 1090)
            .await
            .unwrap()
    );
    assert!(
        !leases
            .try_lease("chore", "node-b", 1050, 1140)
            .await
            .unwrap(),
        "held by another node"
    );
    assert!(
        leases
            .try_lease("chore", "node-a", 1060, 1150)
            .await
            .unwrap(),
        "renewed by its holder"
    );
    assert!(
        !leases
            .try_lease("chore", "node-b", 1149, 1240)
            .await
            .unwrap()
    );
    assert!(
        leases
            .try_lease("chore", "node-b", 1150, 1240)
            .await
            .unwrap(),
        "taken over once expired"
    );
    assert!(
        leases
            .try_lease("other", "node-a", 1150, 1240)
            .await
            .unwrap()
    );
    // Many nodes at once: exactly one wins.
    let racers = (0..16).map(|i| {
        let leases = leases.clone();
        tokio::spawn(async move {
            leases
                .try_lease("race", &format!("node-{i}"), 2000, 2090)
                .await
                .unwrap()
        })
    });
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap());
    }
    assert_eq!(winners, 1);
}

/// The rules of what a shared cache may hold (sessions, single-use records, throttling),
/// which expires records by itself rather than by purging.
pub async fn run_cache_rules(stores: &Stores) {
    single_use_records_are_consumed_once(stores).await;
    records_expire(stores).await;
    sessions_expire_and_end(stores).await;
    sessions_are_listed_and_ended_by_sid(stores).await;
    throttle_counts_failures_in_a_window(stores).await;
    throttle_backlogs_drain_in_real_time(stores).await;
}

async fn devices_are_trusted_per_user(stores: &Stores) {
    use idp_core::model::Device;
    let devices = &stores.devices;
    let device = |id: &str, user: &str, at| Device {
        id: id.into(),
        id_hash: "browser-1".into(),
        user_id: user.into(),
        created_at: at,
        last_seen_at: at,
        ip: None,
        user_agent: Some("ua".into()),
    };
    assert!(
        !devices
            .device_is_trusted("browser-1", "u1", 10)
            .await
            .unwrap()
    );
    devices.trust_device(&device("d1", "u1", 10)).await.unwrap();
    devices
        .trust_device(&device("d2", "u-change", 20))
        .await
        .unwrap();
    assert!(
        devices
            .device_is_trusted("browser-1", "u1", 30)
            .await
            .unwrap()
    );
    assert!(
        !devices
            .device_is_trusted("browser-2", "u1", 30)
            .await
            .unwrap()
    );
    let listed = devices.list_devices("u1").await.unwrap();
    assert_eq!((listed.len(), listed[0].last_seen_at), (1, 30));
    assert!(
        !devices.forget_device("u1", "d2").await.unwrap(),
        "only the owner's"
    );
    assert!(devices.forget_device("u1", "d1").await.unwrap());
    assert!(
        !devices
            .device_is_trusted("browser-1", "u1", 40)
            .await
            .unwrap()
    );
    assert!(
        devices
            .device_is_trusted("browser-1", "u-change", 40)
            .await
            .unwrap()
    );
    // Trust lapses when the browser was not seen for the trust lifetime.
    let lapsed = 40 + idp_core::model::DEVICE_TRUST_SECS + 1;
    assert!(
        !devices
            .device_is_trusted("browser-1", "u-change", lapsed)
            .await
            .unwrap()
    );
    // A credential change forgets every device of the person but the one kept.
    let other = |id: &str, hash: &str| Device {
        id_hash: hash.into(),
        ..device(id, "u-change", 50)
    };
    devices
        .trust_device(&other("d3", "browser-3"))
        .await
        .unwrap();
    devices
        .trust_device(&other("d4", "browser-4"))
        .await
        .unwrap();
    let forgotten = devices
        .forget_devices_of_user("u-change", Some("browser-4"))
        .await
        .unwrap();
    assert_eq!(forgotten, 2, "browser-1 and browser-3");
    let kept: Vec<_> = devices
        .list_devices("u-change")
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(kept, ["d4"]);
    assert_eq!(
        devices
            .forget_devices_of_user("u-change", None)
            .await
            .unwrap(),
        1
    );
}

/// A rehashed secret replaces the hash it was verified against, never a newer one, and
/// leaves the PIN tries alone.
async fn hashes_are_upgraded_only_while_unchanged(stores: &Stores) {
    let users = &stores.users;
    users
        .create_user(&user("u-upgrade", "upgrader"))
        .await
        .unwrap();
    let tries = &stores.pin_attempts;
    tries.take_pin_attempt("u-upgrade", 5).await.unwrap();
    let (password, pin) = ("$argon2id$password", "$argon2id$pin");
    assert!(
        users
            .upgrade_password_hash("u-upgrade", password, "$pw-2")
            .await
            .unwrap()
    );
    assert!(
        users
            .upgrade_pin_hash("u-upgrade", pin, "$pin-2")
            .await
            .unwrap()
    );
    let upgraded = users.find_user("u-upgrade").await.unwrap().unwrap();
    assert_eq!(
        (
            upgraded.password_hash.as_str(),
            upgraded.pin_hash.as_deref(),
            upgraded.pin_failures
        ),
        ("$pw-2", Some("$pin-2"), 1)
    );
    // Changed meanwhile: the upgrade of the old one changes nothing.
    users.set_password("u-upgrade", "$pw-new").await.unwrap();
    users.set_pin("u-upgrade", Some("$pin-new")).await.unwrap();
    assert!(
        !users
            .upgrade_password_hash("u-upgrade", "$pw-2", "$pw-3")
            .await
            .unwrap()
    );
    assert!(
        !users
            .upgrade_pin_hash("u-upgrade", "$pin-2", "$pin-3")
            .await
            .unwrap()
    );
    let kept = users.find_user("u-upgrade").await.unwrap().unwrap();
    assert_eq!(
        (kept.password_hash.as_str(), kept.pin_hash.as_deref()),
        ("$pw-new", Some("$pin-new"))
    );
}

async fn users_change_their_secrets_and_contacts(stores: &Stores) {
    let users = &stores.users;
    users
        .create_user(&user("u-change", "changer"))
        .await
        .unwrap();
    stores
        .pin_attempts
        .take_pin_attempt("u-change", 5)
        .await
        .unwrap();
    let epoch = |u: &User| u.credential_epoch;
    let before = epoch(&users.find_user("u-change").await.unwrap().unwrap());
    users.set_pin("u-change", None).await.unwrap();
    let changed = users.find_user("u-change").await.unwrap().unwrap();
    assert_eq!(epoch(&changed), before + 1, "an unlock moves the epoch on");
    assert_eq!((changed.pin_hash, changed.pin_failures), (None, 0));
    users.set_pin("u-change", Some("$new")).await.unwrap();
    users.set_password("u-change", "$pw").await.unwrap();
    users.set_disabled("u-change", Some(60)).await.unwrap();
    users.set_disabled("u-change", None).await.unwrap();
    let changed = users.find_user("u-change").await.unwrap().unwrap();
    assert_eq!(
        epoch(&changed),
        before + 5,
        "every credential change moves it on"
    );
    users
        .set_email("u-change", "new@example.com", true)
        .await
        .unwrap();
    users
        .set_phone("u-change", Some("+15550100"), true)
        .await
        .unwrap();
    let changed = users.find_user("u-change").await.unwrap().unwrap();
    assert_eq!(changed.pin_hash.as_deref(), Some("$new"));
    assert_eq!(changed.password_hash, "$pw");
    assert_eq!(
        (changed.email.as_str(), changed.email_verified),
        ("new@example.com", true)
    );
    assert_eq!(
        (changed.phone.as_deref(), changed.phone_verified),
        (Some("+15550100"), true)
    );
    users.set_phone("u-change", None, true).await.unwrap();
    let changed = users.find_user("u-change").await.unwrap().unwrap();
    assert_eq!(
        (changed.phone, changed.phone_verified),
        (None, false),
        "no number, nothing confirmed"
    );
    assert!(
        users.set_password("nobody", "$pw").await.is_err(),
        "an unknown user is an error"
    );
}

async fn sessions_are_listed_and_ended_by_sid(stores: &Stores) {
    let sessions = &stores.sessions;
    for (hash, sid, created) in [("l1", "sid-l1", 1000), ("l2", "sid-l2", 1100)] {
        let session = Session {
            id_hash: hash.into(),
            sid: sid.into(),
            user_id: "u-change".into(),
            auth_time: created,
            acr: "acr".into(),
            amr: vec![],
            created_at: created,
            expires_at: 5000,
            ip: None,
            user_agent: None,
            credential_epoch: 3,
        };
        sessions.create_session(&session).await.unwrap();
    }
    let listed: Vec<String> = sessions
        .list_sessions("u-change", 1500)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.sid)
        .collect();
    assert_eq!(listed, ["sid-l2", "sid-l1"], "newest first");
    sessions.delete_session("l1").await.unwrap();
    assert_eq!(
        sessions
            .list_sessions("u-change", 1500)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        sessions
            .list_sessions("u-change", 5000)
            .await
            .unwrap()
            .is_empty(),
        "expired ones are not listed"
    );
}

async fn audit_events_are_kept_newest_first(stores: &Stores) {
    use idp_core::model::{AuditEvent, AuditKind};
    let audit = &stores.audit;
    for (at, kind) in [
        (1, AuditKind::PasswordWrong),
        (2, AuditKind::SignInSucceeded),
        (3, AuditKind::PinWrong),
    ] {
        audit
            .record(
                &AuditEvent::new(kind, at)
                    .user("u-audit")
                    .client("c1")
                    .origin(Some("10.0.0.1"), Some("ua")),
                Arc::new(move |previous: &str| format!("{previous}+{at}")),
            )
            .await
            .unwrap();
    }
    audit
        .record(
            &AuditEvent::new(AuditKind::SignUp, 4).user("someone-else"),
            Arc::new(|previous: &str| format!("{previous}+4")),
        )
        .await
        .unwrap();
    // Each row's link was made from the one before it; the first from where the chain starts.
    let chained = audit.chain_after(i64::MIN, 10).await.unwrap();
    let links: Vec<_> = chained.iter().map(|(_, _, c)| c.clone().unwrap()).collect();
    assert_eq!(
        links,
        ["start+1", "start+1+2", "start+1+2+3", "start+1+2+3+4"]
    );
    assert_eq!(chained[3].1.kind, AuditKind::SignUp);
    let rest = audit.chain_after(chained[1].0, 10).await.unwrap();
    assert_eq!(rest.len(), 2);
    let all = audit.recent_for_user("u-audit", &[], 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [
            AuditKind::PinWrong,
            AuditKind::SignInSucceeded,
            AuditKind::PasswordWrong
        ]
    );
    assert_eq!(all[0].ip.as_deref(), Some("10.0.0.1"));
    let some = audit
        .recent_for_user(
            "u-audit",
            &[AuditKind::PasswordWrong, AuditKind::SignInSucceeded],
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        some.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [AuditKind::SignInSucceeded]
    );
}

async fn the_outbox_keeps_messages_in_order(stores: &Stores) {
    use idp_core::model::{Channel, Message};
    for (channel, to) in [
        (Channel::Email, "a@example.com"),
        (Channel::Sms, "+15550100"),
    ] {
        let message = Message {
            channel,
            recipient: to.into(),
            subject: "s".into(),
            body: "b".into(),
        };
        stores.outbox.push(&message, 7).await.unwrap();
    }
    let kept = stores.outbox.list().await.unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!((kept[0].0, kept[0].1.channel), (7, Channel::Email));
    assert_eq!(kept[1].1.recipient, "+15550100");
}

async fn throttle_counts_failures_in_a_window(stores: &Stores) {
    let throttle = &stores.throttle;
    assert_eq!(
        throttle.record_attempt("k", 100, 60).await.unwrap(),
        (0, None)
    );
    assert_eq!(
        throttle.record_attempt("k", 130, 60).await.unwrap(),
        (1, Some(100))
    );
    assert_eq!(
        throttle.record_attempt("k", 170, 60).await.unwrap(),
        (1, Some(130)),
        "the first fell out of the window"
    );
    throttle.forget_latest("k").await.unwrap();
    assert_eq!(
        throttle.record_attempt("k", 171, 60).await.unwrap(),
        (1, Some(130)),
        "the latest was taken back"
    );
    assert_eq!(
        throttle.record_attempt("other", 170, 60).await.unwrap(),
        (0, None)
    );
    throttle.clear("k").await.unwrap();
    assert_eq!(
        throttle.record_attempt("k", 172, 60).await.unwrap(),
        (0, None)
    );
}

async fn throttle_backlogs_drain_in_real_time(stores: &Stores) {
    let throttle = &stores.throttle;
    // Milliseconds; long enough that Redis keeps the keys while the test runs.
    let now = 1_000_000_000;
    assert_eq!(throttle.backlog_until("b", now).await.unwrap(), now);
    assert_eq!(
        throttle
            .add_to_backlog("b", now, 500_000, None)
            .await
            .unwrap(),
        (true, now + 500_000)
    );
    assert_eq!(
        throttle
            .add_to_backlog("b", now + 100_000, 500_000, Some(now + 1_000_000))
            .await
            .unwrap(),
        (true, now + 1_000_000),
        "it adds to what has not drained yet"
    );
    assert_eq!(
        throttle
            .add_to_backlog("b", now + 200_000, 500_000, Some(now + 1_200_000))
            .await
            .unwrap(),
        (false, now + 1_000_000),
        "past the most, nothing is added"
    );
    assert_eq!(
        throttle.backlog_until("b", now).await.unwrap(),
        now + 1_000_000
    );
    // What was reserved and did not count is given back, never below now.
    throttle
        .give_back_to_backlog("b", now + 200_000, 500_000)
        .await
        .unwrap();
    assert_eq!(
        throttle.backlog_until("b", now).await.unwrap(),
        now + 500_000
    );
    throttle
        .give_back_to_backlog("b", now + 200_000, 900_000)
        .await
        .unwrap();
    assert!(throttle.backlog_until("b", now + 200_000).await.unwrap() <= now + 200_000);
    throttle
        .add_to_backlog("b", now + 200_000, 1_000_000, None)
        .await
        .unwrap();
    assert_eq!(
        throttle.backlog_until("b", now + 200_000).await.unwrap(),
        now + 1_200_000,
        "no credit was left behind"
    );
    // Far more than the 64 attempts the window counts remember: one number holds them all.
    for _ in 0..100 {
        throttle
            .add_to_backlog("many", now, 10_000, None)
            .await
            .unwrap();
    }
    assert_eq!(
        throttle.backlog_until("many", now).await.unwrap(),
        now + 1_000_000
    );
    assert_eq!(
        throttle
            .add_to_backlog("b", now + 5_000_000, 500_000, None)
            .await
            .unwrap(),
        (true, now + 5_500_000),
        "a drained backlog starts again from now"
    );
    assert_eq!(throttle.backlog_until("other", 7).await.unwrap(), 7);
}

async fn key_fingerprints_are_recorded_once_and_moved_by_a_rewrap(stores: &Stores) {
    let keys = &stores.keys;
    assert_eq!(keys.recorded_fingerprint("pin_key").await.unwrap(), None);
    assert_eq!(keys.record_fingerprint("pin_key", "a").await.unwrap(), "a");
    assert_eq!(
        keys.record_fingerprint("pin_key", "b").await.unwrap(),
        "a",
        "the first recorded stays"
    );
    keys.record_fingerprint("master_key", "m1").await.unwrap();
    let sealed: Vec<(String, Vec<u8>)> = keys
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|record| (record.kid, record.sealed_private_key))
        .collect();
    keys.replace_sealed_keys(&sealed, "m2").await.unwrap();
    assert_eq!(
        keys.recorded_fingerprint("master_key").await.unwrap(),
        Some("m2".to_owned())
    );
    assert_eq!(
        keys.recorded_fingerprint("pin_key").await.unwrap(),
        Some("a".to_owned())
    );
}

async fn code_failures_are_counted_atomically_per_user(stores: &Stores) {
    stores
        .users
        .create_user(&user("u-codes", "codes"))
        .await
        .unwrap();
    let racers: Vec<_> = (0..12)
        .map(|_| {
            let codes = stores.codes.clone();
            tokio::spawn(async move { codes.take_code_failure("u-codes", 5).await.unwrap() })
        })
        .collect();
    let mut taken = Vec::new();
    for racer in racers {
        taken.extend(racer.await.unwrap());
    }
    taken.sort_unstable();
    assert_eq!(
        taken,
        vec![1, 2, 3, 4, 5],
        "each count is taken once, up to the cap"
    );
    let codes = &stores.codes;
    assert_eq!(codes.take_code_failure("u-codes", 5).await.unwrap(), None);
    assert_eq!(
        codes.take_code_failure("u-codes", 6).await.unwrap(),
        Some(6),
        "kept with the user, whatever code comes next"
    );
    codes.reset_code_failures("u-codes").await.unwrap();
    assert_eq!(
        codes.take_code_failure("u-codes", 5).await.unwrap(),
        Some(1)
    );
}

async fn codes_take_tries_atomically_and_are_consumed_once(stores: &Stores) {
    use idp_core::model::{CodePurpose, OneTimeCode};
    let codes = &stores.codes;
    let code = OneTimeCode {
        hash: "h1".into(),
        expires_at: 2000,
        tries_left: 5,
        data: serde_json::json!({"to": "x"}),
    };
    codes
        .put_code(CodePurpose::Recovery, "u1", &code)
        .await
        .unwrap();
    assert_eq!(
        codes
            .peek_code(CodePurpose::Recovery, "u1", 1000)
            .await
            .unwrap()
            .unwrap()
            .data["to"],
        "x"
    );
    assert!(
        codes
            .peek_code(CodePurpose::Contact, "u1", 1000)
            .await
            .unwrap()
            .is_none()
    );
    let tries = (0..30).map(|_| {
        let codes = codes.clone();
        tokio::spawn(async move {
            codes
                .take_code_try(CodePurpose::Recovery, "u1", 1000)
                .await
                .unwrap()
        })
    });
    let mut left = Vec::new();
    for attempt in tries {
        if let Some(code) = attempt.await.unwrap() {
            left.push(code.tries_left);
        }
    }
    left.sort_unstable();
    assert_eq!(left, [0, 1, 2, 3, 4], "exactly five tries, each once");
    codes
        .put_code(CodePurpose::Recovery, "u1", &code)
        .await
        .unwrap();
    assert!(
        codes
            .take_code_try(CodePurpose::Recovery, "u1", 2000)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        !codes
            .consume_code(CodePurpose::Recovery, "u1", "other hash")
            .await
            .unwrap()
    );
    assert!(
        codes
            .consume_code(CodePurpose::Recovery, "u1", "h1")
            .await
            .unwrap()
    );
    assert!(
        !codes
            .consume_code(CodePurpose::Recovery, "u1", "h1")
            .await
            .unwrap(),
        "once"
    );
}

async fn users_are_unique_by_username(stores: &Stores) {
    stores
        .users
        .create_user(&user("u1", "alice"))
        .await
        .unwrap();
    let again = stores.users.create_user(&user("u2", "alice")).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let found = stores
        .users
        .find_user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "u1");
    assert_eq!(found.pin_hash.as_deref(), Some("$argon2id$pin"));
    assert_eq!(found.pin_failures, 0);
    assert!(stores.users.find_user("u2").await.unwrap().is_none());
    assert!(
        stores
            .users
            .find_user_by_username("bob")
            .await
            .unwrap()
            .is_none()
    );
}

async fn pin_tries_are_taken_atomically(stores: &Stores) {
    stores
        .users
        .create_user(&user("u-pin", "pinny"))
        .await
        .unwrap();
    let attempts = (0..50).map(|_| {
        let store = stores.pin_attempts.clone();
        tokio::spawn(async move { store.take_pin_attempt("u-pin", 5).await.unwrap() })
    });
    let mut taken = Vec::new();
    for attempt in attempts {
        if let Some(n) = attempt.await.unwrap() {
            taken.push(n);
        }
    }
    taken.sort_unstable();
    assert_eq!(
        taken,
        [1, 2, 3, 4, 5],
        "exactly the allowance, each try once"
    );
    assert_eq!(
        stores
            .pin_attempts
            .take_pin_attempt("u-pin", 5)
            .await
            .unwrap(),
        None
    );
    let user = stores.users.find_user("u-pin").await.unwrap().unwrap();
    assert_eq!(user.pin_failures, 5);
    let attempts = &stores.pin_attempts;
    attempts.give_back_pin_attempt("u-pin").await.unwrap();
    assert_eq!(
        attempts.take_pin_attempt("u-pin", 5).await.unwrap(),
        Some(5)
    );
    attempts.reset_pin_attempts("u-pin").await.unwrap();
    attempts.give_back_pin_attempt("u-pin").await.unwrap();
    assert_eq!(
        attempts.take_pin_attempt("u-pin", 5).await.unwrap(),
        Some(1),
        "never below zero"
    );
}

async fn single_use_records_are_consumed_once(stores: &Stores) {
    let kind = EphemeralKind::AuthorizationCode;
    stores
        .ephemeral
        .put(kind, "code-1", &json!({"grant": "g1"}), 2000)
        .await
        .unwrap();
    let consumers = (0..20).map(|_| {
        let store = stores.ephemeral.clone();
        tokio::spawn(async move { store.consume(kind, "code-1", 1500).await.unwrap() })
    });
    let mut fresh = 0;
    for consumer in consumers {
        match consumer.await.unwrap() {
            Consumed::Fresh(payload) => {
                assert_eq!(payload["grant"], "g1");
                fresh += 1;
            }
            Consumed::Replayed(payload) => assert_eq!(payload["grant"], "g1"),
            Consumed::Missing => panic!("a consumed record is reported as replayed, not missing"),
        }
    }
    assert_eq!(fresh, 1);
    // Putting it again does not make it fresh: a replayed `jti` is put before it is consumed.
    stores
        .ephemeral
        .put(kind, "code-1", &json!({"grant": "g1"}), 2000)
        .await
        .unwrap();
    assert!(matches!(
        stores
            .ephemeral
            .consume(kind, "code-1", 1500)
            .await
            .unwrap(),
        Consumed::Replayed(_)
    ));
    assert!(
        stores
            .ephemeral
            .get(kind, "code-1", 1500)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        stores.ephemeral.consume(kind, "nope", 1500).await.unwrap(),
        Consumed::Missing
    );
}

async fn records_expire(stores: &Stores) {
    let kind = EphemeralKind::Interaction;
    stores
        .ephemeral
        .put(kind, "i-1", &json!({"v": 1}), 2000)
        .await
        .unwrap();
    assert_eq!(
        stores.ephemeral.get(kind, "i-1", 1999).await.unwrap(),
        Some(json!({"v": 1}))
    );
    stores
        .ephemeral
        .put(kind, "i-1", &json!({"v": 2}), 3000)
        .await
        .unwrap();
    assert_eq!(
        stores.ephemeral.get(kind, "i-1", 2500).await.unwrap(),
        Some(json!({"v": 2}))
    );
    assert!(
        stores
            .ephemeral
            .get(kind, "i-1", 3000)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        stores.ephemeral.consume(kind, "i-1", 3000).await.unwrap(),
        Consumed::Missing
    );
    // Kinds are separate namespaces.
    assert!(
        stores
            .ephemeral
            .get(EphemeralKind::Signup, "i-1", 2500)
            .await
            .unwrap()
            .is_none()
    );
    stores.ephemeral.delete(kind, "i-1").await.unwrap();
    assert!(
        stores
            .ephemeral
            .get(kind, "i-1", 2500)
            .await
            .unwrap()
            .is_none()
    );
}

async fn expired_records_are_purged(stores: &Stores) {
    let kind = EphemeralKind::Interaction;
    let ephemeral = &stores.ephemeral;
    ephemeral.put(kind, "old", &json!({}), 2000).await.unwrap();
    ephemeral.put(kind, "new", &json!({}), 4000).await.unwrap();
    assert!(ephemeral.purge_expired(3000).await.unwrap() >= 1);
    assert!(ephemeral.get(kind, "new", 2500).await.unwrap().is_some());
    assert_eq!(
        ephemeral.consume(kind, "old", 1000).await.unwrap(),
        Consumed::Missing
    );
}

async fn sessions_expire_and_end(stores: &Stores) {
    let session = Session {
        id_hash: "h1".into(),
        sid: "sid-1".into(),
        user_id: "u1".into(),
        auth_time: 1000,
        acr: "acr".into(),
        amr: vec!["pwd".into(), "pin".into()],
        created_at: 1000,
        expires_at: 2000,
        ip: Some("127.0.0.1".into()),
        user_agent: Some("test".into()),
        credential_epoch: 3,
    };
    let sessions = &stores.sessions;
    sessions.create_session(&session).await.unwrap();
    assert_eq!(
        sessions.find_session("h1", 1999).await.unwrap(),
        Some(session.clone())
    );
    assert!(sessions.find_session("h1", 2000).await.unwrap().is_none());
    // A change made in the session moves its credential epoch on; it lives as long as before.
    sessions.restamp_session("h1", 4).await.unwrap();
    let restamped = sessions.find_session("h1", 1999).await.unwrap().unwrap();
    assert_eq!(
        restamped,
        Session {
            credential_epoch: 4,
            ..session.clone()
        }
    );
    sessions.restamp_session("gone", 4).await.unwrap();
    assert!(sessions.find_session("gone", 1500).await.unwrap().is_none());
    sessions.delete_session("h1").await.unwrap();
    assert!(sessions.find_session("h1", 1500).await.unwrap().is_none());
}

async fn expired_sessions_are_purged(stores: &Stores) {
    let sessions = &stores.sessions;
    let stale = Session {
        id_hash: "h2".into(),
        sid: "sid-2".into(),
        user_id: "u1".into(),
        auth_time: 1000,
        acr: "acr".into(),
        amr: vec!["pwd".into(), "pin".into()],
        created_at: 1000,
        expires_at: 2000,
        ip: None,
        user_agent: None,
        credential_epoch: 3,
    };
    sessions.create_session(&stale).await.unwrap();
    assert_eq!(sessions.purge_expired_sessions(2001).await.unwrap(), 1);
    assert!(sessions.find_session("h2", 1500).await.unwrap().is_none());
}

async fn grants_revoke(stores: &Stores) {
    stores
        .clients
        .create_client(&client("c-grant"))
        .await
        .unwrap();
    let grant = Grant {
        sid: Some("sid-g".into()),
        ..grant("g1", "u1", "c-grant")
    };
    stores.grants.create_grant(&grant).await.unwrap();
    assert!(stores.grants.grant_is_active("g1").await.unwrap());
    stores.users.set_disabled("u1", Some(1200)).await.unwrap();
    assert!(
        stores.grants.grant_is_active("g1").await.unwrap(),
        "a disabled user's grant stays, for when they are enabled again"
    );
    stores.users.set_disabled("u1", None).await.unwrap();
    assert_eq!(
        stores.grants.clients_of_session("sid-g").await.unwrap(),
        ["c-grant"]
    );
    assert!(
        stores
            .grants
            .clients_of_session("other")
            .await
            .unwrap()
            .is_empty()
    );
    stores.grants.revoke_grant("g1", 1500).await.unwrap();
    assert!(!stores.grants.grant_is_active("g1").await.unwrap());
    assert!(!stores.grants.grant_is_active("unknown").await.unwrap());
}

pub(super) fn client(id: &str) -> Client {
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

async fn clients_and_keys_round_trip(stores: &Stores) {
    stores.clients.create_client(&client("c1")).await.unwrap();
    assert_eq!(
        stores.clients.find_client("c1").await.unwrap(),
        Some(client("c1"))
    );
    assert!(matches!(
        stores.clients.create_client(&client("c1")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(stores.clients.find_client("c2").await.unwrap().is_none());
    let mut renamed = client("c1");
    renamed.name = "Renamed".into();
    renamed.metadata.first_party = true;
    stores.clients.update_client(&renamed).await.unwrap();
    assert_eq!(
        stores.clients.find_client("c1").await.unwrap(),
        Some(renamed)
    );
    stores
        .clients
        .create_client(&client("c-gone"))
        .await
        .unwrap();
    assert!(stores.clients.delete_client("c-gone").await.unwrap());
    assert!(!stores.clients.delete_client("c-gone").await.unwrap());

    let key = SigningKeyRecord {
        kid: "k1".into(),
        alg: SigningAlg::ES256,
        sealed_private_key: vec![1, 2, 3],
        state: KeyState::Active,
        created_at: 1000,
        activate_at: None,
        remove_after: None,
    };
    stores.keys.insert_signing_key(&key).await.unwrap();
    stores
        .keys
        .update_signing_key("k1", KeyState::Retired, None, Some(5000))
        .await
        .unwrap();
    let stored = stores
        .keys
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kid == "k1")
        .unwrap();
    assert_eq!(
        (stored.state, stored.remove_after),
        (KeyState::Retired, Some(5000))
    );
    assert!(
        stores
            .keys
            .update_signing_key("nope", KeyState::Active, None, None)
            .await
            .is_err()
    );
    let kids: HashSet<String> = stores
        .keys
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert!(kids.contains("k1"));
    assert!(stores.keys.delete_signing_key("k1").await.unwrap());
    assert!(!stores.keys.delete_signing_key("k1").await.unwrap());
}
