//! Running a scenario for its time: every worker prepared before the clock starts, then
//! either a closed loop (each worker iterates as fast as answers come) or, with `--rate`, an
//! open loop (iterations start at that rate, at most `--concurrency` at once).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Failure;
use crate::args::Args;
use crate::client::{Shared, discover};
use crate::report::Tally;
use crate::scenarios::{Worker, iterate, prepare};

async fn timed(shared: &Shared, worker: &mut Worker) {
    let started = Instant::now();
    match iterate(shared, worker).await {
        Ok(()) => {
            shared.tally.finished(started.elapsed());
        }
        Err(why) => shared.tally.fail(why),
    }
}

pub async fn run(args: Args) -> Result<Value, Failure> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(args.concurrency.max(1) * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let endpoints = discover(&http, &args.base).await?;
    let shared = Arc::new(Shared {
        args: args.clone(),
        http,
        endpoints,
        tally: Tally::default(),
    });
    // Every worker prepares (signs in, fetches its token) before the clock starts.
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let mut worker = Worker::default();
        if args.rate.is_none() {
            prepare(&shared, &mut worker).await?;
        }
        workers.push(worker);
    }
    shared.tally.clear_statuses();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    match args.rate {
        None => {
            let tasks: Vec<_> = workers
                .into_iter()
                .map(|mut worker| {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        while Instant::now() < deadline {
                            timed(&shared, &mut worker).await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.map_err(|e| e.to_string())?;
            }
        }
        Some(rate) => {
            // Open loop: one iteration every 1/rate seconds, at most `concurrency` in flight;
            // an iteration that finds no free slot is counted as dropped by the generator.
            let slots = Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut tasks = Vec::new();
            while Instant::now() < deadline {
                ticker.tick().await;
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    shared.tally.fail("generator saturated (not sent)".into());
                    continue;
                };
                let shared = shared.clone();
                tasks.push(tokio::spawn(async move {
                    let mut worker = Worker::default();
                    timed(&shared, &mut worker).await;
                    drop(permit);
                }));
            }
            for task in tasks {
                task.await.map_err(|e| e.to_string())?;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(shared.tally.report(&args.scenario, elapsed))
}
