//! The multi-node scenarios: two nodes on PostgreSQL and Redis, each link through a fault
//! proxy, behind a load balancer.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::load::Load;
use super::probes::Probes;
use super::readiness::{expect_audit_whole, expect_not_ready, expect_recovery, watch_ready};
use super::site::Site;
use super::{Db, Findings, RECOVERY_WITHIN, REDIRECT};
use crate::cluster::{Cluster, Links};
use crate::fault_proxy::{FaultProxy, Mode, Modes};

struct Rig {
    cluster: Cluster,
    database: FaultProxy,
    redis: FaultProxy,
    site: Site,
    nodes: Vec<String>,
    findings: Findings,
}

impl Rig {
    async fn start(health_checks: bool) -> Option<Self> {
        Self::start_with(health_checks, &[]).await
    }

    /// `start`, with these settings besides.
    async fn start_with(health_checks: bool, settings: &[(&str, &str)]) -> Option<Self> {
        let (Ok(postgres), Ok(redis)) = (
            std::env::var("IDP_TEST_POSTGRES_URL"),
            std::env::var("IDP_TEST_REDIS_URL"),
        ) else {
            eprintln!(
                "skipped: the fault scenarios on several nodes need IDP_TEST_POSTGRES_URL and IDP_TEST_REDIS_URL"
            );
            return None;
        };
        let database = FaultProxy::in_front_of(&postgres).await;
        let redis = FaultProxy::in_front_of(&redis).await;
        let links = Links {
            database: Some(database.addr),
            redis: Some(redis.addr),
            health_checks,
        };
        let mut env = vec![("IDP_NEW_DEVICE__ENABLED", "false"), ("IDP_LOG", "error")];
        env.extend_from_slice(settings);
        let cluster = Cluster::start_with(2, &env, links).await?;
        for username in ["alice", "bob", "carol", "pinned", "patient"] {
            cluster.create_user(username);
        }
        let client = cluster.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
        let site = Site::new(cluster.issuer(), client).await;
        let nodes = (0..2).map(|n| cluster.node_url(n)).collect();
        Some(Self {
            cluster,
            database,
            redis,
            site,
            nodes,
            findings: Findings::default(),
        })
    }

    fn db(&self) -> Db<'_> {
        Db::Shared(&self.cluster.backend)
    }

    /// Refresh tokens to rotate under load, from sign-ins before the fault.
    async fn refresh_tokens(&self, n: usize) -> Vec<String> {
        let mut tokens = Vec::new();
        for _ in 0..n {
            let signed_in = self.site.sign_in("carol").await.expect("a sign-in");
            tokens.push(signed_in["refresh_token"].as_str().unwrap().to_owned());
        }
        tokens
    }

    /// The checks after every scenario, then the verdict.
    async fn finish(&self, load: &Load, probes: &Probes, scenario: &str) {
        let db = self.db();
        probes.after(&self.site, &db, &self.findings).await;
        load.check_writes(&self.site, &db, &self.findings).await;
        let verify = self.cluster.try_cli(&["audit", "verify"], "");
        expect_audit_whole(verify, &self.nodes[0], &self.findings).await;
        self.site.ledger.judge(&self.findings);
        self.findings.assert_none(scenario);
    }
}

