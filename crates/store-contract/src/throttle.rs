use idp_core::store::Stores;

pub async fn throttle_counts_failures_in_a_window(stores: &Stores) {
    let throttle = &stores.throttle;
    assert_eq!(
        throttle.record_attempt("k", 100, 60).await.unwrap(),
        (0, None)
    );
    assert_eq!(
        throttle.record_attempt("k", 130, 60).await.unwrap(),
        (1, Some(100))
    );
    assert_eq!(
        throttle.record_attempt("k", 170, 60).await.unwrap(),
        (1, Some(130)),
        "the first fell out of the window"
    );
    throttle.forget_latest("k").await.unwrap();
    assert_eq!(
        throttle.record_attempt("k", 171, 60).await.unwrap(),
        (1, Some(130)),
        "the latest was taken back"
    );
    assert_eq!(
        throttle.record_attempt("other", 170, 60).await.unwrap(),
        (0, None)
    );
    throttle.clear("k").await.unwrap();
    assert_eq!(
        throttle.record_attempt("k", 172, 60).await.unwrap(),
        (0, None)
    );
}

pub async fn throttle_backlogs_drain_in_real_time(stores: &Stores) {
    let throttle = &stores.throttle;
    // Milliseconds; long enough that Redis keeps the keys while the test runs.
    let now = 1_000_000_000;
    assert_eq!(throttle.backlog_until("b", now).await.unwrap(), now);
    assert_eq!(
        throttle
            .add_to_backlog("b", now, 500_000, None)
            .await
            .unwrap(),
        (true, now + 500_000)
    );
    assert_eq!(
        throttle
            .add_to_backlog("b", now + 100_000, 500_000, Some(now + 1_000_000))
            .await
            .unwrap(),
        (true, now + 1_000_000),
        "it adds to what has not drained yet"
    );
    assert_eq!(
        throttle
            .add_to_backlog("b", now + 200_000, 500_000, Some(now + 1_200_000))
            .await
            .unwrap(),
        (false, now + 1_000_000),
        "past the most, nothing is added"
    );
    assert_eq!(
        throttle.backlog_until("b", now).await.unwrap(),
        now + 1_000_000
    );
    // What was reserved and did not count is given back, never below now.
    throttle
        .give_back_to_backlog("b", now + 200_000, 500_000)
        .await
        .unwrap();
    assert_eq!(
        throttle.backlog_until("b", now).await.unwrap(),
        now + 500_000
    );
    throttle
        .give_back_to_backlog("b", now + 200_000, 900_000)
        .await
        .unwrap();
    assert!(throttle.backlog_until("b", now + 200_000).await.unwrap() <= now + 200_000);
    throttle
        .add_to_backlog("b", now + 200_000, 1_000_000, None)
        .await
        .unwrap();
    assert_eq!(
        throttle.backlog_until("b", now + 200_000).await.unwrap(),
        now + 1_200_000,
        "no credit was left behind"
    );
    // Far more than the 64 attempts the window counts remember: one number holds them all.
    for _ in 0..100 {
        throttle
            .add_to_backlog("many", now, 10_000, None)
            .await
            .unwrap();
    }
    assert_eq!(
        throttle.backlog_until("many", now).await.unwrap(),
        now + 1_000_000
    );
    assert_eq!(
        throttle
            .add_to_backlog("b", now + 5_000_000, 500_000, None)
            .await
            .unwrap(),
        (true, now + 5_500_000),
        "a drained backlog starts again from now"
    );
    assert_eq!(throttle.backlog_until("other", 7).await.unwrap(), 7);
}

pub async fn throttle_counts_several_keys_at_once(stores: &Stores) {
    let throttle = &stores.throttle;
    assert_eq!(
        throttle.record_attempts(&[], 100, 60).await.unwrap(),
        vec![]
    );
    assert_eq!(
        throttle
            .record_attempts(&["a", "b"], 100, 60)
            .await
            .unwrap(),
        vec![(0, None), (0, None)]
    );
    assert_eq!(
        throttle.record_attempts(&["b"], 130, 60).await.unwrap(),
        vec![(1, Some(100))]
    );
    assert_eq!(
        throttle
            .record_attempts(&["a", "b"], 150, 60)
            .await
            .unwrap(),
        vec![(1, Some(100)), (2, Some(130))],
        "each key answers for itself, in the order asked"
    );
    // As one key alone: a key counted twice in one step sees its first attempt.
    assert_eq!(
        throttle
            .record_attempts(&["c", "c"], 150, 60)
            .await
            .unwrap(),
        vec![(0, None), (1, Some(150))]
    );
    throttle
        .clear_and_forget_latest(&["a"], &["b", "c"])
        .await
        .unwrap();
    assert_eq!(
        throttle
            .record_attempts(&["a", "b", "c"], 151, 60)
            .await
            .unwrap(),
        vec![(0, None), (2, Some(130)), (1, Some(150))],
        "`a` was cleared; the latest of `b` and of `c` were taken back"
    );
    throttle.clear_and_forget_latest(&[], &[]).await.unwrap();
    assert_eq!(
        throttle.record_attempts(&["b"], 300, 60).await.unwrap(),
        vec![(0, None)],
        "every earlier attempt fell out of the window"
    );
    // A single attempt is counted as one of many is.
    assert_eq!(
        throttle.record_attempt("b", 301, 60).await.unwrap(),
        (1, Some(300))
    );
}
