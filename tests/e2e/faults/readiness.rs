//! What the provider says of itself through a fault: `/readyz` names it at once and answers
//! quickly, everything is ready and serving again soon after, and the audit chain is whole.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::site::Site;
use super::{Findings, READY_WITHIN, RECOVERY_WITHIN};

/// What `/readyz` answered and how long it took; no status when it did not answer at all.
async fn readyz(node: &str) -> (Option<StatusCode>, Value, Duration) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let started = Instant::now();
    match http.get(format!("{node}/readyz")).send().await {
        Err(_) => (None, Value::Null, started.elapsed()),
        Ok(response) => {
            let status = response.status();
            let retry_after = response.headers().contains_key("retry-after");
            let mut body: Value = response.json().await.unwrap_or(Value::Null);
            body["retry_after_header"] = retry_after.into();
            (Some(status), body, started.elapsed())
        }
    }
}

/// Polls `/readyz` of `node` until `until` holds for an answer (true) or `deadline` passes
/// (false); each answer within [`READY_WITHIN`], else a finding.
pub(super) async fn watch_ready(
    node: &str,
    within: Duration,
    findings: &Findings,
    until: impl Fn(Option<StatusCode>, &Value) -> bool,
) -> (bool, Value) {
    let deadline = Instant::now() + within;
    let mut slowest: Option<(Duration, Value)> = None;
    let mut bare_503: Option<Value> = None;
    let reached = loop {
        let (status, body, took) = readyz(node).await;
        if took > READY_WITHIN && slowest.as_ref().is_none_or(|(t, _)| took > *t) {
            slowest = Some((took, body.clone()));
        }
        if status == Some(StatusCode::SERVICE_UNAVAILABLE) && body["retry_after_header"] != true {
            bare_503 = Some(body.clone());
        }
        if until(status, &body) {
            break (true, body);
        }
        if Instant::now() > deadline {
            break (false, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if let Some((took, body)) = slowest {
        findings.check(false, || {
            format!("/readyz of {node} took {took:?} (answered {body})")
        });
    }
    if let Some(body) = bare_503 {
        findings.check(false, || {
            format!("/readyz of {node} answered 503 without Retry-After: {body}")
        });
    }
    reached
}

/// `/readyz` of every node names the fault: 503 and `database`, `redis` as expected (`None`:
/// not asserted).
pub(super) async fn expect_not_ready(
    nodes: &[String],
    database: Option<&[&str]>,
    redis: Option<&[&str]>,
    findings: &Findings,
) {
    for node in nodes {
        let named = |status: Option<StatusCode>, body: &Value| {
            status == Some(StatusCode::SERVICE_UNAVAILABLE)
                && body["status"] == "unavailable"
                && database.is_none_or(|d| d.iter().any(|d| body["database"] == *d))
                && redis.is_none_or(|r| r.iter().any(|r| body["redis"] == *r))
        };
        let (named, body) = watch_ready(node, Duration::from_secs(5), findings, named).await;
        findings.check(named, || {
            format!(
                "/readyz of {node} during the fault: {body}, expected 503 with database {database:?}, redis {redis:?}"
            )
        });
    }
}

/// After the fault: every node ready again, and a sign-in through `site` completing, within
/// [`RECOVERY_WITHIN`]. Panics (the rest would prove nothing) when it does not recover.
pub(super) async fn expect_recovery(
    nodes: &[String],
    site: &Site,
    username: &str,
    findings: &Findings,
) {
    let ended = Instant::now();
    for node in nodes {
        let ok = |status: Option<StatusCode>, _: &Value| status == Some(StatusCode::OK);
        let (ready, body) = watch_ready(node, Duration::from_secs(30), findings, ok).await;
        assert!(ready, "{node} never became ready again: {body}");
        findings.check(body["database"] == "ok", || {
            format!("/readyz ready without `database: ok`: {body}")
        });
    }
    let ready_after = ended.elapsed();
    loop {
        if site.sign_in(username).await.is_some() {
            break;
        }
        assert!(
            ended.elapsed() < Duration::from_secs(30),
            "no sign-in completes after the fault"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let serving_after = ended.elapsed();
    eprintln!("ready {ready_after:?}, serving {serving_after:?} after the fault ended");
    findings.check(serving_after <= RECOVERY_WITHIN, || {
        format!("recovery took {serving_after:?} (ready after {ready_after:?})")
    });
}

/// After recovery: `idp audit verify` passes, and no event waits any more.
pub(super) async fn expect_audit_whole(
    verify: std::process::Output,
    node: &str,
    findings: &Findings,
) {
    findings.check(verify.status.success(), || {
        format!(
            "idp audit verify: {}",
            String::from_utf8_lossy(&verify.stderr).trim()
        )
    });
    let deadline = Instant::now() + RECOVERY_WITHIN;
    let waiting = loop {
        let metrics = reqwest::get(format!("{node}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let waiting = metrics
            .lines()
            .find(|line| line.starts_with("idp_audit_events_waiting "))
            .map(|line| line.rsplit(' ').next().unwrap().to_owned());
        if waiting.as_deref() == Some("0") || Instant::now() > deadline {
            break waiting;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    findings.check(waiting.as_deref() == Some("0"), || {
        format!("metric idp_audit_events_waiting after recovery: {waiting:?}")
    });
}
