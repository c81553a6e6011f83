//! The load that runs through a fault: sign-ins, sign-ups, refreshes, and token traffic, each
//! in a loop of its own; and, after it, whether every write it was told of stands.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::site::Site;
use super::{Db, Findings};

/// A rotating refresh token as its client keeps it: the newest, and those it replaced.
#[derive(Debug, Default)]
struct Chain {
    current: String,
    spent: Vec<String>,
    /// A refresh had no answer, or a refusal followed a 503: whether it rotated is unknown, so
    /// the chain proves nothing.
    unknown: bool,
    /// The last answer was a 503.
    after_outage: bool,
    /// A refusal other than a 503: the client lost its grant.
    lost: Option<String>,
}

/// Client credentials, then introspection of the token, until stopped.
async fn token_loop(site: Site, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let form = [("grant_type", "client_credentials")];
        if let Some(token) = site.post("client credentials", "/token", &form).await
            && token["status"] == 200
        {
            let access = token["access_token"].as_str().unwrap();
            let form = [("token", access)];
            if let Some(seen) = site.post("introspection", "/introspect", &form).await
                && seen["status"] == 200
                && seen["active"] != true
            {
                site.ledger.note("introspection: inactive", None, false);
            }
        }
        pause().await;
    }
}

/// The load: sign-ins, sign-ups, refreshes, client credentials with introspection, each in
/// a loop of its own until stopped.
pub(super) struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The loops of token traffic added to crowd the connections, stopped on their own.
    extra_stop: Arc<AtomicBool>,
    extra: Vec<tokio::task::JoinHandle<()>>,
    chains: Vec<Arc<Mutex<Chain>>>,
    signed_up: Arc<Mutex<Vec<String>>>,
    sign_ins: Arc<std::sync::atomic::AtomicUsize>,
}

impl Load {
    /// `signers` sign in in turn (one loop each); `chains` start from these refresh tokens.
    pub(super) fn start(
        site: &Site,
        signers: &[&str],
        refresh_tokens: Vec<String>,
        sign_ups: bool,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        let sign_ins = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for username in signers {
            let (site, stop, done) = (site.clone(), stop.clone(), sign_ins.clone());
            let username = (*username).to_owned();
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    if site.sign_in(&username).await.is_some() {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    pause().await;
                }
            }));
        }
        let chains: Vec<_> = refresh_tokens
            .into_iter()
            .map(|current| {
                Arc::new(Mutex::new(Chain {
                    current,
                    ..Chain::default()
                }))
            })
            .collect();
        for chain in &chains {
            let (site, stop, chain) = (site.clone(), stop.clone(), chain.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let current = chain.lock().unwrap().current.clone();
                    let answer = site.refresh(&current).await;
                    {
                        let mut chain = chain.lock().unwrap();
                        match answer {
                            None => {
                                chain.unknown = true;
                                return;
                            }
                            Some(body) if body["status"] == 200 => {
                                let next = body["refresh_token"].as_str().unwrap().to_owned();
                                let spent = std::mem::replace(&mut chain.current, next);
                                chain.spent.push(spent);
                                chain.after_outage = false;
                            }
                            // A server error changed nothing the client knows of.
                            Some(body) if body["status"].as_u64().unwrap_or(0) >= 500 => {
                                chain.after_outage = true;
                            }
                            // A connection cut while the rotation's commit was on its way
                            // leaves its outcome unknown to the server too: the 503 may
                            // hide a rotation that landed, and the retry is then a replay,
                            // which ends the grant (RFC 9700 §4.14.2). Not a lost write:
                            // none was acknowledged.
                            Some(body) if chain.after_outage => {
                                eprintln!("a refresh refused after a 503 (its rotation's commit may have landed unacknowledged): {body}");
                                chain.unknown = true;
                                return;
                            }
                            Some(body) => {
                                chain.lost = Some(body.to_string());
                                return;
                            }
                        }
                    }
                    pause().await;
                }
            }));
        }
        tasks.push(tokio::spawn(token_loop(site.clone(), stop.clone())));
        let signed_up = Arc::new(Mutex::new(Vec::new()));
        if sign_ups {
            let (site, stop, signed_up) = (site.clone(), stop.clone(), signed_up.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    if let Some(username) = site.sign_up(format!("joiner{n}")).await {
                        signed_up.lock().unwrap().push(username);
                    }
                    pause().await;
                }
            }));
        }
        Self {
            stop,
            tasks,
            extra_stop: Arc::new(AtomicBool::new(false)),
            extra: Vec::new(),
            chains,
            signed_up,
            sign_ins,
        }
    }

    /// `loops` more loops of token traffic at once (client credentials, then introspection).
    pub(super) fn add_token_loops(&mut self, site: &Site, loops: usize) {
        for _ in 0..loops {
            let stop = self.extra_stop.clone();
            self.extra
                .push(tokio::spawn(token_loop(site.clone(), stop)));
        }
    }

    /// Stops the loops `add_token_loops` added (the rest of the load goes on). They crowd the
    /// connections while the database is slow; once it is not, nothing paces them, and on
    /// the test machine's cores (a debug build of two nodes, PostgreSQL and the load) they
    /// would measure how much traffic those cores take rather than the recovery.
    pub(super) async fn stop_token_loops(&mut self) {
        self.extra_stop.store(true, Ordering::SeqCst);
        for task in self.extra.drain(..) {
            task.await.unwrap();
        }
    }

    pub(super) fn sign_ins(&self) -> usize {
        self.sign_ins.load(Ordering::SeqCst)
    }

    pub(super) async fn stop(&mut self) {
        self.stop_token_loops().await;
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks.drain(..) {
            task.await.unwrap();
        }
    }

    /// After recovery: every refresh the client was told of stands (the newest token works,
    /// the one before it is spent), and every sign-up told "ready" is in the database.
    pub(super) async fn check_writes(&self, site: &Site, db: &Db<'_>, findings: &Findings) {
        for chain in &self.chains {
            let chain = std::mem::take(&mut *chain.lock().unwrap());
            if let Some(lost) = &chain.lost {
                findings.check(false, || format!("a refresh token was refused: {lost}"));
                continue;
            }
            if chain.unknown {
                continue;
            }
            let newest = site.refresh(&chain.current).await.unwrap_or_default();
            findings.check(newest["status"] == 200, || {
                format!(
                    "the newest refresh token (after {} rotations) no longer works: {newest}",
                    chain.spent.len()
                )
            });
            if let Some(spent) = chain.spent.last() {
                let again = site.refresh(spent).await.unwrap_or_default();
                findings.check(again["error"] == "invalid_grant", || {
                    format!("a rotated refresh token worked again: {again}")
                });
            }
        }
        let signed_up = self.signed_up.lock().unwrap().clone();
        for username in signed_up {
            let rows = db
                .count(
                    "users",
                    &format!("username = '{username}' AND pin_hash IS NOT NULL"),
                )
                .await;
            findings.check(rows == 1, || {
                format!("{username} was told the account is ready, but it is not there")
            });
        }
    }
}

/// Between one request of a loop and the next.
async fn pause() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}
