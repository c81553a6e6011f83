//! Developers: their own clients, and someone signing in to one.

use axum::http::StatusCode;

use super::{SAM, at_aal2, role, setup};
use crate::support::{Browser, REDIRECT, authorize};

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
    // The server will call a back-channel logout URI: a developer's names a public host.
    let internal = browser
        .submit_to(
            &home,
            "/developer/clients",
            &[
                ("name", "Sam's app"),
                ("redirect_uris", REDIRECT),
                ("backchannel_logout_uri", "https://169.254.169.254/logout"),
                ("method", "none"),
            ],
        )
        .await;
    assert_eq!(
        internal.status,
        StatusCode::BAD_REQUEST,
        "{}",
        internal.body
    );
    assert!(internal.contains("public host"), "{}", internal.body);
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
