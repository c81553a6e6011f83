use super::*;

fn small_pool(max: usize) -> HashPool {
    let params = HashParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    HashPool::new(params, max, Duration::from_secs(5)).expect("valid params")
}

/// Starts a hash that keeps its slot until `release` is sent; answers once it runs.
async fn hold_a_slot(
    pool: &HashPool,
) -> (
    std::sync::mpsc::Sender<()>,
    tokio::task::JoinHandle<Result<(), HashError>>,
) {
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let running = pool.running() + 1;
    let busy = {
        let pool = pool.clone();
        tokio::spawn(async move {
            pool.run(Turn::New, move || {
                blocked.recv().map_err(|e| HashError::Failed(e.to_string()))
            })
            .await
        })
    };
    while pool.running() < running {
        tokio::task::yield_now().await;
    }
    (release, busy)
}

#[tokio::test]
async fn hashes_verify_and_reject() {
    let pool = small_pool(2);
    let phc = pool.hash("correct horse".into(), None).await.expect("hash");
    assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
    assert!(
        pool.verify(Turn::New, "correct horse".into(), phc.clone(), None)
            .await
            .expect("verify")
    );
    assert!(
        !pool
            .verify(Turn::New, "wrong horse".into(), phc, None)
            .await
            .expect("verify")
    );
}

#[tokio::test]
async fn pepper_is_part_of_the_hash() {
    let pool = small_pool(2);
    let pepper: Pepper = Arc::from(&b"server-side secret, 32 bytes...."[..]);
    let phc = pool
        .hash("482916".into(), Some(pepper.clone()))
        .await
        .expect("hash");
    assert!(
        pool.verify(Turn::New, "482916".into(), phc.clone(), Some(pepper))
            .await
            .expect("verify")
    );
    // The same PIN without the server-side key does not verify: a stolen database alone
    // cannot be brute-forced offline.
    assert!(
        !pool
            .verify(Turn::New, "482916".into(), phc.clone(), None)
            .await
            .expect("verify")
    );
    let other: Pepper = Arc::from(&b"another secret, also 32 bytes..."[..]);
    assert!(
        !pool
            .verify(Turn::New, "482916".into(), phc, Some(other))
            .await
            .expect("verify")
    );
}

#[tokio::test]
async fn a_new_hash_that_could_not_start_in_time_is_refused_at_once() {
    let params = HashParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    let pool = HashPool::new(params, 1, Duration::from_secs(60)).expect("pool");
    let phc = pool.hash("x".into(), None).await.expect("hash");
    // As if a hash took 70 s here, against a 60 s timeout.
    let an_hour = Duration::from_secs(3600).as_nanos() as u64;
    pool.takes
        .store(Duration::from_secs(70).as_nanos() as u64, Ordering::Relaxed);
    let (release, busy) = hold_a_slot(&pool).await;
    // Behind a running hash alone, a new one may start at any moment: it waits.
    let first = {
        let (pool, phc) = (pool.clone(), phc.clone());
        tokio::spawn(async move { pool.verify(Turn::New, "x".into(), phc, None).await })
    };
    while pool.waiting() < 1 {
        tokio::task::yield_now().await;
    }
    // Behind one waiting as well, it could not start for at least 70 s: refused at once,
    // not after 60 s.
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        pool.verify(Turn::New, "x".into(), phc.clone(), None),
    )
    .await
    .expect("answered before the queue timeout");
    assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
    // A sign-in's PIN is not refused so: it goes ahead of the new hash waiting.
    let continuing = {
        let (pool, phc) = (pool.clone(), phc.clone());
        tokio::spawn(async move { pool.verify(Turn::Continuing, "x".into(), phc, None).await })
    };
    while pool.waiting() < 2 {
        tokio::task::yield_now().await;
    }
    release.send(()).expect("the busy hash is waiting");
    busy.await.expect("joined").expect("ran");
    assert!(continuing.await.expect("joined").expect("verified"));
    assert!(first.await.expect("joined").expect("verified"));
    // The time learnt from real hashes brings the one set above down.
    let learnt = Duration::from_nanos(pool.takes.load(Ordering::Relaxed));
    assert!(learnt < Duration::from_secs(70), "{learnt:?}");
    // However long a hash is thought to take, an idle pool refuses nothing.
    pool.takes.store(an_hour, Ordering::Relaxed);
    assert!(
        pool.verify(Turn::New, "x".into(), phc, None)
            .await
            .expect("verified")
    );
}

