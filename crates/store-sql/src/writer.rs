//! How SQLite writes reach the disk: in turn, flushed together, and, for the statements on the
//! calling thread's connections (see `direct`), committed together.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use idp_core::StoreError;
use rusqlite::Connection;

use crate::direct::{self, Direct, Ran, in_file};

/// SQLite writes, in two parts. Writes take turns within this process, in order, so that none
/// waits in SQLite's busy handler (which sleeps for milliseconds at a time). And they reach the
/// disk together: a commit does not wait for the disk by itself (`synchronous = NORMAL`); each
/// write then waits for one `fdatasync` of the write-ahead log that covers it, shared with every
/// write that committed meanwhile (group commit). An acknowledged write survives a power cut
/// as it would with `synchronous = FULL`, at one flush per group of writes instead of one each.
pub struct Writer {
    pub turn: Arc<tokio::sync::Mutex<()>>,
    /// The database file and its write-ahead log (`None` for an in-memory database).
    pub files: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Writes committed so far; each write's ticket is this count just after its commit.
    committed: AtomicU64,
    /// The highest ticket known to be on disk.
    pub flushed: tokio::sync::Mutex<u64>,
    /// Flushes so far.
    pub flushes: AtomicU64,
    /// The ticket of the write after which the log was last checkpointed.
    pub checkpointed: AtomicU64,
    /// Whether a checkpoint is under way.
    pub checkpointing: Arc<AtomicBool>,
}

/// Writes between checkpoints of the write-ahead log, which the calling thread's connections
/// leave to the writer (see `direct`): about as many pages as SQLite's own default of 1000.
pub const CHECKPOINT_EVERY: u64 = 500;

