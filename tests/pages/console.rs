//! The support console (`/admin`): roles given on the command line, the console's guard
//! (a role, a session at aal2, a recent sign-in for changes, CSRF), and support's journey:
//! find a locked person, unlock their PIN with a reason, and the person sets a new PIN.

use axum::http::StatusCode;
use idp_core::Clock as _;
use idp_core::model::AuditKind;
use idp_factors::totp;

use crate::support::{Browser, Idp, PASSWORD, PIN, Page, REDIRECT, authorize};

const ALICE: &str = "id-alice";
const SAM: &str = "id-sam";

async fn setup() -> Idp {
    let idp = Idp::start().await;
    idp.client("rp", true).await;
    idp.user("alice").await;
    idp.user("sam").await;
    idp
}

/// Gives (or takes away) `role` as `idp user role` does; its JSON answer.
async fn role(idp: &Idp, username: &str, role: &str, grant: bool) -> serde_json::Value {
    idp_server::cli::set_role(&idp.state, username, Some((role, grant)), Some("on call"))
        .await
        .unwrap()
}

/// Signs `sam` in to the account page, adds an authenticator app, and steps up to aal2 at the
/// console: the console's first page and the app's secret.
async fn staff_at_aal2(idp: &Idp, browser: &mut Browser<'_>) -> (Page, totp::Secret) {
    at_aal2(idp, browser, "/admin", "admin").await
}

