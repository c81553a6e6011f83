//! The relational store, one implementation for both backends through sqlx's `Any` driver:
//! SQLite (the embedded default: one file, WAL mode) and PostgreSQL (any number of nodes).
//! Every statement is written once, in the SQL both understand (`$1` parameters, `RETURNING`,
//! `ON CONFLICT`); each backend has its own migrations. On SQLite in a file, the statements
//! every token request runs also run on the calling thread (`SqlStore::hot`, `direct`): the
//! same SQL, through rusqlite, in steps written once against either driver (`Statements`,
//! `HotWrite`); those that write are committed in batches (`SqlStore::write_hot`, `writer`).
//! Every other write goes through `Run`, in turn with the rest (`SqlStore::write`).

use std::str::FromStr as _;
use std::sync::{Arc, Once};
use std::time::Duration;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{
    AuditEvent, AuditFilter, AuditKind, Channel, Client, CodePurpose, Consumed, Device,
    EphemeralKind, Factor, FactorKind, Grant, GrantOwner, KeyState, Message, NewUser, OneTimeCode,
    Roles, Rotated, RotationCheck, Session, SigningAlg, SigningKeyRecord, TokenEndpointAuthMethod,
    User,
};
use idp_core::store::{
    AuditLink, AuditStore, ClientStore, CodeStore, ConsentStore, DeviceStore, EphemeralStore,
    FactorStore, GrantStore, Health, HealthCheck, KeyStore, LeaseStore, OutboxStore,
    PinAttemptStore, SessionStore, UserStore,
};
use sqlx::AnyPool;
use sqlx::Executor as _;
use sqlx::Row as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};

use crate::direct::{self, Direct, Ran, in_file};
use crate::writer::{Batch, Landed, Writer, in_savepoint};
use crate::{Durable, EarlyRotation};

mod audit;
mod clients;
mod codes;
mod consents;
mod devices;
mod ephemeral;
mod errors;
mod factors;
mod grants;
mod keys;
mod leases;
mod sessions;
mod statements;
#[cfg(test)]
mod tests;
mod users;

use self::{errors::*, statements::*};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of `url`, or why it is not one this server speaks.
    pub fn of(url: &str) -> Result<Self, String> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or("");
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            _ => Err("must start with sqlite:// or postgres://".into()),
        }
    }
}

pub struct SqlStore {
    pool: AnyPool,
    /// PostgreSQL: the connections that token traffic uses (see `Traffic`), so that a flood of
    /// refreshes cannot take the ones that sign-ins need.
    token_pool: Option<AnyPool>,
    backend: Backend,
    /// SQLite only: how writes take turns and reach the disk.
    writer: Option<Arc<Writer>>,
    /// SQLite in a file: the hot statements, on the calling thread; those that write are
    /// committed in batches.
    direct: Option<Arc<Direct>>,
    batch: Option<Arc<Batch>>,
    /// PostgreSQL: audit appends take turns on this node (see `AuditStore::record`).
    audit_turn: tokio::sync::Mutex<()>,
}

/// What a request's statements are for, so that each kind waits for connections of its own
/// (PostgreSQL): the token endpoint, introspection, UserInfo and revocation, many and quick,
/// or everything else (sign-ins, pages, administration), few and each worth a person's wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    Token,
    Interactive,
}

tokio::task_local! {
    static TRAFFIC: Traffic;
}

impl Traffic {
    /// Runs `work` as traffic of this kind.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        TRAFFIC.scope(self, work).await
    }

    fn current() -> Self {
        TRAFFIC.try_with(|t| *t).unwrap_or(Self::Interactive)
    }
}

/// How a PostgreSQL pool of `max` connections is shared: the connections token traffic may
/// use (the rest are kept for everything else), or `None` where there are too few to share.
fn token_share(max: u32) -> Option<u32> {
    (max >= 4).then(|| max - (max / 4).max(2))
}

/// PostgreSQL settings of every connection: see `SqlStore::open`. None of our transactions
/// waits on its client between statements for more than a moment.
const POSTGRES_SETTINGS: &str = "SET idle_in_transaction_session_timeout = '3s'";

/// A pooled PostgreSQL connection idle this long is checked before it is used again.
const PING_WHEN_IDLE: Duration = Duration::from_secs(1);

/// The longest a statement waits for a free connection before the request is refused with
/// 503: token clients retry, and a sign-in page waits a little longer for a person.
const TOKEN_ACQUIRE: Duration = Duration::from_secs(2);

