//! The database going away: the security events of the meantime wait in the node's spool and
//! join the audit chain, in the order they happened, when it returns, also after the node was
//! killed meanwhile; `idp audit verify` then passes.
//!
//! These need `IDP_TEST_POSTGRES_URL` and `IDP_TEST_REDIS_URL` (`.ci/run` sets both): with
//! sign-ins in progress and throttling counters in Redis, wrong passwords are still turned
//! away (and audited) while PostgreSQL is cut off.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::fault_proxy::FaultProxy;
use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A node on a fresh PostgreSQL database reached through a cuttable proxy, with a user and a
/// login page open; `None` (and a note) without the servers.
async fn node_behind_proxy() -> Option<(TestIdp, SharedBackend, FaultProxy, Browser, Page)> {
    let Some(backend) = SharedBackend::create().await else {
        eprintln!("skipped: needs IDP_TEST_POSTGRES_URL");
        return None;
    };
    if backend.redis_url.is_none() {
        eprintln!("skipped: needs IDP_TEST_REDIS_URL");
        return None;
    }
    let proxy = FaultProxy::in_front_of(&backend.database_url).await;
    let url = proxy.url_for(&backend.database_url);
    let mut env: Vec<(String, String)> = backend.env();
    env.retain(|(name, _)| name != "IDP_DATABASE_URL");
    env.push(("IDP_DATABASE_URL".to_owned(), url.to_string()));
    env.push((
        "IDP_LOG".to_owned(),
        "warn,idp_server::audit::spool=info".to_owned(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let idp = TestIdp::start_with(&env).await;
    idp.create_user("mallory");
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    let login = browser.open(&rp.start(&[], &[], true).url).await;
    assert!(login.is("login"), "{}", login.body);
    Some((idp, backend, proxy, browser, login))
}

async fn wrong_password(browser: &Browser, login: &Page) -> StatusCode {
    wrong_password_page(browser, login).await.status
}

async fn wrong_password_page(browser: &Browser, login: &Page) -> Page {
    browser
        .submit(login, &[("username", "mallory"), ("password", "not it")])
        .await
}

/// The account under attack before the cut: wrong passwords until it must wait at least
/// three seconds (each wait served, so the next is checked and the wait doubles). The kinds of
/// event that made, in order.
async fn under_attack(browser: &Browser, login: &Page) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < deadline,
            "the account was never throttled for long"
        );
        let page = wrong_password_page(browser, login).await;
        match page.status {
            StatusCode::UNAUTHORIZED => kinds.push("password_wrong"),
            StatusCode::TOO_MANY_REQUESTS => {
                kinds.push("password_throttled");
                let wait: u64 = page.retry_after.as_deref().unwrap().parse().unwrap();
                if wait >= 3 {
                    return kinds;
                }
                tokio::time::sleep(Duration::from_millis(wait * 1000 + 50)).await;
            }
            other => panic!("a wrong password before the cut: {other}"),
        }
    }
}

/// Wrong passwords while the database is cut off, from an account throttled before the cut
/// (its counters are in Redis): each is refused at once, an event that waits. How many.
async fn throttled_while_cut(browser: &Browser, login: &Page) -> i64 {
    for _ in 0..3 {
        assert_eq!(
            wrong_password(browser, login).await,
            StatusCode::TOO_MANY_REQUESTS,
            "a wrong password while the database is down"
        );
    }
    3
}

