//! Revocation across three nodes: each node checks access tokens from memory while it hears
//! of revocations, yet a token revoked, a grant ended, a password changed or a client
//! disabled at one node is refused by every node within 100 ms.

use std::time::{Duration, Instant};

use openidconnect::OAuth2TokenResponse as _;
use reqwest::Method;
use serde_json::Value;

use super::{Cluster, REDIRECT};
use crate::support::*;

/// How soon every node must refuse what one node revoked.
const AT_ONCE: Duration = Duration::from_millis(100);

/// What `node`'s introspection says of `token`, asked by the resource server `by`.
async fn active_at(cluster: &Cluster, node: usize, by: &Value, token: &str) -> bool {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/introspect", cluster.node_url(node)))
        .basic_auth(
            by["client_id"].as_str().unwrap(),
            by["client_secret"].as_str(),
        )
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["active"] == true
}

/// Every node refuses `token` within [`AT_ONCE`] of `changed`: an answer that still says
/// active fails the test when its request left later than that.
async fn refused_everywhere(
    cluster: &Cluster,
    by: &Value,
    token: &str,
    changed: Instant,
    what: &str,
) {
    for node in 0..3 {
        loop {
            let sent = changed.elapsed();
            if !active_at(cluster, node, by, token).await {
                break;
            }
            assert!(
                sent < AT_ONCE,
                "{what}: node {node} still accepts the token after {sent:?}"
            );
        }
    }
}

/// Waits until every node hears of revocations (its `/metrics`, read from loopback).
async fn every_node_hears(cluster: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for node in 0..3 {
        let url = format!("{}/metrics", cluster.node_url(node));
        loop {
            let metrics = reqwest::get(&url).await.unwrap().text().await.unwrap();
            if metrics.contains("\nidp_revocations_heard 1") {
                break;
            }
            assert!(Instant::now() < deadline, "node {node} never subscribed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn post(cluster: &Cluster, node: usize, path: &str, token: &str) {
    let status = reqwest::Client::new()
        .request(Method::POST, format!("{}{path}", cluster.node_url(node)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{path}: {status}");
}

async fn revoke(cluster: &Cluster, node: usize, client: &Value, token: &str) {
    let status = reqwest::Client::new()
        .post(format!("{}/revoke", cluster.node_url(node)))
        .basic_auth(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
        )
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "revoke: {status}");
}

#[tokio::test]
async fn what_one_node_revokes_every_node_refuses_within_100_ms() {
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    let admin = cluster.create_client(&[
        "--name",
        "Operations",
        "--redirect-uri",
        REDIRECT,
        "--admin",
        "--resource-server",
    ]);
    let portal = cluster.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let worker = cluster.create_client(&["--name", "Worker", "--redirect-uri", REDIRECT]);
    cluster.create_user("alice");
    let rp = RelyingParty::discover_issuer(
        cluster.issuer(),
        portal["client_id"].as_str().unwrap(),
        portal["client_secret"].as_str(),
        REDIRECT,
    )
    .await;
    let browser = cluster.browser();
    every_node_hears(&cluster).await;

    let admin_token = client_token(cluster.issuer(), &admin, "admin").await;
    let alone = client_token(cluster.issuer(), &admin, "").await;
    let worker_token = client_token(cluster.issuer(), &worker, "").await;
    let first = rp
        .sign_in(
            &browser,
            "alice",
            &mut rp.start(&["offline_access"], &[], true),
        )
        .await;
    // A second sign-in, from another browser: a grant of its own.
    let second = rp
        .sign_in(&cluster.browser(), "alice", &mut rp.start(&[], &[], true))
        .await;
    let (first_access, second_access) = (
        first.access_token().secret().clone(),
        second.access_token().secret().clone(),
    );
    let first_refresh = first
        .refresh_token()
        .expect("a refresh token")
        .secret()
        .clone();
    // Every node has checked every token, and holds what it read.
    for token in [&alone, &worker_token, &first_access, &second_access] {
        for node in 0..3 {
            assert!(
                active_at(&cluster, node, &admin, token).await,
                "node {node}"
            );
        }
    }

    // An access token revoked on its own (RFC 7009), at node 0.
    revoke(&cluster, 0, &admin, &alone).await;
    refused_everywhere(&cluster, &admin, &alone, Instant::now(), "a revoked token").await;

    // A grant ended (its refresh token revoked), at node 1.
    revoke(&cluster, 1, &portal, &first_refresh).await;
    refused_everywhere(
        &cluster,
        &admin,
        &first_access,
        Instant::now(),
        "an ended grant",
    )
    .await;

    // A password changed (at whichever node the balancer picks): every grant of theirs ends.
    let account_browser = cluster.browser();
    let account = account_browser.open_account("alice", PIN).await;
    account_browser
        .change_password(&account, "a brand new passphrase here")
        .await;
    let changed = Instant::now();
    refused_everywhere(
        &cluster,
        &admin,
        &second_access,
        changed,
        "a password changed",
    )
    .await;

    // A client disabled, at node 0: its own tokens (no grant) go with it.
    let worker_id = worker["client_id"].as_str().unwrap();
    post(
        &cluster,
        0,
        &format!("/admin/clients/{worker_id}/disable"),
        &admin_token,
    )
    .await;
    let changed = Instant::now();
    refused_everywhere(
        &cluster,
        &admin,
        &worker_token,
        changed,
        "a disabled client",
    )
    .await;

    // What was not revoked is still accepted everywhere, from memory.
    let kept = client_token(cluster.issuer(), &admin, "").await;
    for node in 0..3 {
        assert!(active_at(&cluster, node, &admin, &kept).await);
    }
}