const INTERACTIVE_ACQUIRE: Duration = Duration::from_secs(5);

/// Runs a statement that writes, in turn with the other writes (see `SqlStore::write`): the
/// way every write off the token endpoint's path is made (those on it: `SqlStore::write_hot`).
trait Run: Sized {
    /// How many rows it changed.
    async fn run(self, store: &SqlStore) -> Result<u64, StoreError>;

    /// For a statement that must change a row: none is an error.
    async fn run_one(self, store: &SqlStore) -> Result<(), StoreError> {
        if self.run(store).await? == 0 {
            return Err(StoreError::Corrupt("no such record".into()));
        }
        Ok(())
    }
}

impl<'q> Run for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    async fn run(self, store: &SqlStore) -> Result<u64, StoreError> {
        store
            .write(async {
                Ok(self
                    .execute(store.pool())
                    .await
                    .map_err(backend)?
                    .rows_affected())
            })
            .await
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// A yes/no column: BOOLEAN in PostgreSQL, 0 or 1 in SQLite.
fn flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    row.try_get::<bool, _>(column)
        .or_else(|_| row.try_get::<i64, _>(column).map(|n| n != 0))
        .map_err(backend)
}

/// A count column that must fit a `u32`.
fn count(row: &AnyRow, column: &str) -> Result<u32, StoreError> {
    let n: i64 = row.try_get(column).map_err(backend)?;
    u32::try_from(n).map_err(|_| corrupt(column))
}

/// SQLite settings applied to every connection: waiting for a lock rather than failing at once
/// (first, so that the others wait too; another process such as the command line may hold it),
/// write-ahead log, `NORMAL` sync with the log flushed by `Writer` before a write is
/// acknowledged (an acknowledged sign-up survives a power cut, not only a crash), foreign
/// keys, and the write-ahead log cut back to 4 MiB once checkpointed.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
     PRAGMA journal_size_limit = 4194304;";

