//! The statements both paths run (the pool, and SQLite on the calling thread), and how their
//! arguments go to each.

use super::*;

/// The ephemeral records' statements, shared by both drivers (see `SqlStore::hot`).
pub(super) const PUT_EPHEMERAL: &str = "INSERT INTO ephemeral (kind, id, payload, expires_at)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at";

/// Records an id as used: a row only the first insert makes.
pub(super) const FIRST_USE: &str =
    "INSERT INTO ephemeral (kind, id, payload, expires_at, consumed_at)
     VALUES ($1, $2, '{}', $3, $4)
     ON CONFLICT (kind, id) DO NOTHING";

pub(super) const GET_EPHEMERAL: &str = "SELECT payload FROM ephemeral
     WHERE kind = $1 AND id = $2 AND expires_at > $3 AND consumed_at IS NULL";

pub(super) const SPEND_EPHEMERAL: &str = "UPDATE ephemeral SET consumed_at = $1
     WHERE kind = $2 AND id = $3 AND expires_at > $4 AND consumed_at IS NULL
     RETURNING payload";

pub(super) const SPENT_EPHEMERAL: &str =
    "SELECT payload FROM ephemeral WHERE kind = $1 AND id = $2 AND consumed_at IS NOT NULL";

pub(super) fn parse_ephemeral(payload: String) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(&payload).map_err(|_| corrupt("ephemeral.payload"))
}

/// A parameter of a statement that either driver runs (see `SqlStore::hot`).
#[derive(Clone, Copy)]
pub(super) enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    MaybeText(Option<&'a str>),
    MaybeInt(Option<i64>),
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Text(text) => text.to_sql(),
            Arg::Int(n) => n.to_sql(),
            Arg::MaybeText(text) => text.to_sql(),
            Arg::MaybeInt(n) => n.to_sql(),
        }
    }
}

/// `sql` for sqlx, with `args` bound.
pub(super) fn pooled<'q>(
    sql: &'static str,
    args: &[Arg<'q>],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    args.iter().fold(sqlx::query(sql), |query, arg| match *arg {
        Arg::Text(text) => query.bind(text),
        Arg::Int(n) => query.bind(n),
        Arg::MaybeText(text) => query.bind(text),
        Arg::MaybeInt(n) => query.bind(n),
    })
}

/// A value either driver reads from a column.
pub(super) trait Value:
    rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>
{
}

impl<T> Value for T where
    T: rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>
{
}

/// A row as either driver hands it over, its columns read by name or position.
pub(super) trait Columns {
    type Error;
    fn get<T: Value>(&self, column: impl Column) -> Result<T, Self::Error>;
    /// A yes/no column: BOOLEAN in PostgreSQL, 0 or 1 in SQLite.
    fn flag(&self, column: &str) -> Result<bool, Self::Error>;
}

/// A column's name or position, as both drivers take it.
pub(super) trait Column: rusqlite::RowIndex + sqlx::ColumnIndex<AnyRow> {}

impl<C: rusqlite::RowIndex + sqlx::ColumnIndex<AnyRow>> Column for C {}

impl Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn get<T: Value>(&self, column: impl Column) -> rusqlite::Result<T> {
        rusqlite::Row::get(self, column)
    }

    fn flag(&self, column: &str) -> rusqlite::Result<bool> {
        rusqlite::Row::get(self, column)
    }
}

impl Columns for AnyRow {
    type Error = StoreError;

    fn get<T: Value>(&self, column: impl Column) -> Result<T, StoreError> {
        self.try_get(column).map_err(backend)
    }

    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        flag(self, column)
    }
}

/// What a statement's row is read into, written once for both drivers.
pub(super) trait FromRow: Sized {
    fn from_row<C: Columns>(row: &C) -> Result<Self, C::Error>;
}

impl<A: Value> FromRow for (A,) {
    fn from_row<C: Columns>(row: &C) -> Result<Self, C::Error> {
        Ok((row.get(0)?,))
    }
}

impl<A: Value, B: Value> FromRow for (A, B) {
    fn from_row<C: Columns>(row: &C) -> Result<Self, C::Error> {
        Ok((row.get(0)?, row.get(1)?))
    }
}

impl<A: Value, B: Value, D: Value> FromRow for (A, B, D) {
    fn from_row<C: Columns>(row: &C) -> Result<Self, C::Error> {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    }
}

/// Statements run one after another on one connection: the calling thread's (SQLite in a
/// file, see `direct`), or one of sqlx's, perhaps in a transaction. Steps written once
/// against it (`HotWrite::steps`) run on either.
pub(super) trait Statements {
    type Error;

