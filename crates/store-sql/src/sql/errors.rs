//! What a database error means for the caller: an outage (503), a conflict, or corruption.

use super::*;

pub(super) fn backend(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict("already exists")
        }
        // SQLite (its codes are numbers; PostgreSQL's below are SQLSTATEs, some of them all
        // digits too): the disk is full, the file read-only or unreachable; or another process
        // held the database past the busy timeout.
        sqlx::Error::Database(db)
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() =>
        {
            match db.code().and_then(|code| code.parse::<i32>().ok()) {
                Some(code) if direct::cannot_write_now(code) => {
                    StoreError::CannotWrite(error.to_string())
                }
                Some(code) if direct::busy_now(code) => StoreError::Unavailable(error.to_string()),
                _ => StoreError::backend(error),
            }
        }
        // PostgreSQL shutting down or starting (57P01, 57P03), out of connections (53300), a
        // connection failure (08...), a statement or lock wait cancelled by its timeout (57014,
        // 55P03), a transaction ended for idling (25P03), or one that lost a race and may
        // simply be tried again (40001, 40P01).
        sqlx::Error::Database(db)
            if db.code().is_some_and(|code| {
                matches!(
                    code.as_ref(),
                    "57P01"
                        | "57P02"
                        | "57P03"
                        | "53300"
                        | "57014"
                        | "40001"
                        | "40P01"
                        | "55P03"
                        | "25P03"
                ) || code.starts_with("08")
            }) =>
        {
            StoreError::Unavailable(error.to_string())
        }
        // PostgreSQL out of disk or memory (53100, 53200), or a server that takes no writes now
        // (25006: a standby after a failover): writes may succeed again once the operator acts.
        sqlx::Error::Database(db)
            if db
                .code()
                .is_some_and(|code| matches!(code.as_ref(), "53100" | "53200" | "25006")) =>
        {
            StoreError::CannotWrite(error.to_string())
        }
        // The database cannot be reached now; it may be back in a moment.
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
        _ => StoreError::backend(error),
    }
}