/// Makes the write-ahead log's data durable, and its directory entry on the first flush of
/// this process (the pool keeps a connection open, so the log is not deleted and made anew
/// while it runs).
fn sync_wal(wal: &std::path::Path, first: bool) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(file) => file.sync_data()?,
        // No log: the last connection checkpointed it into the database and synced.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    }
    if first && let Some(dir) = wal.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl Writer {
    /// Counts `writes` just committed, in the writers' turn: the ticket that `flush` takes
    /// to make them durable.
    pub fn count(&self, writes: u64) -> u64 {
        self.committed.fetch_add(writes, Ordering::AcqRel) + writes
    }

    pub fn new(database: &std::path::Path) -> Self {
        let name = database.as_os_str();
        let files = in_file(database).then(|| {
            let mut wal = name.to_owned();
            wal.push("-wal");
            (database.to_owned(), std::path::PathBuf::from(wal))
        });
        Self {
            turn: Arc::new(tokio::sync::Mutex::new(())),
            files,
            committed: AtomicU64::new(0),
            flushed: tokio::sync::Mutex::new(0),
            flushes: AtomicU64::new(0),
            checkpointed: AtomicU64::new(0),
            checkpointing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts a checkpoint of the write-ahead log once `ticket` is `CHECKPOINT_EVERY` writes
    /// past the last one, unless one is under way. It takes the writers' turn, so that it
    /// copies the whole log and the next write starts the log afresh (a checkpoint racing
    /// writers never catches up, and the log would grow without end), and runs on a blocking
    /// thread. No write waits for it but those that come meanwhile: what it copies is already
    /// durable in the log.
    pub fn checkpoint_after(&self, ticket: u64) {
        let Some((database, _)) = &self.files else {
            return;
        };
        if ticket < self.checkpointed.load(Ordering::Relaxed) + CHECKPOINT_EVERY
            || self.checkpointing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        self.checkpointed.store(ticket, Ordering::Relaxed);
        let (database, checkpointing) = (database.clone(), self.checkpointing.clone());
        let turn = self.turn.clone();
        tokio::spawn(async move {
            let _turn = turn.lock_owned().await;
            let copied = tokio::task::spawn_blocking(move || direct::checkpoint(&database)).await;
            match copied.map_err(StoreError::backend).and_then(|done| done) {
                Ok(true) => {}
                Ok(false) => tracing::debug!("the write-ahead log was checkpointed in part"),
                Err(error) => {
                    tracing::warn!(%error, "checkpointing the database's write-ahead log failed");
                }
            }
            checkpointing.store(false, Ordering::Release);
        });
    }

    /// Returns once the write with `ticket` is on disk: at once when a flush that began after
    /// it has finished, else after a flush of its own, which covers every write before it.
    pub async fn flush(&self, ticket: u64) -> Result<(), StoreError> {
        let mut flushed = self.flushed.lock().await;
        if *flushed >= ticket {
            return Ok(());
        }
        let upto = self.committed.load(Ordering::Acquire);
        if let Some((_, wal)) = self.files.clone() {
            let first = self.flushes.load(Ordering::Relaxed) == 0;
            let synced = tokio::task::spawn_blocking(move || sync_wal(&wal, first))
                .await
                .map_err(StoreError::backend)?;
            if let Err(error) = synced {
                // Committed writes are visible but may not be on disk, and a later flush
                // cannot be trusted to cover them: stop, and let SQLite recover at restart.
                tracing::error!(%error, "flushing the database's write-ahead log failed; stopping");
                std::process::abort();
            }
        }
        self.flushes.fetch_add(1, Ordering::Relaxed);
        *flushed = upto;
        Ok(())
    }
}

/// What became of a batch of writes (see [`Batch`]).
pub enum Landed {
    /// Committed, and on disk.
    Durable,
    /// Another process holds the database's write lock: nothing was written.
    Busy,
    /// Failed, for this reason: before the commit (nothing was written), or after it, when
    /// whether it reached the disk is unknown.
    Failed(String),
    /// The database cannot be written now (the disk is full, the file read-only): nothing
    /// was written, and the same writes may succeed later.
    CannotWrite(String),
}

/// Writes in one transaction at most: a batch runs on the runtime's thread, holding the
/// writers' turn.
const MOST_IN_A_BATCH: usize = 256;

/// Hands a write's own outcome to whoever waits for it, once its batch has landed. (A write
/// may also tell what its statements came to as they run, inside the transaction, and its
/// durability through this: see `SqlStore::write_hot_early`.)
pub type Deliver = Box<dyn FnOnce(&Landed) + Send>;

/// One write of a batch: run on the batch's connection, in its transaction (`None` when the
/// batch could not start). An error leaves the transaction in a state that must be rolled back
/// whole.
pub type Job = Box<dyn FnOnce(Option<&Connection>) -> rusqlite::Result<Deliver> + Send>;

/// Writes on the calling thread's connections, committed together. A write is queued; one
/// task commits whatever is queued in one transaction (each write in a savepoint of its own,
/// so that one that fails changes nothing and costs the others nothing), waits for the flush
/// that makes it durable, and answers every write in it. Writes that come while it waits form
/// the next batch. A transaction costs locks, a commit record and the pages every write
/// touches (the ends of the table and of its expiry index), so under load most of that is paid
/// once per batch instead of once per write. Alone, a write is its own batch and waits no
/// longer than before.
pub struct Batch {
    direct: Arc<Direct>,
    writer: Arc<Writer>,
    queue: std::sync::Mutex<Vec<Job>>,
    /// Whether the committing task runs.
    running: AtomicBool,
    /// Transactions committed so far.
    pub transactions: AtomicU64,
}

impl Batch {
    pub fn new(direct: Arc<Direct>, writer: Arc<Writer>) -> Self {
        Self {
            direct,
            writer,
            queue: std::sync::Mutex::new(Vec::new()),
            running: AtomicBool::new(false),
            transactions: AtomicU64::new(0),
        }
    }

    /// Queues `job`; the committing task runs it, starting if it is not running. The task is
    /// not the caller's: a request that goes away leaves the batch it joined whole.
    pub fn submit(self: &Arc<Self>, job: Job) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(job);
        if !self.running.swap(true, Ordering::AcqRel) {
            tokio::spawn(self.clone().commit_queued());
        }
    }

    async fn commit_queued(self: Arc<Self>) {
        // Should the task panic all the same, the next submission starts it again.
        struct Stopped<'a>(&'a AtomicBool);
        impl Drop for Stopped<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.store(false, Ordering::Release);
                }
            }
        }
        let _stopped = Stopped(&self.running);
        loop {
            let turn = self.writer.turn.lock().await;
            // Writes queued while the turn was taken (by a flush of writes through sqlx, or a
            // checkpoint) join this batch.
            let jobs: Vec<Job> = {
                let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                let count = queue.len().min(MOST_IN_A_BATCH);
                queue.drain(..count).collect()
            };
            if jobs.is_empty() {
                drop(turn);
                self.running.store(false, Ordering::Release);
                // A write queued after the queue was found empty, and before the store above,
                // did not start the task: take it on, unless a new task did.
                let more = !self
                    .queue
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_empty();
                if !more || self.running.swap(true, Ordering::AcqRel) {
                    return;
                }
                continue;
            }
            let count = jobs.len() as u64;
            let (deliveries, landed) = self.commit(jobs);
            let ticket = matches!(landed, Landed::Durable).then(|| self.writer.count(count));
            drop(turn);
            let landed = match ticket {
                Some(ticket) => match self.writer.flush(ticket).await {
                    Ok(()) => landed,
                    Err(error) => Landed::Failed(format!(
                        "committed, but whether it reached the disk is unknown: {error}"
                    )),
                },
                None => landed,
            };
            for deliver in deliveries {
                deliver(&landed);
            }
            if let Some(ticket) = ticket {
                self.writer.checkpoint_after(ticket);
            }
        }
    }

    /// Runs `jobs` in one transaction that takes the write lock at once. Jobs that did not run
    /// (the database was locked, or an earlier job broke the transaction) are told so.
    fn commit(&self, jobs: Vec<Job>) -> (Vec<Deliver>, Landed) {
        let mut deliveries = Vec::with_capacity(jobs.len());
        let mut jobs = jobs.into_iter();
        let ran = self.direct.run(|c| {
            c.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
            let done = jobs
                .by_ref()
                .try_for_each(|job| {
                    // A write that panics breaks the batch, not the task that commits them.
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Some(c))))
                        .unwrap_or_else(|_| Err(panicked()))
                        .map(|deliver| deliveries.push(deliver))
                })
                .and_then(|()| c.prepare_cached("COMMIT")?.execute([]).map(drop));
            if done.is_err() {
                // A connection left in its transaction is not kept (see `Direct::run`).
                let _ = c.execute_batch("ROLLBACK");
            }
            done
        });
        for job in jobs {
            if let Ok(deliver) = job(None) {
                deliveries.push(deliver);
            }
        }
        let landed = match ran {
            Ok(Ran::Done(())) => {
                self.transactions.fetch_add(1, Ordering::Relaxed);
                Landed::Durable
            }
            Ok(Ran::Busy) => Landed::Busy,
            Err(error) => match error {
                StoreError::CannotWrite(why) => {
                    tracing::warn!(error = %why, "the database cannot be written now; a batch of writes was refused");
                    Landed::CannotWrite(why)
                }
                error => {
                    tracing::error!(%error, "a batch of writes failed; none of it was written");
                    Landed::Failed(error.to_string())
                }
            },
        };
        (deliveries, landed)
    }
}

fn panicked() -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::other("a write panicked")))
}

/// Runs `work` in a savepoint of the batch's transaction: what it wrote stays if it succeeds,
/// and is undone if it fails. The outer error means the transaction itself is broken.
pub fn in_savepoint<T>(
    c: &Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<rusqlite::Result<T>> {
    let step = |sql: &str| c.prepare_cached(sql)?.execute([]).map(drop);
    step("SAVEPOINT write")?;
    let done = work(c);
    if done.is_err() {
        step("ROLLBACK TO write")?;
    }
    step("RELEASE write")?;
    Ok(done)
}