    /// The first row `sql` answers. A statement that writes (`RETURNING`) is stepped to its
    /// end: it commits only then, and a failure to commit must not pass for success.
    async fn first<R: FromRow>(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<R>, Self::Error>;

    /// Runs `sql`: how many rows it changed.
    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, Self::Error>;

    /// Which of a statement's two forms to run where reads may lock the rows they read (see
    /// `ROTATION_READ`): 1 in a PostgreSQL transaction that asked for it, else 0.
    fn locking(&self) -> usize {
        0
    }
}

/// Statements on the calling thread's connection: none of them waits, so steps written
/// against `Statements` are over at their first poll (see `at_once`).
pub(super) struct OnThread<'c>(pub(super) &'c rusqlite::Connection);

impl Statements for OnThread<'_> {
    type Error = rusqlite::Error;

    async fn first<R: FromRow>(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> rusqlite::Result<Option<R>> {
        let mut statement = self.0.prepare_cached(sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(args))?;
        let first = match rows.next()? {
            Some(row) => Some(R::from_row(row)?),
            None => return Ok(None),
        };
        while rows.next()?.is_some() {}
        Ok(first)
    }

    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> rusqlite::Result<u64> {
        let changed = self
            .0
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(args))?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }
}

/// Statements through sqlx on one connection (a transaction's, or one taken from the pool).
pub(super) struct OnPool<'c> {
    connection: &'c mut sqlx::AnyConnection,
    locking: usize,
}

impl<'c> OnPool<'c> {
    pub(super) fn new(connection: &'c mut sqlx::AnyConnection) -> Self {
        Self {
            connection,
            locking: 0,
        }
    }

    /// Reads lock the rows they read, to the transaction's end (PostgreSQL).
    pub(super) fn locking_reads(connection: &'c mut sqlx::AnyConnection) -> Self {
        Self {
            connection,
            locking: 1,
        }
    }
}

impl Statements for OnPool<'_> {
    type Error = StoreError;

    async fn first<R: FromRow>(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<R>, StoreError> {
        // Every row is read, to the statement's end: a statement that writes outside a
        // transaction commits only then (sqlx's SQLite driver would stop a `RETURNING`
        // statement after the first row, and PostgreSQL may send the first row before it
        // commits), and a failure to commit must not pass unseen, nor an answer that depends
        // on the write leave before it is durable.
        let rows = pooled(sql, args).fetch_all(&mut *self.connection).await;
        let row = rows.map_err(backend)?.into_iter().next();
        row.map(|row| R::from_row(&row)).transpose()
    }

    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let done = pooled(sql, args).execute(&mut *self.connection).await;
        done.map(|done| done.rows_affected()).map_err(backend)
    }

    fn locking(&self) -> usize {
        self.locking
    }
}

/// The outcome of steps run on the calling thread's connection (`OnThread`), whose
/// statements never wait: ready at the first poll.
pub(super) fn at_once<T>(steps: impl Future<Output = rusqlite::Result<T>>) -> rusqlite::Result<T> {
    use std::task::{Context, Poll, Waker};
    match std::pin::pin!(steps).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(done) => done,
        Poll::Pending => {
            debug_assert!(false, "steps on the calling thread waited for something");
            // Dropped unfinished: the savepoint they ran in is rolled back.
            Err(rusqlite::Error::ToSqlConversionFailure(
                "steps on the calling thread waited for something".into(),
            ))
        }
    }
}

/// A write on the token endpoint's path (see `SqlStore::write_hot`), its statements written
/// once: run on the calling thread's connection in a batch of writes committed together, or
/// through sqlx.
pub(super) trait HotWrite: Send + Sync + 'static {
    type Output: Send + 'static;

    /// Whether it is still made when its request went away while it was queued.
    const IF_ABANDONED: IfAbandoned = IfAbandoned::Skip;

    async fn steps<S: Statements>(&self, on: &mut S) -> Result<Self::Output, S::Error>;

    /// The steps through sqlx: on a pooled connection, or in a transaction they need.
    async fn pooled(&self, store: &SqlStore) -> Result<Self::Output, StoreError> {
        let mut connection = store.pool().acquire().await.map_err(backend)?;
        self.steps(&mut OnPool::new(&mut connection)).await
    }
}

/// An argument owned, for a write that joins a batch (see `SqlStore::write_hot`). A missing
/// value keeps its type: PostgreSQL takes a NULL only of the column's.
#[derive(Clone)]
pub(super) enum Owned {
    Text(String),
    Int(i64),
    NoText,
    NoInt,
}

