//! What a run measured: each finished iteration's latency, the answers by status and the
//! failures by kind, kept while the workers run and put into the one JSON line printed.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::Failure;

/// The counts of a run, shared by its workers.
#[derive(Default)]
pub struct Tally {
    latencies: Mutex<Vec<Duration>>,
    statuses: Mutex<BTreeMap<String, u64>>,
    /// The last failure of each kind, to show.
    failures: Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    pub fn status(&self, status: StatusCode) {
        if let Ok(mut statuses) = self.statuses.lock() {
            *statuses.entry(status.as_u16().to_string()).or_default() += 1;
        }
    }

    pub fn fail(&self, why: Failure) {
        if let Ok(mut failures) = self.failures.lock() {
            *failures.entry(why).or_default() += 1;
        }
    }

    /// An iteration finished in `elapsed`.
    pub fn finished(&self, elapsed: Duration) {
        if let Ok(mut latencies) = self.latencies.lock() {
            latencies.push(elapsed);
        }
    }

    /// Forgets the answers counted so far (those of the workers' preparation).
    pub fn clear_statuses(&self) {
        if let Ok(mut statuses) = self.statuses.lock() {
            statuses.clear();
        }
    }

    /// The run's line: iterations, rate, latency percentiles, answers and failures.
    pub fn report(&self, scenario: &str, elapsed: f64) -> Value {
        let mut latencies = self.latencies.lock().map(|l| l.clone()).unwrap_or_default();
        latencies.sort();
        let statuses = self.statuses.lock().map(|s| s.clone()).unwrap_or_default();
        let failures = self.failures.lock().map(|f| f.clone()).unwrap_or_default();
        json!({
            "scenario": scenario,
            "iterations": latencies.len(),
            "seconds": elapsed,
            "per_second": latencies.len() as f64 / elapsed,
            "p50_ms": percentile(&latencies, 50.0),
            "p99_ms": percentile(&latencies, 99.0),
            "max_ms": latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            "statuses": statuses,
            "failures": failures,
        })
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}
