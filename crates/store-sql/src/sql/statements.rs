//! The statements both paths run (the pool, and SQLite on the calling thread), and how their
//! arguments go to each.

use super::*;

/// The ephemeral records' statements, shared by both drivers (see `SqlStore::hot`).
pub(super) const PUT_EPHEMERAL: &str = "INSERT INTO ephemeral (kind, id, payload, expires_at)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at";

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

/// The first column of the first row `sql` answers, on a calling thread's connection. The
/// statement is stepped to its end: one that writes (`RETURNING`) commits only then, and a
/// failure to commit must not pass for success.
pub(super) fn row_direct<T: rusqlite::types::FromSql>(
    c: &rusqlite::Connection,
    sql: &str,
    args: &[impl rusqlite::ToSql],
) -> rusqlite::Result<Option<T>> {
    let mut statement = c.prepare_cached(sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(args))?;
    let first = match rows.next()? {
        Some(row) => Some(row.get(0)?),
        None => return Ok(None),
    };
    while rows.next()?.is_some() {}
    Ok(first)
}

/// `args`, owned: for a write that joins a batch (see `SqlStore::write_hot`).
pub(super) fn owned(args: &[Arg<'_>]) -> Vec<rusqlite::types::Value> {
    args.iter()
        .map(|arg| match *arg {
            Arg::Text(text) | Arg::MaybeText(Some(text)) => {
                rusqlite::types::Value::Text(text.to_owned())
            }
            Arg::Int(n) | Arg::MaybeInt(Some(n)) => rusqlite::types::Value::Integer(n),
            Arg::MaybeText(None) | Arg::MaybeInt(None) => rusqlite::types::Value::Null,
        })
        .collect()
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

/// `row_direct` through sqlx.
pub(super) async fn row_pooled<'q, T>(
    executor: impl sqlx::Executor<'q, Database = sqlx::Any>,
    sql: &'static str,
    args: &[Arg<'q>],
) -> Result<Option<T>, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    let row = pooled(sql, args).fetch_optional(executor).await;
    row.map_err(backend)?
        .map(|row| row.try_get(0).map_err(backend))
        .transpose()
}

/// Runs `sql`, which writes, on a calling thread's connection.
pub(super) fn execute_direct(
    c: &rusqlite::Connection,
    sql: &str,
    args: &[impl rusqlite::ToSql],
) -> rusqlite::Result<()> {
    c.prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(args))
        .map(drop)
}

/// `execute_direct` through sqlx.
pub(super) async fn execute_pooled<'q>(
    executor: impl sqlx::Executor<'q, Database = sqlx::Any>,
    sql: &'static str,
    args: &[Arg<'q>],
) -> Result<(), StoreError> {
    let done = pooled(sql, args).execute(executor).await;
    done.map(drop).map_err(backend)
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
    /// The first column of the first row `sql` answers (see `hot`).
    pub(super) async fn hot_row<T>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<T>, StoreError>
    where
        T: rusqlite::types::FromSql,
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.hot(
            |c| row_direct(c, sql, args),
            row_pooled(self.pool(), sql, args),
        )
        .await
    }

    /// Runs `sql`, which writes, as `write_hot` does: how many rows it changed.
    pub(super) async fn write_one(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<u64, StoreError> {
        let fast = owned(args);
        self.write_hot(
            move |c| {
                let changed = c
                    .prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(&fast))?;
                Ok(u64::try_from(changed).unwrap_or(u64::MAX))
            },
            async {
                let done = pooled(sql, args).execute(self.pool()).await;
                done.map(|done| done.rows_affected()).map_err(backend)
            },
        )
        .await
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
        Ok(match self.hot_row(SPENT_EPHEMERAL, &args).await? {
            Some(payload) => Consumed::Replayed(parse_ephemeral(payload)?),
            None => Consumed::Missing,
        })
    }
}
