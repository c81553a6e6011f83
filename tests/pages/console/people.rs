//! Support: find a locked person, unlock their PIN with a reason, and the person sets a new
//! PIN; who may act on whom; the guard's refusals.

use axum::http::StatusCode;
use idp_core::model::AuditKind;

use super::{ALICE, SAM, role, setup, staff_at_aal2, step_up};
use crate::support::{Browser, Idp, PASSWORD, PIN, authorize};

/// Locks alice's PIN with wrong tries from a browser of her own.
async fn lock_alice(idp: &Idp) {
    let mut browser = Browser::new(idp);
    let (login, _) = browser.open(&authorize("rp", &[])).await;
    let pin = browser
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    for _ in 0..5 {
        browser.post(pin.to(), &[("pin", "909192")]).await;
    }
    let user = stored_alice(idp).await;
    assert_eq!(user.pin_failures, 5, "locked");
}

/// Alice as stored now.
async fn stored_alice(idp: &Idp) -> idp_core::model::User {
    let users = &idp.state.stores.users;
    users.find_user(ALICE).await.unwrap().unwrap()
}

async fn events(idp: &Idp, kind: AuditKind) -> Vec<idp_core::model::AuditEvent> {
    idp.state
        .stores
        .audit
        .recent_for_user(ALICE, &[kind], 10)
        .await
        .unwrap()
}

