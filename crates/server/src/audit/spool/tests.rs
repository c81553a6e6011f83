//! The spool's own rules, without a database: what waits, in what order, and what survives.
use super::*;
use idp_core::model::AuditKind;

/// Event `n`, the same each time it is made (its id too).
fn event(n: i64) -> AuditEvent {
    AuditEvent {
        id: Some(format!("event-{n}")),
        ..AuditEvent::new(AuditKind::PasswordThrottled, 1_700_000_000 + n)
            .origin(Some("192.0.2.1"), Some("Firefox \"quoted\"\nline"))
            .client("portal")
            .detail(format!("event {n}"))
    }
}

/// Takes everything waiting, oldest first, storing each.
fn drain_all(spool: &Spool) -> Vec<AuditEvent> {
    let mut out = Vec::new();
    loop {
        let batch = spool.peek(3);
        if batch.is_empty() {
            return out;
        }
        for (event, place) in batch {
            out.push(event.unwrap());
            spool.stored(place);
        }
        spool.batch_done();
    }
}

#[test]
fn events_wait_in_order_and_leave_once_stored() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path());
    assert_eq!(spool.waiting(), 0);
    for n in 0..7 {
        spool.push(event(n));
    }
    assert_eq!(spool.waiting(), 7);
    assert_eq!(waiting_in(dir.path()).unwrap(), 7);
    // Stored two, then the database refuses again: the rest still wait, in order.
    let batch = spool.peek(2);
    for (_, place) in batch {
        spool.stored(place);
    }
    assert_eq!(spool.waiting(), 5);
    assert_eq!(waiting_in(dir.path()).unwrap(), 5);
    spool.push(event(7));
    let rest = drain_all(&spool);
    assert_eq!(rest, (2..8).map(event).collect::<Vec<_>>());
    assert_eq!(spool.waiting(), 0);
    // Emptied: the file starts over.
    assert_eq!(std::fs::metadata(dir.path().join(FILE)).unwrap().len(), 0);
    assert_eq!(waiting_in(dir.path()).unwrap(), 0);
}

#[test]
fn an_event_the_database_refuses_for_good_is_set_aside_for_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path());
    let refused = idp_core::StoreError::Corrupt("a byte the database does not take".into());
    spool.set_aside(&event(1), &refused);
    spool.set_aside(&event(2), &refused);
    let kept = std::fs::read_to_string(dir.path().join(REJECTED_FILE)).unwrap();
    let kept: Vec<AuditEvent> = kept
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(kept, vec![event(1), event(2)]);
    // Nothing of it waits: the events behind it are not held up.
    assert_eq!(spool.waiting(), 0);
}

#[test]
fn a_spool_left_behind_is_taken_up_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let spool = Spool::open(dir.path());
        for n in 0..5 {
            spool.push(event(n));
        }
        // Two stored before the process stops (no batch end: a crash).
        for (_, place) in spool.peek(2) {
            spool.stored(place);
        }
    }
    // The process stopped while writing a line.
    let mut file = OpenOptions::new()
        .append(true)
        .open(dir.path().join(FILE))
        .unwrap();
    file.write_all(b"{\"at\":17000").unwrap();
    drop(file);
    let spool = Spool::open(dir.path());
    assert_eq!(spool.waiting(), 3);
    spool.push(event(5));
    assert_eq!(
        drain_all(&spool),
        [2, 3, 4, 5].map(event).to_vec(),
        "neither the stored ones again, nor the half-written line"
    );
    drop(spool);
    assert_eq!(Spool::open(dir.path()).waiting(), 0);
}

#[test]
fn a_spool_that_cannot_be_written_keeps_events_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path());
    spool.push(event(0));
    // Writes fail from now on (as on a full disk): the file is open for reading only.
    spool.lock().file = Some(File::open(dir.path().join(FILE)).unwrap());
    for n in 1..4 {
        spool.push(event(n));
    }
    assert_eq!(spool.waiting(), 4);
    assert_eq!(spool.lock().memory.len(), 3);
    assert_eq!(waiting_in(dir.path()).unwrap(), 1);
    // Still appended, in order, the one on disk first.
    assert_eq!(drain_all(&spool), (0..4).map(event).collect::<Vec<_>>());
    assert_eq!(spool.waiting(), 0);
    assert_eq!(spool.dropped(), 0);

    // A spool that cannot even be opened: memory from the start.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(FILE)).unwrap();
    let spool = Spool::open(dir.path());
    for n in 0..3 {
        spool.push(event(n));
    }
    assert_eq!(spool.waiting(), 3);
    assert_eq!(drain_all(&spool), (0..3).map(event).collect::<Vec<_>>());
}

#[test]
fn events_in_memory_go_to_the_file_once_it_can_be_written_again() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path());
    {
        let mut queue = spool.lock();
        queue.file = None;
        queue.disk_retry = Some(Instant::now() + Duration::from_secs(3600));
    }
    spool.push(event(0));
    spool.push(event(1));
    assert_eq!(spool.lock().memory.len(), 2);
    spool.settle();
    assert!(spool.lock().memory.is_empty());
    assert_eq!(waiting_in(dir.path()).unwrap(), 2);
    spool.push(event(2));
    drop(spool);
    let spool = Spool::open(dir.path());
    assert_eq!(drain_all(&spool), (0..3).map(event).collect::<Vec<_>>());
}

#[test]
fn past_the_memory_bound_events_are_counted_as_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path());
    {
        let mut queue = spool.lock();
        queue.file = None;
        queue.disk_retry = Some(Instant::now() + Duration::from_secs(3600));
        queue.memory = (0..IN_MEMORY as i64).map(event).collect();
    }
    spool.waiting.store(IN_MEMORY as u64, Ordering::Release);
    spool.push(event(-1));
    assert_eq!(spool.dropped(), 1);
    assert_eq!(spool.waiting(), IN_MEMORY as u64);
}