#[tokio::test]
async fn a_postgres_cut_under_mixed_load() {
    let Some(rig) = Rig::start(false).await else {
        return;
    };
    let mut probes = Probes::prepare(&rig.site, &rig.db()).await;
    let tokens = rig.refresh_tokens(2).await;
    let mut load = Load::start(&rig.site, &["alice", "bob"], tokens, true);
    // Under load for a moment, then PostgreSQL goes away.
    let deadline = Instant::now() + Duration::from_secs(10);
    while load.sign_ins() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.database.cut();
    expect_not_ready(
        &rig.nodes,
        Some(&["unreachable"]),
        Some(&["ok"]),
        &rig.findings,
    )
    .await;
    probes.during(&rig.site).await;
    // The load goes on meeting the cut (more 503s come) before the database returns.
    let refused = rig.site.ledger.count(StatusCode::SERVICE_UNAVAILABLE);
    let deadline = Instant::now() + Duration::from_secs(15);
    while rig.site.ledger.count(StatusCode::SERVICE_UNAVAILABLE) <= refused {
        assert!(
            Instant::now() < deadline,
            "the load was not refused any more during the cut"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.database.restore();
    expect_recovery(&rig.nodes, &rig.site, "alice", &rig.findings).await;
    probes.after_recovery(&rig.site, &rig.findings).await;
    load.stop().await;
    rig.finish(&load, &probes, "PostgreSQL cut").await;
}

#[tokio::test]
async fn a_slow_postgres_still_lets_people_sign_in_beside_refresh_traffic() {
    // Eight connections a node: token traffic may hold six of them.
    let Some(rig) = Rig::start_with(false, &[("IDP_DATABASE_MAX_CONNECTIONS", "8")]).await else {
        return;
    };
    let mut probes = Probes::prepare(&rig.site, &rig.db()).await;
    let tokens = rig.refresh_tokens(4).await;
    let mut load = Load::start(&rig.site, &[], tokens, false);
    // More token requests at once than the connections token traffic may hold on both
    // nodes: sign-ins get through only on the connections kept for them.
    load.add_token_loops(&rig.site, 16);
    rig.database
        .set(Modes::both(Mode::Delay(Duration::from_millis(200))));
    // Readiness answers in time whatever it says.
    let answered = |status: Option<StatusCode>, _: &Value| status.is_some();
    for node in &rig.nodes {
        let (ok, body) = watch_ready(node, Duration::from_secs(2), &rig.findings, answered).await;
        rig.findings.check(ok, || {
            format!("/readyz of {node} under a slow database: {body}")
        });
    }
    for username in ["alice", "bob"] {
        let started = Instant::now();
        let signed_in = rig.site.sign_in(username).await;
        let took = started.elapsed();
        eprintln!("a sign-in under a slow database took {took:?}");
        rig.findings.check(signed_in.is_some(), || {
            format!("{username} could not sign in under a slow database ({took:?})")
        });
    }
    probes.during(&rig.site).await;
    rig.database.restore();
    load.stop_token_loops().await;
    expect_recovery(&rig.nodes, &rig.site, "alice", &rig.findings).await;
    probes.after_recovery(&rig.site, &rig.findings).await;
    load.stop().await;
    rig.finish(&load, &probes, "slow PostgreSQL").await;
}

#[tokio::test]
async fn a_blackholed_redis() {
    let Some(rig) = Rig::start(false).await else {
        return;
    };
    let mut probes = Probes::prepare(&rig.site, &rig.db()).await;
    let tokens = rig.refresh_tokens(2).await;
    let mut load = Load::start(&rig.site, &["alice"], tokens, true);
    rig.redis.blackhole();
    expect_not_ready(
        &rig.nodes,
        Some(&["ok"]),
        Some(&["timed_out", "unreachable"]),
        &rig.findings,
    )
    .await;
    probes.during(&rig.site).await;
    rig.redis.restore();
    expect_recovery(&rig.nodes, &rig.site, "alice", &rig.findings).await;
    probes.after_recovery(&rig.site, &rig.findings).await;
    load.stop().await;
    rig.finish(&load, &probes, "Redis blackholed").await;
}

#[tokio::test]
async fn a_frozen_node_is_passed_over_and_comes_back() {
    let Some(rig) = Rig::start(true).await else {
        return;
    };
    let mut probes = Probes::prepare(&rig.site, &rig.db()).await;
    let tokens = rig.refresh_tokens(2).await;
    let mut load = Load::start(&rig.site, &["alice", "bob"], tokens, true);
    let deadline = Instant::now() + Duration::from_secs(10);
    while load.sign_ins() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.cluster.freeze(1);
    let frozen = Instant::now();
    // The balancer sees it within its checks (two failures), then passes over it.
    while rig.cluster.lb.in_rotation(1) {
        assert!(
            frozen.elapsed() < Duration::from_secs(5),
            "the balancer still sends to the frozen node"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("frozen node out of rotation after {:?}", frozen.elapsed());
    let passed_over = rig.cluster.lb.served(1);
    // The other node serves everything meanwhile: a new sign-in completes at once (the
    // load's own may be waiting on the frozen node).
    let started = Instant::now();
    let signed_in = rig.site.sign_in("carol").await;
    let took = started.elapsed();
    rig.findings
        .check(signed_in.is_some() && took < Duration::from_secs(5), || {
            format!("a sign-in while one node was frozen: {signed_in:?} after {took:?}")
        });
    probes.during(&rig.site).await;
    rig.findings
        .check(rig.cluster.lb.served(1) == passed_over, || {
            "the balancer sent to the frozen node after passing over it".into()
        });
    rig.cluster.thaw(1);
    expect_recovery(&rig.nodes, &rig.site, "alice", &rig.findings).await;
    probes.after_recovery(&rig.site, &rig.findings).await;
    // The balancer sends to it again.
    let thawed = rig.cluster.lb.served(1);
    let deadline = Instant::now() + RECOVERY_WITHIN;
    while rig.cluster.lb.served(1) <= thawed + 2 {
        assert!(Instant::now() < deadline, "the thawed node gets no traffic");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    load.stop().await;
    rig.finish(&load, &probes, "node frozen").await;
}
