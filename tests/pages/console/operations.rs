//! Administrators: signing keys, the audit log, clients.

use axum::http::StatusCode;
use idp_core::Clock as _;
use idp_core::model::AuditKind;

use super::{role, setup, staff_at_aal2};
use crate::support::{Browser, Idp, authorize};

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
async fn an_admin_makes_a_registration_token_that_registers_as_many_clients_as_it_says() {
    let idp = setup().await;
    role(&idp, "sam", "admin", true).await;
    let mut browser = Browser::new(&idp);
    let (admin, _) = staff_at_aal2(&idp, &mut browser).await;
    let home = browser.get(&admin.link("/admin")).await;
    assert!(home.contains("/admin/registration-tokens"), "{}", home.body);
    let page = browser.get("/admin/registration-tokens").await;
    assert!(page.is("admin-registration"), "{page:?}");

    // Bad input is named and makes nothing.
    for (uses, expires_in, reason, field) in [
        ("0", "24h", "partner", "uses"),
        ("100001", "24h", "partner", "uses"),
        ("two", "24h", "partner", "uses"),
        ("2", "1y", "partner", "expires_in"),
        ("2", "24h", "", "reason"),
    ] {
        let refused = browser
            .submit_to(
                &page,
                "/admin/registration-tokens",
                &[
                    ("uses", uses),
                    ("expires_in", expires_in),
                    ("reason", reason),
                ],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{uses} {expires_in}"
        );
        assert!(
            refused.contains(&format!("{field}-error")),
            "{}",
            refused.body
        );
        assert!(!refused.contains("id=\"registration-token\""));
    }

    let made = browser
        .submit_to(
            &page,
            "/admin/registration-tokens",
            &[
                ("uses", "2"),
                ("expires_in", "1h"),
                ("reason", "partner onboarding"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(
        made.contains("datetime=\"2027-01-15T09:00"),
        "an hour on: {}",
        made.body
    );
    let token = made
        .body
        .split("id=\"registration-token\">")
        .nth(1)
        .unwrap();
    let token = token.split('<').next().unwrap().to_owned();
    let metadata = serde_json::json!({ "client_name": "Partner", "redirect_uris": [crate::support::REDIRECT] });
    for _ in 0..2 {
        let (status, body) = idp
            .json_request("POST", "/register", Some(&token), Some(&metadata))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, _) = idp
        .json_request("POST", "/register", Some(&token), Some(&metadata))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "two uses, spent");
    // Shown once: the page again has no token.
    let again = browser.get("/admin/registration-tokens").await;
    assert!(!again.contains(&token));

    let audit = idp
        .state
        .stores
        .audit
        .query(
            &idp_core::model::AuditFilter {
                kind: Some(AuditKind::AdminAction),
                ..Default::default()
            },
            20,
        )
        .await
        .unwrap();
    let event = audit
        .iter()
        .find(|e| e.detail.contains("registration token"))
        .expect("audited");
    assert_eq!(event.actor.as_deref(), Some("user:id-sam"));
    assert!(event.detail.contains("for 2 registrations"), "{event:?}");
    assert!(
        event.detail.contains("reason: partner onboarding"),
        "{event:?}"
    );
    assert!(!event.detail.contains(&token), "never the token");

    // Support may not.
    role(&idp, "sam", "admin", false).await;
    role(&idp, "sam", "support", true).await;
    let refused = browser.get("/admin/registration-tokens").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_sets_what_the_command_line_sets_on_a_new_client_and_a_developer_cannot() {
    let idp = setup().await;
    role(&idp, "sam", "admin", true).await;
    let mut browser = Browser::new(&idp);
    staff_at_aal2(&idp, &mut browser).await;
    let list = browser.get("/admin/applications").await;
    assert!(list.contains("id=\"more-options\""), "{}", list.body);
    let base = [
        ("name", "Resource API"),
        ("redirect_uris", "https://api.example/cb"),
        ("method", "client_secret_post"),
        ("reason", "partner API"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut fields = base.to_vec();
        fields.extend_from_slice(extra);
        fields
    };
    let bad_alg = browser
        .submit_to(
            &list,
            "/admin/applications",
            &with(&[("id_token_alg", "HS256")]),
        )
        .await;
    assert_eq!(bad_alg.status, StatusCode::BAD_REQUEST);
    assert!(bad_alg.contains("id_token_alg-error"), "{}", bad_alg.body);
    let bad_link = browser
        .submit_to(
            &list,
            "/admin/applications",
            &with(&[("policy_uri", "http://api.example/p")]),
        )
        .await;
    assert_eq!(
        bad_link.status,
        StatusCode::BAD_REQUEST,
        "checked as the command line checks it"
    );
    let clients = || async { idp.state.stores.clients.list_clients().await.unwrap() };
    assert!(clients().await.iter().all(|c| c.name != "Resource API"));

    let made = browser
        .submit_to(
            &list,
            "/admin/applications",
            &with(&[
                ("third_party", "on"),
                ("resource_server", "on"),
                ("id_token_alg", "RS256"),
                ("subject_type", "pairwise"),
                ("policy_uri", "https://api.example/privacy"),
            ]),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let client = clients()
        .await
        .into_iter()
        .find(|c| c.name == "Resource API")
        .unwrap();
    assert!(!client.metadata.first_party, "asks for consent");
    assert!(client.metadata.resource_server);
    assert!(!client.admin);
    assert_eq!(client.id_token_signed_response_alg.as_str(), "RS256");
    assert_eq!(client.metadata.subject_type.as_str(), "pairwise");
    assert_eq!(
        client.metadata.links.policy_uri.as_deref(),
        Some("https://api.example/privacy")
    );

    // A developer's form has none of it, and what it sends of it anyway is ignored.
    role(&idp, "sam", "developer", true).await;
    let mine = browser.get("/developer").await;
    assert!(!mine.contains("id=\"more-options\""), "{}", mine.body);
    let own = browser
        .submit_to(
            &mine,
            "/developer/clients",
            &[
                ("name", "My app"),
                ("redirect_uris", "https://app.example/cb"),
                ("method", "client_secret_basic"),
                ("admin_api", "on"),
                ("resource_server", "on"),
            ],
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
    let client = clients()
        .await
        .into_iter()
        .find(|c| c.name == "My app")
        .unwrap();
    assert!(!client.admin && !client.metadata.resource_server);
    assert!(!client.metadata.first_party);
    let tls = browser
        .submit_to(
            &mine,
            "/developer/clients",
            &[
                ("name", "Mutual"),
                ("redirect_uris", "https://app.example/cb"),
                ("method", "tls_client_auth"),
            ],
        )
        .await;
    assert_eq!(
        tls.status,
        StatusCode::BAD_REQUEST,
        "mutual TLS is the administrators'"
    );
}