/// `idp_audit_events_waiting` on the node.
async fn waiting(idp: &TestIdp) -> i64 {
    let text = reqwest::get(format!("{}/metrics", idp.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("idp_audit_events_waiting "))
        .expect("the gauge")
        .parse()
        .unwrap()
}

/// The audit rows, by id: kind and time.
async fn rows(backend: &SharedBackend) -> Vec<(String, i64)> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&backend.database_url)
        .await
        .unwrap();
    sqlx::query_as("SELECT kind, at FROM audit_log ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

/// Waits until the log holds `count` rows.
async fn until_rows(backend: &SharedBackend, count: usize) -> Vec<(String, i64)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = rows(backend).await;
        if rows.len() >= count || Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A wrong password once the database is back (the account may still be throttled): the kind
/// of event it made.
async fn wrong_password_after(browser: &Browser, login: &Page) -> &'static str {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match wrong_password(browser, login).await {
            StatusCode::UNAUTHORIZED => return "password_wrong",
            StatusCode::TOO_MANY_REQUESTS => return "password_throttled",
            other => assert!(
                Instant::now() < deadline,
                "the node did not recover: {other}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The password rows are those `before` the cut, `throttled` throttled, then one `last`,
/// each at or after the one before.
fn in_order(rows: &[(String, i64)], before: &[&str], throttled: usize, last: &str) {
    let kinds: Vec<&str> = rows
        .iter()
        .map(|(kind, _)| kind.as_str())
        .filter(|kind| kind.starts_with("password_"))
        .collect();
    let mut expected = before.to_vec();
    expected.extend(vec!["password_throttled"; throttled]);
    expected.push(last);
    assert_eq!(kinds, expected);
    assert!(
        rows.windows(2).all(|pair| pair[0].1 <= pair[1].1),
        "{rows:?}"
    );
}

fn verify(idp: &TestIdp) -> (serde_json::Value, String) {
    let out = idp.cli(&["audit", "verify"], "");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

// The proxy runs on the runtime's other thread while the test waits for the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_wait_while_the_database_is_down_and_join_the_chain_in_order() {
    let Some((mut idp, backend, proxy, browser, login)) = node_behind_proxy().await else {
        return;
    };
    let before = under_attack(&browser, &login).await;
    let stored = rows(&backend).await.len();

    proxy.cut();
    let throttled = throttled_while_cut(&browser, &login).await;
    assert_eq!(waiting(&idp).await, throttled);
    assert_eq!(
        rows(&backend).await.len(),
        stored,
        "nothing reached the log"
    );

    // The database returns: every event is appended, in order, within seconds.
    proxy.restore();
    let rows = until_rows(&backend, stored + throttled as usize).await;
    assert_eq!(rows.len(), stored + throttled as usize);
    assert_eq!(waiting(&idp).await, 0);
    // A new event goes after them.
    let last = wrong_password_after(&browser, &login).await;
    let rows = until_rows(&backend, stored + throttled as usize + 1).await;
    in_order(&rows, &before, throttled as usize, last);
    let (report, stderr) = verify(&idp);
    assert_eq!(report["verified"], rows.len());
    assert!(!stderr.contains("wait in"), "{stderr}");

    let (_, logs) = idp.terminate();
    assert!(
        logs.contains("1 audit events wait for the database"),
        "{logs}"
    );
    assert!(
        logs.contains(&format!("appended {throttled} waiting audit events")),
        "{logs}"
    );
}

// The proxy runs on the runtime's other thread while the test waits for the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_waiting_when_the_node_is_killed_are_appended_when_it_starts_again() {
    let Some((mut idp, backend, proxy, browser, login)) = node_behind_proxy().await else {
        return;
    };
    let before = under_attack(&browser, &login).await;
    let stored = rows(&backend).await.len();
    proxy.cut();
    let throttled = throttled_while_cut(&browser, &login).await;
    assert_eq!(waiting(&idp).await, throttled);

    // Killed outright while they wait; the database returns while the node is down.
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &idp.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    proxy.restore();
    let (report, stderr) = verify(&idp);
    assert_eq!(report["verified"], stored);
    assert!(
        stderr.contains(&format!("{throttled} audit events wait in")),
        "{stderr}"
    );

    // Started again: they are appended, each once, in order, before anything new.
    idp.kill_and_restart().await;
    let rows = until_rows(&backend, stored + throttled as usize).await;
    assert_eq!(rows.len(), stored + throttled as usize);
    let last = wrong_password_after(&browser, &login).await;
    let rows = until_rows(&backend, stored + throttled as usize + 1).await;
    in_order(&rows, &before, throttled as usize, last);
    assert_eq!(waiting(&idp).await, 0);
    let (report, stderr) = verify(&idp);
    assert_eq!(report["verified"], rows.len());
    assert!(!stderr.contains("wait in"), "{stderr}");
}