impl SqlStore {
    /// Opens the database at `url`: `sqlite://PATH` (created when missing) or
    /// `postgres://...`. `max_connections` bounds the pool.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let kind = Backend::of(url).map_err(|e| StoreError::backend(std::io::Error::other(e)))?;
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10));
        let (mut writer, mut fast, mut batch) = (None, None, None);
        let url = match kind {
            Backend::Sqlite => {
                let sqlite = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(backend)?;
                prepare_file(sqlite.get_filename()).map_err(StoreError::backend)?;
                let writes = Arc::new(Writer::new(sqlite.get_filename()));
                if plain_file(url, sqlite.get_filename()) {
                    let direct = Arc::new(Direct::new(sqlite.get_filename()));
                    batch = Some(Arc::new(Batch::new(direct.clone(), writes.clone())));
                    fast = Some(direct);
                }
                writer = Some(writes);
                // A connection to a file cannot go stale; asking it first would cost a round
                // trip to its thread before every statement. One stays open, so that the
                // write-ahead log lives as long as the process.
                options = options
                    .test_before_acquire(false)
                    .min_connections(1)
                    .idle_timeout(None);
                options = options.after_connect(|conn, _| {
                    Box::pin(async move { conn.execute(SQLITE_PRAGMAS).await.map(drop) })
                });
                if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                }
            }
            Backend::Postgres => {
                // A connection is asked whether it still works (a round trip of its own) only
                // when it has sat idle a while, as it may have been cut meanwhile; one in
                // steady use is not, which would double every statement's round trips. One
                // broken in between fails its statement, and the request gets a 503.
                // A transaction left idle (its node frozen, or cut off, midway) is ended by
                // the server after a few seconds, with the row locks it held: a refresh in
                // flight on a stalled node holds the person's row only that long.
                options = options.after_connect(|connection, _| {
                    Box::pin(async move { connection.execute(POSTGRES_SETTINGS).await.map(drop) })
                });
                options = options
                    .test_before_acquire(false)
                    .before_acquire(|connection, meta| {
                        Box::pin(async move {
                            if meta.idle_for < PING_WHEN_IDLE {
                                return Ok(true);
                            }
                            Ok(sqlx::Connection::ping(connection).await.is_ok())
                        })
                    });
                url.to_owned()
            }
        };
        let connect = AnyConnectOptions::from_str(&url).map_err(backend)?;
        let mut token_pool = None;
        if kind == Backend::Postgres
            && let Some(share) = token_share(max_connections)
        {
            let tokens = options
                .clone()
                .max_connections(share)
                .acquire_timeout(TOKEN_ACQUIRE);
            token_pool = Some(tokens.connect_lazy_with(connect.clone()));
            options = options
                .max_connections(max_connections - share)
                .acquire_timeout(INTERACTIVE_ACQUIRE);
        }
        let pool = options.connect_with(connect).await.map_err(backend)?;
        Ok(Self {
            pool,
            token_pool,
            backend: kind,
            writer,
            direct: fast,
            batch,
            audit_turn: tokio::sync::Mutex::new(()),
        })
    }

    /// The pool of the current request's kind of traffic.
    fn pool(&self) -> &AnyPool {
        match (&self.token_pool, Traffic::current()) {
            (Some(tokens), Traffic::Token) => tokens,
            _ => &self.pool,
        }
    }

    /// `KeyStore::replace_sealed_keys`, in one transaction.
    async fn replace_sealed_keys_now(
        &self,
        sealed: &[(String, Vec<u8>)],
        master_fingerprint: &str,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await.map_err(backend)?;
        // No key may be added or removed between the check below and the commit. SQLite
        // refuses such a commit by itself; PostgreSQL is told to lock the table.
        if self.backend == Backend::Postgres {
            sqlx::query("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *transaction)
                .await
                .map_err(backend)?;
        }
        let mut stored: Vec<String> = sqlx::query_scalar("SELECT kid FROM signing_keys")
            .fetch_all(&mut *transaction)
            .await
            .map_err(backend)?;
        let mut given: Vec<String> = sealed.iter().map(|(kid, _)| kid.clone()).collect();
        stored.sort();
        given.sort();
        if stored != given {
            return Err(StoreError::Conflict(
                "the signing keys changed; run it again",
            ));
        }
        for (kid, blob) in sealed {
            let done =
                sqlx::query("UPDATE signing_keys SET sealed_private_key = $1 WHERE kid = $2")
                    .bind(blob)
                    .bind(kid)
                    .execute(&mut *transaction)
                    .await
                    .map_err(backend)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Corrupt(format!("no signing key {kid}")));
            }
        }
        // The next start with the new master key finds it recorded.
        sqlx::query(
            "INSERT INTO key_fingerprints (name, fingerprint) VALUES ('master_key', $1)
             ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint",
        )
        .bind(master_fingerprint)
        .execute(&mut *transaction)
        .await
        .map_err(backend)?;
        transaction.commit().await.map_err(backend)
    }

    /// Runs `work`, which writes, and returns once what it wrote is durable (see `Writer`).
    async fn write<T>(
        &self,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let Some(writer) = &self.writer else {
            return work.await;
        };
        let (done, ticket) = {
            let _turn = writer.turn.lock().await;
            let done = work.await?;
            (done, writer.count(1))
        };
        writer.flush(ticket).await?;
        writer.checkpoint_after(ticket);
        Ok(done)
    }

    /// A transaction that writes. On SQLite it takes the write lock at once, so that another
    /// process writing meanwhile makes it wait rather than fail. On PostgreSQL it runs at READ
    /// COMMITTED whatever the server's default: the writes that need one (a rotation, an audit
    /// append) decide between each other with locks at this level, where a stricter level
    /// would fail the loser instead; the level is named in BEGIN, no round trip of its own.
    async fn begin_writing(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => {
                let begin = "BEGIN ISOLATION LEVEL READ COMMITTED";
                self.pool().begin_with(begin).await
            }
        }
        .map_err(backend)
    }

    /// Runs `fast` on the calling thread where the database is a SQLite file that no other
    /// process has locked (see `direct`), else `pooled` through sqlx. Both are the same
    /// statements.
    async fn hot<T>(
        &self,
        fast: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
        pooled: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if let Some(direct) = &self.direct
            && let Ran::Done(done) = direct.run(fast)?
        {
            return Ok(done);
        }
        pooled.await
    }

    /// Makes `work`, a write on the token endpoint's path: on the calling thread's connections
    /// it joins a batch of writes committed together (see `Batch`), in a savepoint of its own;
    /// where those connections are not used, or another process holds the database, it runs
    /// through sqlx as any other write. Returns once what it wrote is durable. A request that
    /// went away while its write was queued does not write (unless `W::IF_ABANDONED` says
    /// otherwise): it could not learn the outcome (a rotated token it never received would
    /// make its retry look like a replay).
    async fn write_hot<W: HotWrite>(&self, work: W) -> Result<W::Output, StoreError> {
        let (done, durable) = self.write_hot_early(work).await?;
        durable.await?;
        Ok(done)
    }

    /// `write_hot`, answering as soon as `work` has run in its batch, before the batch is
    /// committed and flushed; the second value resolves once what it wrote is durable, or says
    /// why it is not. The caller gets its answer ready meanwhile (a refresh signs its tokens
    /// while the log is flushed), and must not let it out before.
    async fn write_hot_early<W: HotWrite>(
        &self,
        work: W,
    ) -> Result<(W::Output, Durable), StoreError> {
        let durable_now = || -> Durable { Box::pin(std::future::ready(Ok(()))) };
        let Some(batch) = &self.batch else {
            return Ok((self.write(work.pooled(self)).await?, durable_now()));
        };
        let work = Arc::new(work);
        let fast = work.clone();
        let batch_failed = || {
            StoreError::backend(std::io::Error::other(
                "the batch of writes this one joined failed",
            ))
        };
        // What `fast` came to, once it ran; then whether the batch landed (false: another
        // process held the database, and nothing was written).
        let (ran, outcome) = tokio::sync::oneshot::channel::<Result<W::Output, StoreError>>();
        let (landing, landed) = tokio::sync::oneshot::channel::<Result<bool, StoreError>>();
        batch.submit(Box::new(move |c| {
            if W::IF_ABANDONED == IfAbandoned::Skip && ran.is_closed() {
                return Ok(Box::new(|_: &Landed| {}));
            }
            let wrote = match c {
                Some(c) => {
                    let done = in_savepoint(c, |c| at_once(fast.steps(&mut OnThread(c))))?;
                    let wrote = done.is_ok();
                    let _ = ran.send(done.map_err(direct::failed));
                    wrote
                }
                None => false,
            };
            Ok(Box::new(move |landed: &Landed| {
                let _ = landing.send(match landed {
                    Landed::Durable => Ok(wrote),
                    Landed::Busy => Ok(false),
                    Landed::Failed(why) => {
                        Err(StoreError::backend(std::io::Error::other(why.clone())))
                    }
                    Landed::CannotWrite(why) => Err(StoreError::CannotWrite(why.clone())),
                });
            }))
        }));
        match outcome.await {
            Ok(Ok(done)) => {
                let durable: Durable = Box::pin(async move {
                    match landed.await {
                        Ok(Ok(true)) => Ok(()),
                        Ok(Err(error)) => Err(error),
                        Ok(Ok(false)) | Err(_) => Err(batch_failed()),
                    }
                });
                Ok((done, durable))
            }
            // It ran and failed: undone, and nothing else of it was written.
            Ok(Err(error)) => Err(error),
            // It did not run: another process holds the database, or the batch failed.
            Err(_) => match landed.await {
                Ok(Ok(false)) => Ok((self.write(work.pooled(self)).await?, durable_now())),
                Ok(Err(error)) => Err(error),
                Ok(Ok(true)) | Err(_) => Err(batch_failed()),
            },
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        self.write(async { migrator.run(self.pool()).await.map_err(StoreError::backend) })
            .await
    }
}

