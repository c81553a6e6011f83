//! Readiness: whether every backend can do what serving needs of it now (the
//! database and Redis each take a write), each reported by name, for the load balancer.

use std::sync::{Arc, Mutex};

use idp_core::clock::UnixTime;
use idp_core::store::{Health, HealthCheck};

/// How long readiness waits for each backend: a load balancer's probe gets its answer in time
/// even from a node whose database hangs.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// What one probe found of each backend: its name, `ok` or what is wrong, and why.
pub type Found = Vec<(&'static str, &'static str, Option<String>)>;

/// The last probe and the second it ran in, and a turn that one probe at a time holds. A
/// probe asked in the same second, or while another runs, answers what the last one found, so
/// that however often `/readyz` is asked (it needs no credentials), the backends take one write
/// each per second at most, and no answer waits for more than one probe.
#[derive(Default)]
pub struct Readiness {
    last: Mutex<Option<(UnixTime, Arc<Found>)>>,
    turn: tokio::sync::Mutex<()>,
}

impl Readiness {
    /// What the last probe found, if one ran.
    pub fn last(&self) -> Option<Arc<Found>> {
        self.last_with_time().map(|(_, found)| found)
    }

    fn last_with_time(&self) -> Option<(UnixTime, Arc<Found>)> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What the backends can do now, probed or as last found (see above). A change from the
    /// last probe is logged, once.
    pub async fn found(
        &self,
        now: UnixTime,
        backends: &[(&'static str, Arc<dyn HealthCheck>)],
    ) -> Arc<Found> {
        let last = self.last_with_time();
        let turn = match (&last, self.turn.try_lock()) {
            (Some((at, found)), _) if *at == now => return found.clone(),
            (_, Ok(turn)) => turn,
            (Some((_, found)), Err(_)) => return found.clone(),
            // The first probe of the process is under way: wait for a turn of its own.
            (None, Err(_)) => self.turn.lock().await,
        };
        let found = Arc::new(probe(backends).await);
        if last
            .as_ref()
            .is_none_or(|(_, before)| statuses(before) != statuses(&found))
        {
            log_change(&found);
        }
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((now, found.clone()));
        drop(turn);
        found
    }
}

/// Each backend's name and what was found of it.
pub fn statuses(found: &Found) -> Vec<(&'static str, &'static str)> {
    found
        .iter()
        .map(|(name, status, _)| (*name, *status))
        .collect()
}

fn log_change(found: &Found) {
    for (name, status, why) in found {
        if *status == "ok" {
            tracing::info!(dependency = name, "ready");
        } else {
            let why = why.as_deref().unwrap_or("no answer in time");
            tracing::warn!(dependency = name, status, error = why, "not ready");
        }
    }
}

/// Asks every backend at once, each for at most `PROBE_TIMEOUT`.
async fn probe(backends: &[(&'static str, Arc<dyn HealthCheck>)]) -> Found {
    let probes = backends.iter().map(|(name, backend)| async move {
        match tokio::time::timeout(PROBE_TIMEOUT, backend.probe()).await {
            Ok(Health::Ok) => (*name, "ok", None),
            Ok(Health::Unreachable(why)) => (*name, "unreachable", Some(why)),
            Ok(Health::CannotWrite(why)) => (*name, "cannot_write", Some(why)),
            Err(_) => (*name, "timed_out", None),
        }
    });
    futures_util::future::join_all(probes).await
}