impl Owned {
    pub(super) fn all(args: &[Arg<'_>]) -> Vec<Self> {
        args.iter()
            .map(|arg| match *arg {
                Arg::Text(text) | Arg::MaybeText(Some(text)) => Self::Text(text.to_owned()),
                Arg::Int(n) | Arg::MaybeInt(Some(n)) => Self::Int(n),
                Arg::MaybeText(None) => Self::NoText,
                Arg::MaybeInt(None) => Self::NoInt,
            })
            .collect()
    }

    pub(super) fn arg(&self) -> Arg<'_> {
        match self {
            Self::Text(text) => Arg::Text(text),
            Self::Int(n) => Arg::Int(*n),
            Self::NoText => Arg::MaybeText(None),
            Self::NoInt => Arg::MaybeInt(None),
        }
    }
}

/// One statement that writes, as a hot write: how many rows it changed.
pub(super) struct WriteOne {
    pub(super) sql: &'static str,
    pub(super) args: Vec<Owned>,
}

impl HotWrite for WriteOne {
    type Output = u64;

    async fn steps<S: Statements>(&self, on: &mut S) -> Result<u64, S::Error> {
        let args: Vec<Arg<'_>> = self.args.iter().map(Owned::arg).collect();
        on.execute(self.sql, &args).await
    }
}

/// One statement that writes and answers a row (`RETURNING`), as a hot write.
pub(super) struct WriteReturning<R> {
    pub(super) sql: &'static str,
    pub(super) args: Vec<Owned>,
    pub(super) row: std::marker::PhantomData<fn() -> R>,
}

impl<R: FromRow + Send + 'static> HotWrite for WriteReturning<R> {
    type Output = Option<R>;

    async fn steps<S: Statements>(&self, on: &mut S) -> Result<Option<R>, S::Error> {
        let args: Vec<Arg<'_>> = self.args.iter().map(Owned::arg).collect();
        on.first(self.sql, &args).await
    }
}

/// The arguments of `SPEND_EPHEMERAL`.
pub(super) fn spend_args<'a>(kind: EphemeralKind, id: &'a str, now: UnixTime) -> [Arg<'a>; 4] {
    [
        Arg::Int(now),
        Arg::Text(kind.as_str()),
        Arg::Text(id),
        Arg::Int(now),
    ]
}

/// The arguments of `PUT_EPHEMERAL`.
pub(super) fn put_args<'a>(
    kind: EphemeralKind,
    id: &'a str,
    payload: &'a str,
    expires_at: UnixTime,
) -> [Arg<'a>; 4] {
    [
        Arg::Text(kind.as_str()),
        Arg::Text(id),
        Arg::Text(payload),
        Arg::Int(expires_at),
    ]
}

impl SqlStore {
    /// The first row `sql` answers (see `hot`).
    pub(super) async fn hot_read<R: FromRow>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<R>, StoreError> {
        self.hot(|c| at_once(OnThread(c).first(sql, args)), async {
            let mut connection = self.pool().acquire().await.map_err(backend)?;
            OnPool::new(&mut connection).first(sql, args).await
        })
        .await
    }

    /// The first column of the first row `sql` answers (see `hot`).
    pub(super) async fn hot_value<T: Value>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<T>, StoreError> {
        let row = self.hot_read::<(T,)>(sql, args).await?;
        Ok(row.map(|(value,)| value))
    }

    /// Runs `sql`, which writes, as `write_hot` does: how many rows it changed.
    pub(super) async fn write_one(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<u64, StoreError> {
        let args = Owned::all(args);
        self.write_hot(WriteOne { sql, args }).await
    }

    /// Runs `sql`, which writes and answers a row (`RETURNING`), as `write_hot` does.
    pub(super) async fn write_returning<R: FromRow + Send + 'static>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<R>, StoreError> {
        let args = Owned::all(args);
        let row = std::marker::PhantomData;
        self.write_hot(WriteReturning { sql, args, row }).await
    }

    /// What spending record `id` came to: `fresh` is its payload when it was live; else it
    /// was used already, or is missing (unknown or expired).
    pub(super) async fn spent(
        &self,
        kind: EphemeralKind,
        id: &str,
        fresh: Option<String>,
    ) -> Result<Consumed, StoreError> {
        if let Some(payload) = fresh {
            return Ok(Consumed::Fresh(parse_ephemeral(payload)?));
        }
        let args = [Arg::Text(kind.as_str()), Arg::Text(id)];
        Ok(match self.hot_value(SPENT_EPHEMERAL, &args).await? {
            Some(payload) => Consumed::Replayed(parse_ephemeral(payload)?),
            None => Consumed::Missing,
        })
    }
}