#[tokio::test]
async fn a_hash_verifies_at_the_parameters_it_names() {
    // Made elsewhere, at parameters, algorithms and versions other than the pool's own:
    // hashes made before a change of settings keep verifying.
    let pool = small_pool(1);
    let pepper: Pepper = Arc::from(&b"server-side secret, 32 bytes...."[..]);
    let made = [
        (Algorithm::Argon2id, Version::V0x13, 2048, 2, 2, None),
        // The pool's own block count in two lanes: its kept memory serves this one too.
        (Algorithm::Argon2id, Version::V0x13, 1024, 1, 2, None),
        (Algorithm::Argon2d, Version::V0x10, 1024, 3, 1, None),
        (
            Algorithm::Argon2i,
            Version::V0x13,
            1024,
            1,
            1,
            Some(pepper.clone()),
        ),
    ];
    for (algorithm, version, m, t, p, key) in made {
        let params = Params::new(m, t, p, None).expect("params");
        let argon = keyed(algorithm, version, params, key.as_deref()).expect("argon2");
        let phc = argon
            .hash_password(b"correct horse")
            .expect("hash")
            .to_string();
        // In turn, so that memory kept from one verification serves the next.
        for (typed, expected) in [("wrong horse", false), ("correct horse", true)].repeat(2) {
            let verified = pool
                .verify(Turn::New, typed.into(), phc.clone(), key.clone())
                .await
                .expect("verify");
            assert_eq!(verified, expected, "{phc} against {typed:?}");
        }
    }
    // The pool's own size is kept between verifications, another size is not; a new hash
    // allocates its own memory, so it lets the kept buffer go first.
    assert_eq!(pool.memory.kept.lock().expect("lock").len(), 1);
    let own = pool.hash("x".into(), None).await.expect("hash");
    assert!(pool.memory.kept.lock().expect("lock").is_empty());
    assert!(
        pool.verify(Turn::New, "x".into(), own, None)
            .await
            .expect("verify")
    );
    let kept = pool.memory.kept.lock().expect("lock");
    assert_eq!(kept.len(), 1);
    assert!(kept.iter().all(|m| m.len() == 1024));
}

#[tokio::test]
async fn a_hash_made_at_other_parameters_is_made_again_at_the_current_ones() {
    let pool = small_pool(1);
    let pepper: Pepper = Arc::from(&b"server-side secret, 32 bytes...."[..]);
    let current = pool
        .hash("482916".into(), Some(pepper.clone()))
        .await
        .expect("hash");
    assert!(pool.is_current(&current));
    assert_eq!(
        pool.rehash_if_outdated("482916".into(), &current, Some(pepper.clone()))
            .await
            .expect("rehash"),
        None
    );
    let other = HashParams {
        memory_kib: 2048,
        iterations: 1,
        parallelism: 1,
    };
    let before = HashPool::new(other, 1, Duration::from_secs(5))
        .expect("pool")
        .hash("482916".into(), Some(pepper.clone()))
        .await
        .expect("hash");
    assert!(!pool.is_current(&before));
    assert!(!pool.is_current("not a phc string"));
    let after = pool
        .rehash_if_outdated("482916".into(), &before, Some(pepper.clone()))
        .await
        .expect("rehash")
        .expect("outdated");
    assert!(
        after.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
        "{after}"
    );
    assert!(pool.is_current(&after));
    assert!(
        pool.verify(Turn::New, "482916".into(), after, Some(pepper.clone()))
            .await
            .expect("verify"),
        "keyed with the same pepper"
    );
    // A busy pool leaves it for another time rather than queue it.
    let (release, busy) = hold_a_slot(&pool).await;
    let result = pool
        .rehash_if_outdated("482916".into(), &before, Some(pepper))
        .await;
    assert!(matches!(result, Err(HashError::Busy)), "{result:?}");
    release.send(()).expect("the busy hash is waiting");
    busy.await.expect("joined").expect("ran");
}