#[tokio::test]
async fn support_finds_a_locked_person_and_unlocks_their_pin_with_a_reason() {
    let idp = setup().await;
    let granted = role(&idp, "sam", "support", true).await;
    assert_eq!(granted["roles"], serde_json::json!(["support"]));
    assert_eq!(granted["changed"], true);
    lock_alice(&idp).await;
    let mut browser = Browser::new(&idp);
    let (admin, _) = staff_at_aal2(&idp, &mut browser).await;
    assert!(admin.contains("Find a person"), "{}", admin.body);

    // By the whole e-mail address, in any case: the person, masked, with the PIN's state.
    let found = browser.get("/admin?q=ALICE%40example.COM").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(found.contains("id=\"person-alice\""), "{}", found.body);
    assert!(!found.contains("alice@example.com"), "masked");
    assert!(found.contains("Locked"), "{}", found.body);
    let nobody = browser.get("/admin?q=zzz").await;
    assert!(nobody.contains("id=\"people-none\""), "{}", nobody.body);
    let part = browser.get("/admin?q=alice%40example").await;
    assert!(
        part.contains("id=\"people-none\""),
        "part of an address finds no one"
    );
    let short = browser.get("/admin?q=al").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    let by_name = browser.get("/admin?q=lic").await;
    assert!(by_name.contains("id=\"person-alice\""), "{}", by_name.body);

    // Support acts neither on their own account nor on another person with a role.
    let own = browser.get(&format!("/admin/people/{SAM}")).await;
    let refused = browser
        .submit_to(
            &own,
            &format!("/admin/people/{SAM}/unlock"),
            &[("reason", "me")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    role(&idp, "alice", "developer", true).await;
    let hers = browser.get(&format!("/admin/people/{ALICE}")).await;
    let refused = browser
        .submit_to(
            &hers,
            &format!("/admin/people/{ALICE}/unlock"),
            &[("reason", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.contains("Only an administrator"),
        "{}",
        refused.body
    );
    role(&idp, "alice", "developer", false).await;
    assert!(idp.pin_hash_of(SAM).await.is_some());

    let person = browser.get(&found.link("/admin/people/")).await;
    assert!(person.is("admin-person"), "{person:?}");
    assert!(
        person.contains("pin_wrong"),
        "recent events: {}",
        person.body
    );

    // No reason: refused, and nothing changes.
    let refused = browser
        .submit_to(
            &person,
            &format!("/admin/people/{ALICE}/unlock"),
            &[("reason", " ")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("Give a reason"), "{}", refused.body);
    let forged_line = "ok\nINFO a line of our own";
    let refused = browser
        .submit_to(
            &person,
            &format!("/admin/people/{ALICE}/unlock"),
            &[("reason", forged_line)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(idp.pin_hash_of(ALICE).await.is_some());

    let reason = "called from a new phone; identity checked by the usual questions";
    let done = browser
        .submit_to(
            &person,
            &format!("/admin/people/{ALICE}/unlock"),
            &[("reason", reason)],
        )
        .await;
    assert_eq!(done.to(), format!("/admin/people/{ALICE}?done=unlocked"));
    let after = browser.follow(done).await;
    assert!(after.contains("id=\"console-notice\""), "{}", after.body);
    assert!(after.contains("Not set"), "{}", after.body);
    assert!(idp.pin_hash_of(ALICE).await.is_none());
    let unlocked = events(&idp, AuditKind::PinUnlocked).await;
    assert_eq!(unlocked.len(), 1);
    assert_eq!(unlocked[0].actor.as_deref(), Some("user:id-sam"));
    assert!(unlocked[0].detail.contains(reason), "{:?}", unlocked[0]);
    assert_eq!(
        idp.notice("alice@example.com", "Support unlocked the PIN")
            .await,
        1
    );

    // Alice signs in with her password, proves it is her with a code sent to her confirmed
    // address, and chooses a new PIN.
    let mut hers = Browser::new(&idp);
    let (login, _) = hers.open(&authorize("rp", &[])).await;
    let next = hers
        .post(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let choose = hers.follow(next).await;
    assert!(choose.is("recover-choose"), "{choose:?}");
    let sent = hers.submit(&choose, &[("channel", "email")]).await;
    let code_page = hers.follow(sent).await;
    let code = idp.code_sent_to("alice@example.com").await.unwrap();
    let next = hers.submit(&code_page, &[("code", &code)]).await;
    let create = hers.follow(next).await;
    assert!(create.is("new-pin"), "{create:?}");
    let answer = hers
        .submit(&create, &[("pin", "602717"), ("pin_confirm", "602717")])
        .await;
    assert!(answer.gives_code(), "{answer:?}");
    assert!(idp.pin_hash_of(ALICE).await.is_some());
}

#[tokio::test]
async fn a_person_without_the_role_is_refused() {
    let idp = setup().await;
    let mut browser = Browser::new(&idp);
    browser.open_account("alice", PIN).await;
    let refused = browser.get("/admin").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.contains("support or administrator role"),
        "{}",
        refused.body
    );
    let post = browser
        .post(&format!("/admin/people/{SAM}/unlock"), &[("reason", "me")])
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    assert!(idp.pin_hash_of(SAM).await.is_some());
}

#[tokio::test]
async fn a_role_taken_away_closes_the_console() {
    let idp = setup().await;
    role(&idp, "sam", "support", true).await;
    let mut browser = Browser::new(&idp);
    staff_at_aal2(&idp, &mut browser).await;
    let revoked = role(&idp, "sam", "support", false).await;
    assert_eq!(revoked["roles"], serde_json::json!([]));
    let again = role(&idp, "sam", "support", false).await;
    assert_eq!(again["changed"], false, "nothing to take away");
    let refused = browser.get("/admin").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let audit = &idp.state.stores.audit;
    let granted = audit
        .recent_for_user(SAM, &[AuditKind::RoleGranted], 5)
        .await
        .unwrap();
    let taken = audit
        .recent_for_user(SAM, &[AuditKind::RoleRevoked], 5)
        .await
        .unwrap();
    assert_eq!((granted.len(), taken.len()), (1, 1));
    assert_eq!(granted[0].actor.as_deref(), Some("cli"));
    assert!(
        granted[0].detail.contains("support; reason: on call"),
        "{granted:?}"
    );
    assert_eq!(idp.notice("sam@example.com", "given the role").await, 1);
    assert_eq!(idp.notice("sam@example.com", "was taken away").await, 1);
    let unknown = idp_server::cli::set_role(&idp.state, "sam", Some(("root", true)), None).await;
    assert!(unknown.unwrap_err().to_string().contains("no role `root`"));
}

#[tokio::test]
async fn a_change_needs_a_recent_sign_in_and_the_form_token() {
    let idp = setup().await;
    role(&idp, "sam", "support", true).await;
    let mut browser = Browser::new(&idp);
    let (_, secret) = staff_at_aal2(&idp, &mut browser).await;
    let person = browser.get(&format!("/admin/people/{ALICE}")).await;
    assert!(person.is("admin-person"), "{person:?}");

    // A forged post (no form token) changes nothing.
    let forged = browser
        .post_as_is(
            &format!("/admin/people/{ALICE}/end-sessions"),
            &[("reason".into(), "forged".into())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Sixteen minutes on, looking is still allowed, changing is not.
    idp.clock.advance(16 * 60);
    let person = browser.get(&format!("/admin/people/{ALICE}")).await;
    assert!(person.is("admin-person"), "{person:?}");
    let stale = browser
        .submit_to(
            &person,
            &format!("/admin/people/{ALICE}/unlock"),
            &[("reason", "x")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert!(stale.is("console-step-up"), "{stale:?}");
    assert!(stale.contains("last 15 minutes"), "{}", stale.body);
    assert!(idp.pin_hash_of(ALICE).await.is_some());
    assert!(events(&idp, AuditKind::PinUnlocked).await.is_empty());

    // After the step-up, the same change goes through.
    step_up(
        &idp,
        &mut browser,
        &stale.link("/admin/step-up?fresh=1"),
        &secret,
    )
    .await;
    let person = browser.get(&format!("/admin/people/{ALICE}")).await;
    let done = browser
        .submit_to(
            &person,
            &format!("/admin/people/{ALICE}/unlock"),
            &[("reason", "x")],
        )
        .await;
    assert_eq!(done.to(), format!("/admin/people/{ALICE}?done=unlocked"));
    assert!(idp.pin_hash_of(ALICE).await.is_none());
}

#[tokio::test]
async fn an_admin_disables_and_enables_an_account_and_support_may_not() {
    let idp = setup().await;
    role(&idp, "sam", "support", true).await;
    let mut hers = Browser::new(&idp);
    hers.sign_in(&authorize("rp", &[]), "alice").await;
    assert_eq!(idp.sessions_of(ALICE).await, 1);
    let mut browser = Browser::new(&idp);
    staff_at_aal2(&idp, &mut browser).await;
    let page = browser.get(&format!("/admin/people/{ALICE}")).await;
    assert!(
        !page.contains("/disable\""),
        "support is offered no disabling"
    );
    let refused = browser
        .post(
            &format!("/admin/people/{ALICE}/disable"),
            &[("reason", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    role(&idp, "sam", "admin", true).await;
    let page = browser.get(&format!("/admin/people/{ALICE}")).await;
    let done = browser
        .submit_to(
            &page,
            &format!("/admin/people/{ALICE}/disable"),
            &[("reason", "fraud report")],
        )
        .await;
    assert_eq!(done.to(), format!("/admin/people/{ALICE}?done=disabled"));
    let alice = stored_alice(&idp).await;
    assert!(alice.disabled_at.is_some());
    assert_eq!(idp.sessions_of(ALICE).await, 0, "her sessions ended");
    let page = browser.follow(done).await;
    let done = browser
        .submit_to(
            &page,
            &format!("/admin/people/{ALICE}/enable"),
            &[("reason", "cleared")],
        )
        .await;
    assert_eq!(done.to(), format!("/admin/people/{ALICE}?done=enabled"));
    let alice = stored_alice(&idp).await;
    assert!(alice.disabled_at.is_none());
    let details: Vec<String> = events(&idp, AuditKind::AdminAction)
        .await
        .into_iter()
        .map(|e| e.detail)
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d == "user disabled; reason: fraud report"),
        "{details:?}"
    );
    assert!(details.iter().any(|d| d == "user enabled; reason: cleared"));
}

#[tokio::test]
async fn support_sends_a_new_confirmation_code_that_the_person_enters_on_their_account_page() {
    let idp = setup().await;
    role(&idp, "sam", "support", true).await;
    // Alice is signed in already (a sign-in from a new browser may confirm her address).
    let mut hers = Browser::new(&idp);
    hers.sign_in(&authorize("rp", &[]), "alice").await;
    let users = &idp.state.stores.users;
    users
        .set_email(ALICE, "alice@example.com", false)
        .await
        .unwrap();
    let mut browser = Browser::new(&idp);
    staff_at_aal2(&idp, &mut browser).await;
    let person = browser.get(&format!("/admin/people/{ALICE}")).await;
    assert!(
        person.contains("id=\"admin-resend-confirmation\""),
        "{}",
        person.body
    );
    let action = format!("/admin/people/{ALICE}/resend-confirmation");

    // A reason is needed, and a contact that is not confirmed.
    let no_reason = browser
        .submit_to(&person, &action, &[("channel", "email"), ("reason", "")])
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    let no_phone = browser
        .submit_to(
            &person,
            &action,
            &[("channel", "sms"), ("reason", "no mail")],
        )
        .await;
    assert_eq!(no_phone.status, StatusCode::CONFLICT, "{}", no_phone.body);
    assert_eq!(idp.code_sent_to("alice@example.com").await, None);

    let sent = browser
        .submit_to(
            &person,
            &action,
            &[("channel", "email"), ("reason", "caller says no mail came")],
        )
        .await;
    assert_eq!(
        sent.to(),
        format!("/admin/people/{ALICE}?done=confirmation")
    );
    let code = idp
        .code_sent_to("alice@example.com")
        .await
        .expect("a code went to the unconfirmed address");
    let audit = events(&idp, AuditKind::AdminAction).await;
    let event = audit
        .iter()
        .find(|e| e.detail.contains("contact confirmation code sent (email)"))
        .expect("audited");
    assert_eq!(event.actor.as_deref(), Some("user:id-sam"));
    assert!(event.detail.contains("reason: caller says no mail came"));

    // Alice, signed in, finds where the code goes and confirms her address with it.
    let account = hers.get("/account").await;
    assert!(
        account.contains("id=\"account-enter-code\""),
        "{}",
        account.body
    );
    let entry = hers.get("/account/contact/code").await;
    assert_eq!(entry.status, StatusCode::OK);
    let confirmed = hers
        .submit_to(&entry, "/account/contact/code", &[("code", &code)])
        .await;
    assert_eq!(confirmed.status, StatusCode::OK);
    assert!(
        confirmed.contains("e-mail address is confirmed"),
        "{}",
        confirmed.body
    );
    let alice = stored_alice(&idp).await;
    assert!(alice.email_verified, "confirmed by the code support sent");
    let person = browser.get(&format!("/admin/people/{ALICE}")).await;
    assert!(!person.contains("id=\"admin-resend-confirmation\""));
}

#[tokio::test]
async fn support_changes_a_persons_name_and_address_and_the_person_is_told() {
    let idp = setup().await;
    role(&idp, "sam", "support", true).await;
    let mut browser = Browser::new(&idp);
    staff_at_aal2(&idp, &mut browser).await;
    let person = browser.get(&format!("/admin/people/{ALICE}")).await;
    assert!(
        person.contains("id=\"admin-profile-save\""),
        "{}",
        person.body
    );
    let action = format!("/admin/people/{ALICE}/profile");

    let too_long = "x".repeat(201);
    let refused = browser
        .submit_to(
            &person,
            &action,
            &[("name", &too_long), ("reason", "caller moved")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("name-error"), "{}", refused.body);
    let no_reason = browser
        .submit_to(
            &person,
            &action,
            &[("name", "Alice Example"), ("reason", "")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    let alice = stored_alice(&idp).await;
    assert_eq!(alice.profile.name, None, "nothing changed");

    let saved = browser
        .submit_to(
            &person,
            &action,
            &[
                ("name", "Alice Example"),
                ("locality", "Springfield"),
                ("country", "US"),
                ("reason", "caller moved; identity checked"),
            ],
        )
        .await;
    assert_eq!(saved.to(), format!("/admin/people/{ALICE}?done=profile"));
    let alice = stored_alice(&idp).await;
    assert_eq!(alice.profile.name.as_deref(), Some("Alice Example"));
    assert_eq!(
        alice.profile.address.locality.as_deref(),
        Some("Springfield")
    );
    assert_eq!(idp.notice("alice@example.com", "name or address").await, 1);
    let audit = events(&idp, AuditKind::ProfileChanged).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor.as_deref(), Some("user:id-sam"));
    assert!(
        audit[0]
            .detail
            .contains("reason: caller moved; identity checked")
    );
    let shown = browser.follow(saved).await;
    assert!(shown.contains("value=\"Springfield\""), "{}", shown.body);
}
