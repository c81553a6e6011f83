//! Faults in what the provider depends on, under load: PostgreSQL cut or slow, Redis
//! blackholed, a node frozen, SQLite's disk full. Through each: every failure is a 503 with
//! `Retry-After` (never a 500), `/readyz` names the fault at once and quickly, the provider
//! recovers by itself, no acknowledged write is lost, PIN lockout stays exact, nobody is
//! throttled for the outage, and every security event reaches the audit chain.
//!
//! The multi-node scenarios (module `cluster`) need `IDP_TEST_POSTGRES_URL` and
//! `IDP_TEST_REDIS_URL`, and run once, with the other multi-node tests. The full disk needs
//! root (to mount a small tmpfs) and runs only on SQLite.

mod cluster;
mod load;
mod probes;
mod readiness;
mod site;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;

use crate::small_disk::SmallDisk;
use crate::support::*;

use load::Load;
use probes::Probes;
use readiness::{expect_audit_whole, expect_not_ready, expect_recovery};
use site::Site;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// How long `/readyz` may take to answer, whatever the fault: the probe gives up after a
/// second, and this machine runs both nodes, PostgreSQL, Redis, the proxy and the load on
/// the same cores (a probe that waited for a hung backend would take the load's 15 s).
const READY_WITHIN: Duration = Duration::from_secs(2);
/// How long after the fault ends the provider must be ready and serving again.
const RECOVERY_WITHIN: Duration = Duration::from_secs(10);
/// How long the load waits for an answer before counting it as none.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);

/// Everything that went against the contract, gathered so that a run reports all of it.
#[derive(Default)]
struct Findings(Mutex<Vec<String>>);

impl Findings {
    fn check(&self, ok: bool, finding: impl FnOnce() -> String) {
        if !ok {
            let finding = finding();
            eprintln!("FINDING: {finding}");
            self.0.lock().unwrap().push(finding);
        }
    }

    fn assert_none(&self, scenario: &str) {
        let findings = self.0.lock().unwrap();
        assert!(
            findings.is_empty(),
            "{scenario}: {} finding(s):\n- {}",
            findings.len(),
            findings.join("\n- ")
        );
    }
}

/// One answer the load got: `None` when there was none within [`ANSWER_WITHIN`].
#[derive(Debug, Clone)]
struct Answer {
    what: &'static str,
    status: Option<StatusCode>,
    retry_after: bool,
}

/// Every answer the load and the probes got.
#[derive(Clone, Default)]
struct Ledger(Arc<Mutex<Vec<Answer>>>);

impl Ledger {
    fn note(&self, what: &'static str, status: Option<StatusCode>, retry_after: bool) {
        self.0.lock().unwrap().push(Answer {
            what,
            status,
            retry_after,
        });
    }

    fn page(&self, what: &'static str, page: Option<&Page>) {
        self.note(
            what,
            page.map(|p| p.status),
            page.is_some_and(|p| p.retry_after.is_some()),
        );
    }

    fn count(&self, status: StatusCode) -> usize {
        let answers = self.0.lock().unwrap();
        answers.iter().filter(|a| a.status == Some(status)).count()
    }

    /// Every failure a 503 with `Retry-After`, every 429 with it too, an answer to everything,
    /// and nobody throttled (the load gets no password wrong).
    fn judge(&self, findings: &Findings) {
        let answers = self.0.lock().unwrap();
        let mut wrong: std::collections::BTreeMap<String, usize> = Default::default();
        for answer in answers.iter() {
            let verdict = match answer.status {
                None => Some("no answer".to_owned()),
                Some(StatusCode::SERVICE_UNAVAILABLE) if !answer.retry_after => {
                    Some("503 without Retry-After".to_owned())
                }
                Some(StatusCode::SERVICE_UNAVAILABLE) => None,
                Some(StatusCode::TOO_MANY_REQUESTS) => Some(format!(
                    "429 (throttled for the outage){}",
                    if answer.retry_after {
                        ""
                    } else {
                        " without Retry-After"
                    }
                )),
                Some(status) if status.is_server_error() => Some(status.to_string()),
                Some(_) => None,
            };
            if let Some(verdict) = verdict {
                *wrong
                    .entry(format!("{}: {verdict}", answer.what))
                    .or_default() += 1;
            }
        }
        let total = answers.len();
        let unavailable = answers
            .iter()
            .filter(|a| a.status == Some(StatusCode::SERVICE_UNAVAILABLE))
            .count();
        eprintln!("{total} answers, {unavailable} of them 503");
        for (what, times) in wrong {
            findings.check(false, || format!("{what} ({times}x)"));
        }
    }
}

/// A database to count rows in: the cluster's PostgreSQL, or a node's SQLite file.
enum Db<'a> {
    Shared(&'a SharedBackend),
    Sqlite(PathBuf),
}

impl Db<'_> {
    async fn count(&self, table: &str, filter: &str) -> i64 {
        use sqlx::Connection as _;
        match self {
            Self::Shared(backend) => backend.count(table, filter).await,
            Self::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                let sql = format!("SELECT COUNT(*) FROM {table} WHERE {filter}");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
        }
    }
}

#[tokio::test]
async fn sqlite_on_a_full_disk() {
    if on_postgres() {
        eprintln!("skipped: the full-disk test is for SQLite");
        return;
    }
    let Some(disk) = SmallDisk::mount("24m") else {
        return;
    };
    let data = disk.path().join("data");
    let database = data.join("idp.db");
    let idp = TestIdp::start_with(&[
        ("IDP_DATA_DIR", data.to_str().unwrap()),
        (
            "IDP_DATABASE_URL",
            &format!("sqlite://{}", database.display()),
        ),
        ("IDP_NEW_DEVICE__ENABLED", "false"),
    ])
    .await;
    let findings = Findings::default();
    for username in ["alice", "carol", "pinned", "patient"] {
        idp.create_user(username);
    }
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let site = Site::new(&idp.address, client).await;
    let db = Db::Sqlite(database.clone());
    let nodes = [idp.address.clone()];
    let mut probes = Probes::prepare(&site, &db).await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let signed_in = site.sign_in("carol").await.expect("a sign-in");
        tokens.push(signed_in["refresh_token"].as_str().unwrap().to_owned());
    }

    // The log emptied into the database file, so that the next write needs new space; then
    // the disk fills up.
    {
        use sqlx::Connection as _;
        let url = format!("sqlite://{}", database.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let filler = disk.fill();
    let mut load = Load::start(&site, &["alice"], tokens, true);
    expect_not_ready(&nodes, Some(&["cannot_write"]), None, &findings).await;
    probes.during(&site).await;
    assert!(
        site.ledger
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.status.is_some_and(|s| s.is_server_error())),
        "nothing failed: the disk did not fill"
    );

    std::fs::remove_file(&filler).unwrap();
    expect_recovery(&nodes, &site, "alice", &findings).await;
    probes.after_recovery(&site, &findings).await;
    load.stop().await;
    probes.after(&site, &db, &findings).await;
    load.check_writes(&site, &db, &findings).await;
    let verify = idp.cli(&["audit", "verify"], "");
    expect_audit_whole(verify, &idp.address, &findings).await;
    site.ledger.judge(&findings);
    drop(idp);
    findings.assert_none("SQLite on a full disk");
}
