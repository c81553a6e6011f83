use idp_core::store::Stores;

use idp_core::StoreError;
use idp_core::model::User;

use crate::{given_users, user};

pub async fn users_are_unique_by_username(stores: &Stores) {
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

pub async fn pin_tries_are_taken_atomically(stores: &Stores) {
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

pub async fn users_change_their_secrets_and_contacts(stores: &Stores) {
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
    assert_eq!(changed.profile, idp_core::model::Profile::default());
    let profile = idp_core::model::Profile {
        name: Some("Ann Example".into()),
        given_name: Some("Ann".into()),
        family_name: Some("Example".into()),
        address: idp_core::model::Address {
            street_address: Some("1 Main St\nApt 2".into()),
            locality: Some("Springfield".into()),
            region: None,
            postal_code: Some("62701".into()),
            country: Some("US".into()),
        },
        updated_at: Some(1_234),
    };
    users.set_profile("u-change", &profile).await.unwrap();
    let changed = users.find_user("u-change").await.unwrap().unwrap();
    assert_eq!(changed.profile, profile, "names and address read back");
    assert_eq!(
        users
            .find_user_by_username(&changed.username)
            .await
            .unwrap()
            .unwrap()
            .profile,
        profile
    );
    let cleared = idp_core::model::Profile {
        updated_at: Some(1_235),
        ..Default::default()
    };
    users.set_profile("u-change", &cleared).await.unwrap();
    let changed = users.find_user("u-change").await.unwrap().unwrap();
    assert_eq!(changed.profile, cleared, "fields removed");
    assert!(
        users.set_profile("nobody", &profile).await.is_err(),
        "an unknown user is an error"
    );
    assert!(
        users.set_password("nobody", "$pw").await.is_err(),
        "an unknown user is an error"
    );
}

/// A rehashed secret replaces the hash it was verified against, never a newer one, and
/// leaves the PIN tries alone.
pub async fn hashes_are_upgraded_only_while_unchanged(stores: &Stores) {
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

pub async fn devices_are_trusted_per_user(stores: &Stores) {
    given_users(stores, &[("u1", "alice"), ("u-change", "changer")]).await;
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

/// Roles are kept with the person; a search finds people by part of their username (`%` and
/// `_` taken literally) or by their whole e-mail address (any case) or phone number (however
/// written), in username order, a page at a time.
pub async fn people_have_roles_and_are_found_by_part_of_a_contact(stores: &Stores) {
    use idp_core::model::{Role, Roles};
    let users = &stores.users;
    given_users(stores, &[("u-b", "bea"), ("u-a", "abe"), ("u-c", "cal_1")]).await;
    users
        .set_email("u-b", "Bea.Smith@Example.org", true)
        .await
        .unwrap();
    users
        .set_phone("u-c", Some("+15550100"), false)
        .await
        .unwrap();
    let support: Roles = [Role::Support, Role::Admin].into_iter().collect();
    users.set_roles("u-a", support).await.unwrap();
    assert!(users.set_roles("nobody", support).await.is_err());
    let abe = users.find_user("u-a").await.unwrap().unwrap();
    assert_eq!(abe.roles, support);
    let bea = users.find_user("u-b").await.unwrap().unwrap();
    assert!(bea.roles.is_empty());
    users.set_roles("u-a", Roles::default()).await.unwrap();
    assert!(
        users
            .find_user("u-a")
            .await
            .unwrap()
            .unwrap()
            .roles
            .is_empty()
    );

    let names = |found: Vec<User>| found.into_iter().map(|u| u.username).collect::<Vec<_>>();
    let search = |text: &'static str, after: Option<&'static str>, limit| async move {
        names(users.search_users(text, after, limit).await.unwrap())
    };
    assert_eq!(search("BEA.SMITH@example.ORG", None, 10).await, ["bea"]);
    assert!(
        search("smith@example", None, 10).await.is_empty(),
        "an address whole"
    );
    assert_eq!(search("a", None, 10).await, ["abe", "bea", "cal_1"]);
    assert_eq!(search("a", None, 2).await, ["abe", "bea"]);
    assert_eq!(search("a", Some("bea"), 2).await, ["cal_1"]);
    assert_eq!(search("+1 555-0100", None, 10).await, ["cal_1"]);
    assert!(
        search("555-0100", None, 10).await.is_empty(),
        "a number whole"
    );
    assert_eq!(search("L_1", None, 10).await, ["cal_1"]);
    assert!(search("a%e", None, 10).await.is_empty(), "% is no wildcard");
    assert!(search("b_a", None, 10).await.is_empty(), "_ is no wildcard");
    assert!(search("nobody", None, 10).await.is_empty());
}