/// What becomes of a queued write whose request went away (see `HotWrite::IF_ABANDONED`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum IfAbandoned {
    Skip,
    Write,
}

/// Whether the SQLite `url` names a database in a file, to be read and written, with no
/// options that the calling thread's connections (see `direct`) would not honour.
fn plain_file(url: &str, path: &std::path::Path) -> bool {
    let options = url.split_once('?').map_or("", |(_, options)| options);
    in_file(path)
        && options
            .split('&')
            .all(|option| matches!(option, "" | "mode=rwc" | "mode=rw"))
}

/// Creates the database file readable by its owner only: it holds password and PIN hashes and
/// signing keys. SQLite gives its -wal and -shm files the same mode.
fn prepare_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if !in_file(path) || path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

#[async_trait]
impl HealthCheck for SqlStore {
    async fn probe(&self) -> Health {
        // One row in the leases table that no lease is named after: written in turn with every
        // other write, so that it fails exactly when they would.
        let written = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ('readiness probe', '', 0)
             ON CONFLICT (name) DO UPDATE SET expires_at = leases.expires_at + 1",
        )
        .run(self)
        .await;
        match written {
            Ok(_) => Health::Ok,
            Err(StoreError::CannotWrite(why)) => Health::CannotWrite(why),
            Err(error) => Health::Unreachable(error.to_string()),
        }
    }
}