#[tokio::test]
async fn a_hash_without_its_output_is_malformed() {
    let pool = small_pool(1);
    let phc = pool.hash("x".into(), None).await.expect("hash");
    let (without, _) = phc.rsplit_once('$').expect("a PHC string");
    let result = pool
        .verify(Turn::New, "x".into(), without.into(), None)
        .await;
    assert!(matches!(result, Err(HashError::Malformed)), "{without}");
}

#[tokio::test]
async fn malformed_hash_is_an_error_not_a_match() {
    let pool = small_pool(1);
    let result = pool
        .verify(Turn::New, "x".into(), "not a phc string".into(), None)
        .await;
    assert!(matches!(result, Err(HashError::Malformed)));
}

#[tokio::test]
async fn a_full_pool_refuses_after_the_queue_timeout() {
    let params = HashParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    let pool = HashPool::new(params, 1, Duration::from_millis(10)).expect("pool");
    let held = pool.slots.clone().acquire_owned().await.expect("permit");
    let result = pool.hash("x".into(), None).await;
    assert!(matches!(result, Err(HashError::Busy)));
    drop(held);
    assert!(pool.hash("x".into(), None).await.is_ok());
}

#[tokio::test]
async fn continuing_work_goes_ahead_of_new_work_in_the_queue() {
    let pool = small_pool(1);
    let done = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (release, busy) = hold_a_slot(&pool).await;
    // Three new hashes, then one that continues work under way, queue in that order.
    let mut queued = Vec::new();
    for (name, turn) in [
        ("new 1", Turn::New),
        ("new 2", Turn::New),
        ("new 3", Turn::New),
        ("continuing", Turn::Continuing),
    ] {
        let (queuer, done) = (pool.clone(), done.clone());
        let before = pool.waiting();
        queued.push(tokio::spawn(async move {
            queuer
                .run(turn, move || {
                    done.lock()
                        .map_err(|e| HashError::Failed(e.to_string()))?
                        .push(name);
                    Ok(())
                })
                .await
        }));
        while pool.waiting() == before {
            tokio::task::yield_now().await;
        }
    }
    release.send(()).expect("the busy hash is waiting");
    busy.await.expect("joined").expect("ran");
    for task in queued {
        task.await.expect("joined").expect("ran");
    }
    // Only the new hash already queued for a slot is served before the continuing one.
    let order = done.lock().expect("lock").clone();
    assert_eq!(order, ["new 1", "continuing", "new 2", "new 3"]);
}

#[tokio::test]
async fn a_decoy_is_a_current_hash_that_nothing_matches() {
    let pool = small_pool(2);
    let decoy = pool.decoy();
    assert!(pool.is_current(&decoy), "{decoy}");
    assert_ne!(decoy, pool.decoy());
    let real = pool.hash("correct horse".into(), None).await.expect("hash");
    // The same form as a real hash: the parameters, a 16-byte salt and a 32-byte output.
    let shape = |phc: &str| phc.split('$').map(str::len).collect::<Vec<_>>();
    assert_eq!(shape(&decoy), shape(&real));
    for secret in ["correct horse", "", "482916"] {
        assert!(
            !pool
                .verify(Turn::New, secret.into(), decoy.clone(), None)
                .await
                .expect("a decoy verifies like any hash")
        );
    }
}