/// [`staff_at_aal2`] at the console at `path`, whose first page is `page`.
async fn at_aal2(
    idp: &Idp,
    browser: &mut Browser<'_>,
    path: &str,
    page: &str,
) -> (Page, totp::Secret) {
    let account = browser.open_account("sam", PIN).await;
    assert!(account.contains("id=\"account-roles\""), "{}", account.body);
    assert_eq!(account.link(path), path);
    let add = browser.get("/account/factors/app").await;
    let secret = add.shown_key();
    let code = totp::code_at(&secret, idp.clock.now());
    let done = browser
        .submit(&add, &[("otp", &code), ("name", "phone")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    // The session is at password and PIN: the console offers the step-up.
    let short = browser.get(path).await;
    assert_eq!(short.status, StatusCode::FORBIDDEN);
    assert!(short.is("console-step-up"), "{short:?}");
    idp.clock.advance(30);
    let link = short.link(&format!("{path}/step-up"));
    let first = step_up_to(idp, browser, &link, &secret, (path, page)).await;
    (first, secret)
}

/// Runs the admin console's step-up at `link`: the PIN, then the app's code; the console's
/// page it ends on.
async fn step_up(idp: &Idp, browser: &mut Browser<'_>, link: &str, secret: &totp::Secret) -> Page {
    step_up_to(idp, browser, link, secret, ("/admin", "admin")).await
}

/// [`step_up`] for the console at `path`, whose first page is `page`.
async fn step_up_to(
    idp: &Idp,
    browser: &mut Browser<'_>,
    link: &str,
    secret: &totp::Secret,
    (path, page): (&str, &str),
) -> Page {
    let started = browser.get(link).await;
    let pin = browser.follow(started).await;
    assert!(pin.is("pin"), "{pin:?}");
    let next = browser.submit(&pin, &[("pin", PIN)]).await;
    let factor = browser.follow(next).await;
    assert!(factor.is("second-factor"), "{factor:?}");
    let code = totp::code_at(secret, idp.clock.now());
    let answer = browser.submit(&factor, &[("otp", &code)]).await;
    assert_eq!(answer.to(), path, "{answer:?}");
    let first = browser.follow(answer).await;
    assert!(first.is(page), "{first:?}");
    first
}

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
    let user = idp
        .state
        .stores
        .users
        .find_user(ALICE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.pin_failures, 5, "locked");
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

/// The `kid` in a JWT's header.
fn kid_of(jwt: &str) -> String {
    use base64::Engine as _;
    let part = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// The key ids the JWKS publishes.
async fn published(idp: &Idp) -> Vec<String> {
    let request = axum::http::Request::get("/jwks")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, _, jwks) = idp.call_text(request).await;
    assert_eq!(status, StatusCode::OK);
    let jwks: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_admin_rotates_and_revokes_signing_keys_and_support_may_not() {
    let idp = setup().await;
    role(&idp, "sam", "admin", true).await;
    // A relying party holds an ID token signed before any change.
    let mut hers = Browser::new(&idp);
    let answer = hers.sign_in(&authorize("rp", &[]), "alice").await;
    let (status, tokens) = crate::support::exchange(&idp, "rp", &answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let signer = kid_of(tokens["id_token"].as_str().unwrap());

    let mut browser = Browser::new(&idp);
    let (admin, _) = staff_at_aal2(&idp, &mut browser).await;
    let keys = browser.get(&admin.link("/admin/signing-keys")).await;
    assert!(keys.is("admin-keys"), "{keys:?}");
    assert!(keys.contains(&signer), "{}", keys.body);
    let before = idp
        .state
        .stores
        .keys
        .list_signing_keys()
        .await
        .unwrap()
        .len();

    let rotated = browser
        .submit_to(&keys, "/admin/signing-keys/rotate", &[("reason", "yearly")])
        .await;
    assert_eq!(rotated.to(), "/admin/signing-keys?done=rotate");
    let after = idp.state.stores.keys.list_signing_keys().await.unwrap();
    assert!(after.len() > before, "a next key per algorithm");
    assert!(after.iter().any(|k| k.state.as_str() == "next"));
    // Relying parties keep verifying what the old key signed: it is still published.
    idp.id_token_claims(&tokens);
    let kids = published(&idp).await;
    assert!(kids.contains(&signer), "{kids:?}");

    // A revocation asks for the key typed again.
    let keys = browser.follow(rotated).await;
    assert!(keys.contains("id=\"console-notice\""), "{}", keys.body);
    let mistyped = browser
        .submit_to(
            &keys,
            "/admin/signing-keys/revoke",
            &[
                ("kid", &signer),
                ("confirm", "not it"),
                ("reason", "leaked"),
            ],
        )
        .await;
    assert_eq!(mistyped.status, StatusCode::BAD_REQUEST);
    assert!(published(&idp).await.contains(&signer));
    let revoked = browser
        .submit_to(
            &keys,
            "/admin/signing-keys/revoke",
            &[("kid", &signer), ("confirm", &signer), ("reason", "leaked")],
        )
        .await;
    assert_eq!(revoked.to(), "/admin/signing-keys?done=revoke");
    assert!(!published(&idp).await.contains(&signer));
    let state = &idp.state;
    let token = tokens["id_token"].as_str().unwrap();
    let verified: Result<serde_json::Value, _> =
        state
            .keys()
            .verify(token, "JWT", state.issuer(), state.now());
    assert!(
        verified.is_err(),
        "what a revoked key signed no longer verifies"
    );
    let audit = state
        .stores
        .audit
        .query(
            &idp_core::model::AuditFilter {
                kind: Some(AuditKind::KeyRevoked),
                ..Default::default()
            },
            5,
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor.as_deref(), Some("user:id-sam"));
    assert!(audit[0].detail.contains("reason: leaked"), "{audit:?}");

    // Support sees people, not keys.
    role(&idp, "sam", "admin", false).await;
    role(&idp, "sam", "support", true).await;
    let refused = browser.get("/admin/signing-keys").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.contains("administrator role"), "{}", refused.body);
    let home = browser.get("/admin").await;
    assert!(!home.contains("/admin/signing-keys"), "{}", home.body);
}

#[tokio::test]
async fn an_admin_reads_the_audit_log_by_person_kind_and_day_and_checks_its_chain() {
    let idp = setup().await;
    role(&idp, "sam", "admin", true).await;
    let mut browser = Browser::new(&idp);
    let (admin, _) = staff_at_aal2(&idp, &mut browser).await;
    let log = browser.get(&admin.link("/admin/audit-log")).await;
    assert!(log.is("admin-audit"), "{log:?}");

    let granted = browser
        .get("/admin/audit-log?person=sam&kind=role_granted&client=&from=&until=")
        .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    assert!(granted.contains("reason: on call"), "{}", granted.body);
    let theirs = browser
        .get("/admin/audit-log?person=alice&kind=role_granted")
        .await;
    assert!(theirs.contains("id=\"no-events\""), "{}", theirs.body);
    let later = browser.get("/admin/audit-log?from=2099-01-01").await;
    assert!(later.contains("id=\"no-events\""), "{}", later.body);
    let today = idp.clock.now() - idp.clock.now() % 86_400;
    let day = time::OffsetDateTime::from_unix_timestamp(today)
        .unwrap()
        .date();
    let on_the_day = browser
        .get(&format!(
            "/admin/audit-log?from={day}&until={day}&kind=role_granted"
        ))
        .await;
    assert!(
        on_the_day.contains("reason: on call"),
        "{}",
        on_the_day.body
    );
    for bad in ["kind=nonsense", "from=2027-13-01", "person=nobody"] {
        let refused = browser.get(&format!("/admin/audit-log?{bad}")).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}");
    }

    let checked = browser
        .submit_to(&log, "/admin/audit-log/verify", &[])
        .await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert!(checked.contains("id=\"audit-intact\""), "{}", checked.body);

    role(&idp, "sam", "admin", false).await;
    role(&idp, "sam", "support", true).await;
    let refused = browser.get("/admin/audit-log").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_registers_a_client_changes_its_uris_rotates_its_secret_and_disables_it() {
    let idp = setup().await;
    role(&idp, "sam", "admin", true).await;
    let mut browser = Browser::new(&idp);
    let (admin, _) = staff_at_aal2(&idp, &mut browser).await;
    let list = browser.get(&admin.link("/admin/applications")).await;
    assert!(list.is("admin-clients"), "{list:?}");

    // A redirect URI with a fragment is refused, with the reason, and nothing is stored.
    let clients = || async { idp.state.stores.clients.list_clients().await.unwrap() };
    let before = clients().await.len();
    let refused = browser
        .submit_to(
            &list,
            "/admin/applications",
            &[
                ("name", "Tax portal"),
                ("redirect_uris", "https://portal.example/cb#x"),
                ("method", "client_secret_basic"),
                ("reason", "new portal"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("fragment"), "{}", refused.body);
    assert_eq!(clients().await.len(), before);

    let made = browser
        .submit_to(
            &list,
            "/admin/applications",
            &[
                ("name", "Tax portal"),
                (
                    "redirect_uris",
                    "https://portal.example/cb\n\nhttps://portal.example/cb2",
                ),
                ("method", "client_secret_basic"),
                ("reason", "new portal"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let client = clients()
        .await
        .into_iter()
        .find(|c| c.name == "Tax portal")
        .unwrap();
    assert_eq!(client.redirect_uris.len(), 2);
    assert!(made.contains(&client.id));
    let secret = made.body.split("id=\"client-secret\">").nth(1).unwrap();
    let secret = secret.split('<').next().unwrap().to_owned();
    assert_eq!(
        client.secret_hash.as_deref(),
        Some(idp_core::random::sha256_b64(&secret).as_str())
    );

    let page = browser
        .get(&format!("/admin/applications/{}", client.id))
        .await;
    assert!(page.is("admin-client"), "{page:?}");
    assert!(!page.contains(&secret), "the secret is shown once");
    let saved = browser
        .submit_to(
            &page,
            &format!("/admin/applications/{}/uris", client.id),
            &[
                ("redirect_uris", "https://portal.example/new"),
                ("post_logout_redirect_uris", "https://portal.example/bye"),
                ("reason", "moved"),
            ],
        )
        .await;
    assert_eq!(
        saved.to(),
        format!("/admin/applications/{}?done=uris", client.id)
    );
    let changed = idp.state.stores.clients.find_client_now(&client.id).await;
    let changed = changed.unwrap().unwrap();
    assert_eq!(changed.redirect_uris, ["https://portal.example/new"]);
    assert_eq!(
        changed.metadata.post_logout_redirect_uris,
        ["https://portal.example/bye"]
    );

    let rotated = browser
        .submit_to(
            &page,
            &format!("/admin/applications/{}/rotate-secret", client.id),
            &[("reason", "leaked in a ticket")],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_secret = rotated.body.split("id=\"client-secret\">").nth(1).unwrap();
    let new_secret = new_secret.split('<').next().unwrap();
    assert_ne!(new_secret, secret);
    let stored = idp.state.stores.clients.find_client_now(&client.id).await;
    assert_eq!(
        stored.unwrap().unwrap().secret_hash.as_deref(),
        Some(idp_core::random::sha256_b64(new_secret).as_str())
    );

    let disabled = browser
        .submit_to(
            &page,
            &format!("/admin/applications/{}/disable", client.id),
            &[("reason", "retired")],
        )
        .await;
    assert_eq!(
        disabled.to(),
        format!("/admin/applications/{}?done=disable", client.id)
    );
    let gone = idp.state.stores.clients.find_client_now(&client.id).await;
    assert!(
        gone.unwrap().is_none(),
        "a disabled client is found no more"
    );
    let filter = idp_core::model::AuditFilter {
        client_id: Some(client.id.clone()),
        ..Default::default()
    };
    let events = idp.state.stores.audit.query(&filter, 10).await.unwrap();
    let details: Vec<_> = events.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(events.len(), 4, "{details:?}");
    assert!(
        events
            .iter()
            .all(|e| e.actor.as_deref() == Some("user:id-sam"))
    );
    assert!(details[0].contains("reason: retired"), "{details:?}");
}

#[tokio::test]
async fn a_developer_registers_a_client_signs_someone_in_with_it_and_sees_only_their_own() {
    let idp = setup().await;
    role(&idp, "sam", "developer", true).await;
    // Another developer's client, which sam must not see or change.
    idp.user("dee").await;
    role(&idp, "dee", "developer", true).await;
    let theirs = {
        let person = idp_server::cli_person::ClientPersonArgs::default();
        let links = idp_server::cli::LinkArgs::default();
        let made = idp_server::cli::create_client(
            &idp.state,
            idp_server::cli::NewClient {
                name: "Dee's app",
                redirect_uris: &[REDIRECT.to_owned()],
                post_logout_redirect_uris: &[],
                backchannel_logout_uri: None,
                public: true,
                admin: false,
                third_party: true,
                resource_server: false,
                auth_method: "none",
                id_token_alg: "ES256",
                person: &person,
                jwks: None,
                jwks_uri: None,
                request_uris: &[],
                links: &links,
                fapi2: false,
                owner: Some("id-dee"),
            },
        )
        .await
        .unwrap();
        made["client_id"].as_str().unwrap().to_owned()
    };

    let mut browser = Browser::new(&idp);
    let (home, _) = at_aal2(&idp, &mut browser, "/developer", "developer").await;
    assert!(!home.contains(&theirs), "{}", home.body);
    let made = browser
        .submit_to(
            &home,
            "/developer/clients",
            &[
                ("name", "Sam's app"),
                ("redirect_uris", REDIRECT),
                ("method", "none"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert!(made.is("developer-client-created"), "{made:?}");
    let clients = idp.state.stores.clients.list_clients().await.unwrap();
    let mine = clients.iter().find(|c| c.name == "Sam's app").unwrap();
    assert_eq!(mine.metadata.owner.as_deref(), Some(SAM));
    // The ready configuration names this provider and this client.
    let snippet = crate::page::unescape(&made.body);
    assert!(
        snippet.contains(&format!("ClientId::new(\"{}\"", mine.id)),
        "{snippet}"
    );
    assert!(
        snippet.contains(&format!("new URL(\"{}\")", idp.state.issuer())),
        "{snippet}"
    );

    // Someone signs in to it: a third party, so they are asked to consent first.
    let mut hers = Browser::new(&idp);
    let consent = hers.sign_in(&authorize(&mine.id, &[]), "alice").await;
    let consent = hers.follow(consent).await;
    assert!(consent.is("consent"), "{consent:?}");
    let answer = hers.submit(&consent, &[("decision", "allow")]).await;
    assert!(answer.gives_code(), "{answer:?}");
    let (status, tokens) = crate::support::exchange(&idp, &mine.id, &answer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(idp.id_token_claims(&tokens)["aud"], mine.id.as_str());

    // Another developer's client is not there for sam.
    let other = browser.get(&format!("/developer/clients/{theirs}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let page = browser
        .get(&format!("/developer/clients/{}", mine.id))
        .await;
    assert!(page.is("developer-client"), "{page:?}");
    let deleted = browser
        .submit_to(
            &page,
            &format!("/developer/clients/{}/delete", mine.id),
            &[],
        )
        .await;
    assert_eq!(deleted.to(), "/developer?done=deleted", "{deleted:?}");
    let not_theirs = browser
        .post(&format!("/developer/clients/{theirs}/delete"), &[])
        .await;
    assert_eq!(not_theirs.status, StatusCode::NOT_FOUND);
    let clients = idp.state.stores.clients.list_clients().await.unwrap();
    assert!(clients.iter().all(|c| c.id != mine.id), "deleted");
    assert!(
        clients.iter().any(|c| c.id == theirs),
        "not sam's to delete"
    );

    // Developers do not see the admin console, nor admins' clients pages.
    let refused = browser.get("/admin/applications").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
