//! SQLite statements on the calling thread.
//!
//! sqlx runs each SQLite connection on a thread of its own, so every statement costs two
//! thread switches: more than SQLite spends on a point lookup or a one-row write. The
//! statements the token endpoint runs on every request run here instead, through rusqlite on
//! the same SQLite library, on connections kept for reuse.
//!
//! Nothing here waits. A connection never waits for a lock: when another process (the command
//! line, say) holds the database, a statement answers [`Ran::Busy`] and the caller runs it
//! through sqlx, whose threads may wait. Nor does a connection checkpoint the write-ahead log,
//! which would flush the disk on the runtime's thread; [`checkpoint`] does that on a blocking
//! thread, called by the writer once enough has been written.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use idp_core::StoreError;
use rusqlite::{Connection, ErrorCode, OpenFlags};

/// Connections kept for reuse beyond this many are closed. As many are in use at once as
/// threads run statements: the runtime's, one per core.
fn keep() -> usize {
    std::thread::available_parallelism().map_or(8, |cores| (2 * cores.get()).max(8))
}

/// What a statement run here came to.
pub enum Ran<T> {
    Done(T),
    /// The database is locked by another process: nothing was done.
    Busy,
}

pub struct Direct {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    keep: usize,
}

/// Settings of each connection: never wait (see the module's comment), the same durability,
/// foreign keys and bound on the write-ahead log's size (4 MiB: what a checkpoint leaves of the
/// file, so that a burst of writes does not keep its space) as sqlx's connections, and no
/// automatic checkpoint.
const PRAGMAS: &str = "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
     PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 4194304;";

fn open(path: &Path) -> rusqlite::Result<Connection> {
    // Each connection is used by one thread at a time: SQLite's own mutexes are not needed.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(std::time::Duration::ZERO)?;
    connection.execute_batch(PRAGMAS)?;
    Ok(connection)
}

/// A store error for what rusqlite reported.
pub fn failed(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation)
            if matches!(
                error.sqlite_error().map(|e| e.extended_code),
                Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
                    | Some(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
            ) =>
        {
            StoreError::Conflict("already exists")
        }
        _ if error
            .sqlite_error()
            .is_some_and(|e| cannot_write_now(e.extended_code)) =>
        {
            StoreError::CannotWrite(error.to_string())
        }
        _ => StoreError::backend(error),
    }
}

/// Whether a SQLite result code (extended or primary) means another connection holds the
/// database (for sqlx's connections, past their busy timeout).
pub fn busy_now(code: i32) -> bool {
    matches!(
        code & 0xff,
        rusqlite::ffi::SQLITE_BUSY | rusqlite::ffi::SQLITE_LOCKED
    )
}

/// Whether a SQLite result code (extended or primary) means the database cannot be written
/// now but may be later, with nothing changed: the disk is full, the file or its directory is
/// read-only or cannot be opened, or the disk failed a read or write.
pub fn cannot_write_now(code: i32) -> bool {
    matches!(
        code & 0xff,
        rusqlite::ffi::SQLITE_FULL
            | rusqlite::ffi::SQLITE_READONLY
            | rusqlite::ffi::SQLITE_IOERR
            | rusqlite::ffi::SQLITE_CANTOPEN
    )
}

impl Direct {
    /// Statements on the database file at `path`, which sqlx has opened (in WAL mode) and
    /// migrated; connections are opened when first needed.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            keep: keep(),
        }
    }

    /// Runs `work` on a kept connection, on this thread. A statement that found the database
    /// locked makes it [`Ran::Busy`]; `work` must then have changed nothing (one statement, or
    /// a transaction it rolled back).
    pub fn run<T>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<Ran<T>, StoreError> {
        let kept = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let connection = match kept {
            Some(connection) => connection,
            None => match open(&self.path) {
                Ok(connection) => connection,
                Err(error) if is_busy(&error) => return Ok(Ran::Busy),
                Err(error) => return Err(failed(error)),
            },
        };
        let outcome = work(&connection);
        if connection.is_autocommit() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < self.keep {
                idle.push(connection);
            }
        }
        match outcome {
            Ok(done) => Ok(Ran::Done(done)),
            Err(error) if is_busy(&error) => Ok(Ran::Busy),
            Err(error) => Err(failed(error)),
        }
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Copies what the write-ahead log holds into the database, without waiting for readers or
/// writers (a passive checkpoint), so that the next write can start the log afresh. Blocks:
/// it flushes the disk. Whether it copied the whole log: a reader still using an older part,
/// or another process writing, leaves the rest to the next checkpoint.
pub fn checkpoint(path: &Path) -> Result<bool, StoreError> {
    let connection = open(path).map_err(failed)?;
    let (busy, log, copied): (i64, i64, i64) = connection
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .map_err(failed)?;
    Ok(busy == 0 && copied >= log)
}

/// Whether `path` names a database in a file (not in memory: sqlx names an in-memory one
/// `file:sqlx-in-memory-N`).
pub(crate) fn in_file(path: &std::path::Path) -> bool {
    let name = path.as_os_str();
    !name.is_empty() && name != ":memory:" && !name.to_string_lossy().starts_with("file:")
}
