//! The relational store, one implementation for both backends through sqlx's `Any` driver:
//! SQLite (the embedded default: one file, WAL mode) and PostgreSQL (any number of nodes).
//! Every statement is written once, in the SQL both understand (`$1` parameters, `RETURNING`,
//! `ON CONFLICT`); each backend has its own migrations. On SQLite in a file, the statements
//! every token request runs also run on the calling thread (`SqlStore::hot`, `direct`): the
//! same SQL, through rusqlite; those that write are committed in batches (`SqlStore::write_hot`,
//! `writer`).

use std::str::FromStr as _;
use std::sync::{Arc, Once};
use std::time::Duration;

use async_trait::async_trait;
use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{
    AuditEvent, AuditKind, Channel, Client, CodePurpose, Consumed, Device, EphemeralKind, Grant,
    GrantOwner, KeyState, Message, NewUser, OneTimeCode, Rotated, RotationCheck, Session,
    SigningAlg, SigningKeyRecord, TokenEndpointAuthMethod, User,
};
use idp_core::store::{
    AuditLink, AuditStore, ClientStore, CodeStore, ConsentStore, DeviceStore, Durable,
    EphemeralStore, GrantStore, Health, HealthCheck, KeyStore, LeaseStore, OutboxStore,
    PinAttemptStore, SessionStore, UserStore,
};
use sqlx::AnyPool;
use sqlx::Executor as _;
use sqlx::Row as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};

use super::direct::{self, Direct, Ran};
use super::writer::{Batch, Landed, Writer, in_savepoint};

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

fn backend(error: sqlx::Error) -> StoreError {
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

/// Runs a statement that writes: how many rows it changed.
trait Run {
    async fn run(self, store: &SqlStore) -> Result<u64, StoreError>;
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
    /// process writing meanwhile makes it wait rather than fail.
    async fn begin_writing(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool().begin().await,
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

    /// Like `hot`, for statements that write: on the calling thread's connections `fast`
    /// joins a batch of writes committed together (see `Batch`), in a savepoint of its own;
    /// where those connections are not used, or another process holds the database, `pooled`
    /// runs as any other write. Returns once what it wrote is durable. A request that went
    /// away while its write was queued does not write: it could not learn the outcome (a
    /// rotated token it never received would make its retry look like a replay).
    async fn write_hot<T: Send + 'static>(
        &self,
        fast: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
        pooled: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.write_hot_else(IfAbandoned::Skip, fast, pooled).await
    }

    /// `write_hot`, saying what becomes of a write whose request went away while it was
    /// queued: an audit row is written all the same.
    async fn write_hot_else<T: Send + 'static>(
        &self,
        if_abandoned: IfAbandoned,
        fast: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
        pooled: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let (done, durable) = self.write_hot_early(if_abandoned, fast, pooled).await?;
        durable.await?;
        Ok(done)
    }

    /// `write_hot_else`, answering as soon as `fast` has run in its batch, before the batch is
    /// committed and flushed; the second value resolves once what it wrote is durable, or says
    /// why it is not. The caller gets its answer ready meanwhile (a refresh signs its tokens
    /// while the log is flushed), and must not let it out before.
    async fn write_hot_early<T: Send + 'static>(
        &self,
        if_abandoned: IfAbandoned,
        fast: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
        pooled: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<(T, Durable), StoreError> {
        let durable_now = || -> Durable { Box::pin(std::future::ready(Ok(()))) };
        let Some(batch) = &self.batch else {
            return Ok((self.write(pooled).await?, durable_now()));
        };
        let batch_failed = || {
            StoreError::backend(std::io::Error::other(
                "the batch of writes this one joined failed",
            ))
        };
        // What `fast` came to, once it ran; then whether the batch landed (false: another
        // process held the database, and nothing was written).
        let (ran, outcome) = tokio::sync::oneshot::channel::<Result<T, StoreError>>();
        let (landing, landed) = tokio::sync::oneshot::channel::<Result<bool, StoreError>>();
        batch.submit(Box::new(move |c| {
            if if_abandoned == IfAbandoned::Skip && ran.is_closed() {
                return Ok(Box::new(|_: &Landed| {}));
            }
            let wrote = match c {
                Some(c) => {
                    let done = in_savepoint(c, fast)?;
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
                Ok(Ok(false)) => Ok((self.write(pooled).await?, durable_now())),
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

/// What becomes of a queued write whose request went away (see `SqlStore::write_hot_else`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum IfAbandoned {
    Skip,
    Write,
}

/// Whether `path` names a database in a file (not in memory: sqlx names an in-memory one
/// `file:sqlx-in-memory-N`).
pub(super) fn in_file(path: &std::path::Path) -> bool {
    let name = path.as_os_str();
    !name.is_empty() && name != ":memory:" && !name.to_string_lossy().starts_with("file:")
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

fn audit_from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let kind: String = row.try_get("kind").map_err(backend)?;
    Ok(AuditEvent {
        at: row.try_get("at").map_err(backend)?,
        kind: AuditKind::parse(&kind).ok_or_else(|| corrupt("audit_log.kind"))?,
        user_id: row.try_get("user_id").map_err(backend)?,
        client_id: row.try_get("client_id").map_err(backend)?,
        actor: row.try_get("actor").map_err(backend)?,
        ip: row.try_get("ip").map_err(backend)?,
        user_agent: row.try_get("user_agent").map_err(backend)?,
        detail: row.try_get("detail").map_err(backend)?,
    })
}

fn client_from_row(row: &AnyRow) -> Result<Client, StoreError> {
    let redirect_uris: String = row.try_get("redirect_uris").map_err(backend)?;
    let method: String = row.try_get("token_endpoint_auth_method").map_err(backend)?;
    let alg: String = row
        .try_get("id_token_signed_response_alg")
        .map_err(backend)?;
    let metadata: String = row.try_get("metadata").map_err(backend)?;
    Ok(Client {
        id: row.try_get("id").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        secret_hash: row.try_get("secret_hash").map_err(backend)?,
        redirect_uris: serde_json::from_str(&redirect_uris)
            .map_err(|_| corrupt("clients.redirect_uris"))?,
        token_endpoint_auth_method: TokenEndpointAuthMethod::parse(&method)
            .ok_or_else(|| corrupt("clients.token_endpoint_auth_method"))?,
        id_token_signed_response_alg: SigningAlg::parse(&alg)
            .ok_or_else(|| corrupt("clients.id_token_signed_response_alg"))?,
        admin: flag(row, "admin")?,
        created_at: row.try_get("created_at").map_err(backend)?,
        metadata: serde_json::from_str(&metadata).map_err(|_| corrupt("clients.metadata"))?,
    })
}

fn session_from_row(row: &AnyRow) -> Result<Session, StoreError> {
    let amr: String = row.try_get("amr").map_err(backend)?;
    Ok(Session {
        id_hash: row.try_get("id_hash").map_err(backend)?,
        sid: row.try_get("sid").map_err(backend)?,
        user_id: row.try_get("user_id").map_err(backend)?,
        auth_time: row.try_get("auth_time").map_err(backend)?,
        acr: row.try_get("acr").map_err(backend)?,
        amr: serde_json::from_str(&amr).map_err(|_| corrupt("sessions.amr"))?,
        created_at: row.try_get("created_at").map_err(backend)?,
        expires_at: row.try_get("expires_at").map_err(backend)?,
        credential_epoch: row.try_get("credential_epoch").map_err(backend)?,
        ip: row.try_get("ip").map_err(backend)?,
        user_agent: row.try_get("user_agent").map_err(backend)?,
    })
}

/// A `users` row as stored, read by either driver.
struct UserRow {
    id: String,
    username: String,
    email: String,
    email_verified: bool,
    phone: Option<String>,
    phone_verified: bool,
    password_hash: String,
    pin_hash: Option<String>,
    pin_failures: i64,
    security_questions: Option<String>,
    created_at: i64,
    disabled_at: Option<i64>,
    credential_epoch: i64,
}

impl UserRow {
    /// The row of `SELECT * FROM users`, through sqlx.
    fn pooled(row: &AnyRow) -> Result<Self, StoreError> {
        let get = |e: sqlx::Error| backend(e);
        Ok(Self {
            id: row.try_get("id").map_err(get)?,
            username: row.try_get("username").map_err(get)?,
            email: row.try_get("email").map_err(get)?,
            email_verified: flag(row, "email_verified")?,
            phone: row.try_get("phone").map_err(get)?,
            phone_verified: flag(row, "phone_verified")?,
            password_hash: row.try_get("password_hash").map_err(get)?,
            pin_hash: row.try_get("pin_hash").map_err(get)?,
            pin_failures: row.try_get("pin_failures").map_err(get)?,
            security_questions: row.try_get("security_questions").map_err(get)?,
            created_at: row.try_get("created_at").map_err(get)?,
            disabled_at: row.try_get("disabled_at").map_err(get)?,
            credential_epoch: row.try_get("credential_epoch").map_err(get)?,
        })
    }

    /// The row of `SELECT * FROM users`, on a calling thread's connection.
    fn direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            username: row.get("username")?,
            email: row.get("email")?,
            email_verified: row.get("email_verified")?,
            phone: row.get("phone")?,
            phone_verified: row.get("phone_verified")?,
            password_hash: row.get("password_hash")?,
            pin_hash: row.get("pin_hash")?,
            pin_failures: row.get("pin_failures")?,
            security_questions: row.get("security_questions")?,
            created_at: row.get("created_at")?,
            disabled_at: row.get("disabled_at")?,
            credential_epoch: row.get("credential_epoch")?,
        })
    }

    fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: self.id,
            username: self.username,
            email: self.email,
            email_verified: self.email_verified,
            phone: self.phone,
            phone_verified: self.phone_verified,
            password_hash: self.password_hash,
            pin_hash: self.pin_hash,
            pin_failures: u32::try_from(self.pin_failures)
                .map_err(|_| corrupt("users.pin_failures"))?,
            security_questions: match self.security_questions {
                Some(json) => {
                    serde_json::from_str(&json).map_err(|_| corrupt("users.security_questions"))?
                }
                None => Vec::new(),
            },
            created_at: self.created_at,
            disabled_at: self.disabled_at,
            credential_epoch: self.credential_epoch,
        })
    }
}

impl SqlStore {
    /// The user `sql` finds by `key` (see `hot`).
    async fn hot_user(&self, sql: &'static str, key: &str) -> Result<Option<User>, StoreError> {
        use rusqlite::OptionalExtension as _;
        let row = self
            .hot(
                |c| {
                    c.prepare_cached(sql)?
                        .query_row([key], UserRow::direct)
                        .optional()
                },
                async {
                    let row = sqlx::query(sql).bind(key).fetch_optional(self.pool()).await;
                    row.map_err(backend)?
                        .as_ref()
                        .map(UserRow::pooled)
                        .transpose()
                },
            )
            .await?;
        row.map(UserRow::into_user).transpose()
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, user: &NewUser) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, username, email, email_verified, phone, phone_verified,
                                password_hash, pin_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.email)
        .bind(user.email_verified)
        .bind(&user.phone)
        .bind(user.phone_verified && user.phone.is_some())
        .bind(&user.password_hash)
        .bind(&user.pin_hash)
        .bind(user.created_at)
        .run(self)
        .await
        .map(drop)
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.hot_user("SELECT * FROM users WHERE id = $1", id).await
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.hot_user("SELECT * FROM users WHERE username = $1", username)
            .await
    }

    async fn set_pin(&self, user_id: &str, pin_hash: Option<&str>) -> Result<(), StoreError> {
        self.execute_one(
            sqlx::query(
                "UPDATE users SET pin_hash = $1, pin_failures = 0,
                 credential_epoch = credential_epoch + 1 WHERE id = $2",
            )
            .bind(pin_hash)
            .bind(user_id),
        )
        .await
    }

    async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<(), StoreError> {
        self.execute_one(
            sqlx::query(
                "UPDATE users SET password_hash = $1, credential_epoch = credential_epoch + 1
                 WHERE id = $2",
            )
            .bind(password_hash)
            .bind(user_id),
        )
        .await
    }

    async fn upgrade_password_hash(
        &self,
        user_id: &str,
        current: &str,
        upgraded: &str,
    ) -> Result<bool, StoreError> {
        let changed =
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
                .bind(upgraded)
                .bind(user_id)
                .bind(current)
                .run(self)
                .await?;
        Ok(changed == 1)
    }

    async fn upgrade_pin_hash(
        &self,
        user_id: &str,
        current: &str,
        upgraded: &str,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query("UPDATE users SET pin_hash = $1 WHERE id = $2 AND pin_hash = $3")
            .bind(upgraded)
            .bind(user_id)
            .bind(current)
            .run(self)
            .await?;
        Ok(changed == 1)
    }

    async fn set_disabled(
        &self,
        user_id: &str,
        disabled_at: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        self.execute_one(
            sqlx::query(
                "UPDATE users SET disabled_at = $1, credential_epoch = credential_epoch + 1
                 WHERE id = $2",
            )
            .bind(disabled_at)
            .bind(user_id),
        )
        .await
    }

    async fn set_security_questions(
        &self,
        user_id: &str,
        answers: &[idp_core::security_questions::SecurityAnswer],
    ) -> Result<(), StoreError> {
        let json = if answers.is_empty() {
            None
        } else {
            Some(serde_json::to_string(answers).map_err(StoreError::backend)?)
        };
        self.execute_one(
            sqlx::query("UPDATE users SET security_questions = $1 WHERE id = $2")
                .bind(json)
                .bind(user_id),
        )
        .await
    }

    async fn set_email(
        &self,
        user_id: &str,
        email: &str,
        verified: bool,
    ) -> Result<(), StoreError> {
        self.execute_one(
            sqlx::query("UPDATE users SET email = $1, email_verified = $2 WHERE id = $3")
                .bind(email)
                .bind(verified)
                .bind(user_id),
        )
        .await
    }

    async fn set_phone(
        &self,
        user_id: &str,
        phone: Option<&str>,
        verified: bool,
    ) -> Result<(), StoreError> {
        self.execute_one(
            sqlx::query("UPDATE users SET phone = $1, phone_verified = $2 WHERE id = $3")
                .bind(phone)
                .bind(verified && phone.is_some())
                .bind(user_id),
        )
        .await
    }
}

impl SqlStore {
    async fn execute_one(
        &self,
        query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<(), StoreError> {
        if query.run(self).await? == 0 {
            return Err(StoreError::Corrupt("no such record".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl PinAttemptStore for SqlStore {
    async fn take_pin_attempt(&self, user_id: &str, max: u32) -> Result<Option<u32>, StoreError> {
        // One statement: SQLite runs it atomically, so no two requests take the same try.
        const TAKE: &str = "UPDATE users SET pin_failures = pin_failures + 1
             WHERE id = $1 AND pin_failures < $2 RETURNING pin_failures";
        let args = [Arg::Text(user_id), Arg::Int(i64::from(max))];
        let fast = owned(&args);
        let taken: Option<i64> = self
            .write_hot(
                move |c| row_direct(c, TAKE, &fast),
                row_pooled(self.pool(), TAKE, &args),
            )
            .await?;
        taken
            .map(|n| u32::try_from(n).map_err(|_| corrupt("users.pin_failures")))
            .transpose()
    }

    async fn give_back_pin_attempt(&self, user_id: &str) -> Result<(), StoreError> {
        self.write_one(
            "UPDATE users SET pin_failures = pin_failures - 1 WHERE id = $1 AND pin_failures > 0",
            &[Arg::Text(user_id)],
        )
        .await
        .map(drop)
    }

    async fn reset_pin_attempts(&self, user_id: &str) -> Result<(), StoreError> {
        self.write_one(
            "UPDATE users SET pin_failures = 0 WHERE id = $1",
            &[Arg::Text(user_id)],
        )
        .await
        .map(drop)
    }
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let redirect_uris =
            serde_json::to_string(&client.redirect_uris).map_err(StoreError::backend)?;
        sqlx::query(
            "INSERT INTO clients (id, name, secret_hash, redirect_uris, token_endpoint_auth_method,
                                  id_token_signed_response_alg, admin, created_at, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&client.id)
        .bind(&client.name)
        .bind(&client.secret_hash)
        .bind(redirect_uris)
        .bind(client.token_endpoint_auth_method.as_str())
        .bind(client.id_token_signed_response_alg.as_str())
        .bind(client.admin)
        .bind(client.created_at)
        .bind(serde_json::to_string(&client.metadata).map_err(StoreError::backend)?)
        .run(self)
        .await
        .map(drop)
    }

    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let row = sqlx::query("SELECT * FROM clients WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        // A disabled client is not found: nothing can authenticate as it or sign in to it.
        Ok(row
            .as_ref()
            .map(client_from_row)
            .transpose()?
            .filter(|client| !client.metadata.disabled))
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY created_at, id")
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter().map(client_from_row).collect()
    }

    async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        let redirect_uris =
            serde_json::to_string(&client.redirect_uris).map_err(StoreError::backend)?;
        self.execute_one(
            sqlx::query(
                "UPDATE clients SET name = $1, secret_hash = $2, redirect_uris = $3,
                        token_endpoint_auth_method = $4, id_token_signed_response_alg = $5,
                        admin = $6, metadata = $7
                 WHERE id = $8",
            )
            .bind(&client.name)
            .bind(&client.secret_hash)
            .bind(redirect_uris)
            .bind(client.token_endpoint_auth_method.as_str())
            .bind(client.id_token_signed_response_alg.as_str())
            .bind(client.admin)
            .bind(serde_json::to_string(&client.metadata).map_err(StoreError::backend)?)
            .bind(&client.id),
        )
        .await
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let affected = sqlx::query("DELETE FROM clients WHERE id = $1")
            .bind(id)
            .run(self)
            .await?;
        Ok(affected > 0)
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let amr = serde_json::to_string(&session.amr).map_err(StoreError::backend)?;
        self.write_one(
            "INSERT INTO sessions (id_hash, sid, user_id, auth_time, acr, amr, created_at, expires_at,
                                   ip, user_agent, credential_epoch)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                Arg::Text(&session.id_hash),
                Arg::Text(&session.sid),
                Arg::Text(&session.user_id),
                Arg::Int(session.auth_time),
                Arg::Text(&session.acr),
                Arg::Text(&amr),
                Arg::Int(session.created_at),
                Arg::Int(session.expires_at),
                Arg::MaybeText(session.ip.as_deref()),
                Arg::MaybeText(session.user_agent.as_deref()),
                Arg::Int(session.credential_epoch),
            ],
        )
        .await
        .map(drop)
    }

    async fn restamp_session(
        &self,
        id_hash: &str,
        credential_epoch: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET credential_epoch = $1 WHERE id_hash = $2")
            .bind(credential_epoch)
            .bind(id_hash)
            .run(self)
            .await
            .map(drop)
    }

    async fn find_session(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> Result<Option<Session>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT * FROM sessions WHERE id_hash = $1 AND expires_at > $2")
                .bind(id_hash)
                .bind(now)
                .fetch_optional(self.pool())
                .await
                .map_err(backend)?
        else {
            return Ok(None);
        };
        session_from_row(&row).map(Some)
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .run(self)
            .await
            .map(drop)
    }

    async fn list_sessions(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Vec<Session>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, sid",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter().map(session_from_row).collect()
    }

    async fn purge_expired_sessions(&self, before: UnixTime) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(before)
            .run(self)
            .await
    }
}

#[async_trait]
impl GrantStore for SqlStore {
    async fn create_grant(&self, grant: &Grant) -> Result<(), StoreError> {
        self.write_one(
            "INSERT INTO grants (id, user_id, client_id, created_at, revoked_at, sid)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Arg::Text(&grant.id),
                Arg::Text(&grant.user_id),
                Arg::Text(&grant.client_id),
                Arg::Int(grant.created_at),
                Arg::MaybeInt(grant.revoked_at),
                Arg::MaybeText(grant.sid.as_deref()),
            ],
        )
        .await
        .map(drop)
    }

    async fn revoke_grant(&self, id: &str, now: UnixTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .run(self)
            .await
            .map(drop)
    }

    async fn revoke_grants_of(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .bind(client_id)
            .run(self)
            .await
            .map(drop)
    }

    async fn move_session_grants(&self, from_sid: &str, to_sid: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET sid = $1 WHERE sid = $2")
            .bind(to_sid)
            .bind(from_sid)
            .run(self)
            .await
            .map(drop)
    }

    async fn revoke_grants_of_client(
        &self,
        client_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(client_id)
            .run(self)
            .await
            .map(drop)
    }

    async fn revoke_all_grants_of_user(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .run(self)
            .await
            .map(drop)
    }

    async fn clients_of_session(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT DISTINCT client_id FROM grants WHERE sid = $1 ORDER BY client_id",
        )
        .bind(sid)
        .fetch_all(self.pool())
        .await
        .map_err(backend)
    }

    async fn grant_is_active(&self, id: &str) -> Result<bool, StoreError> {
        const ACTIVE: &str = "SELECT 1 FROM grants WHERE id = $1 AND revoked_at IS NULL";
        Ok(self
            .hot_row::<i64>(ACTIVE, &[Arg::Text(id)])
            .await?
            .is_some())
    }

    async fn rotate(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
        next: (&str, UnixTime),
        check: RotationCheck,
    ) -> Result<(Rotated, Durable), StoreError> {
        let rotation = Arc::new(Rotation {
            kind,
            id: id.to_owned(),
            now,
            next: (next.0.to_owned(), next.1),
            check,
        });
        let fast = rotation.clone();
        let (found, durable) = self
            .write_hot_early(
                IfAbandoned::Skip,
                move |c| fast.run_direct(c),
                rotation.run_pooled(self),
            )
            .await?;
        let rotated = match found {
            Found::Settled(rotated) => rotated,
            Found::Replayed(payload) => match parse_ephemeral(payload) {
                Ok(payload) => Rotated::Replayed(payload),
                Err(error) => {
                    durable.await?;
                    return Err(error);
                }
            },
        };
        Ok((rotated, durable))
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn update_signing_key(
        &self,
        kid: &str,
        state: KeyState,
        activate_at: Option<UnixTime>,
        remove_after: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        self.execute_one(
            sqlx::query("UPDATE signing_keys SET state = $1, activate_at = $2, remove_after = $3 WHERE kid = $4")
                .bind(state.as_str())
                .bind(activate_at)
                .bind(remove_after)
                .bind(kid),
        )
        .await
    }

    async fn replace_sealed_keys(
        &self,
        sealed: &[(String, Vec<u8>)],
        master_fingerprint: &str,
    ) -> Result<(), StoreError> {
        self.write(self.replace_sealed_keys_now(sealed, master_fingerprint))
            .await
    }

    async fn recorded_fingerprint(&self, name: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT fingerprint FROM key_fingerprints WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)
    }

    async fn record_fingerprint(
        &self,
        name: &str,
        fingerprint: &str,
    ) -> Result<String, StoreError> {
        // The first node to start records its keys; every later one compares with them.
        sqlx::query(
            "INSERT INTO key_fingerprints (name, fingerprint) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fingerprint)
        .run(self)
        .await?;
        sqlx::query_scalar("SELECT fingerprint FROM key_fingerprints WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool())
            .await
            .map_err(backend)
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        let affected = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .run(self)
            .await?;
        Ok(affected > 0)
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let alg: String = row.try_get("alg").map_err(backend)?;
                let state: String = row.try_get("state").map_err(backend)?;
                Ok(SigningKeyRecord {
                    kid: row.try_get("kid").map_err(backend)?,
                    alg: SigningAlg::parse(&alg).ok_or_else(|| corrupt("signing_keys.alg"))?,
                    sealed_private_key: row.try_get("sealed_private_key").map_err(backend)?,
                    state: KeyState::parse(&state).ok_or_else(|| corrupt("signing_keys.state"))?,
                    created_at: row.try_get("created_at").map_err(backend)?,
                    activate_at: row.try_get("activate_at").map_err(backend)?,
                    remove_after: row.try_get("remove_after").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_private_key, state, created_at, activate_at, remove_after)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.kid)
        .bind(key.alg.as_str())
        .bind(&key.sealed_private_key)
        .bind(key.state.as_str())
        .bind(key.created_at)
        .bind(key.activate_at)
        .bind(key.remove_after)
        .run(self)
        .await
        .map(drop)
    }
}

/// The ephemeral records' statements, shared by both drivers (see `SqlStore::hot`).
const PUT_EPHEMERAL: &str = "INSERT INTO ephemeral (kind, id, payload, expires_at)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at";
const GET_EPHEMERAL: &str = "SELECT payload FROM ephemeral
     WHERE kind = $1 AND id = $2 AND expires_at > $3 AND consumed_at IS NULL";
const SPEND_EPHEMERAL: &str = "UPDATE ephemeral SET consumed_at = $1
     WHERE kind = $2 AND id = $3 AND expires_at > $4 AND consumed_at IS NULL
     RETURNING payload";
const SPENT_EPHEMERAL: &str =
    "SELECT payload FROM ephemeral WHERE kind = $1 AND id = $2 AND consumed_at IS NOT NULL";

/// A rotation's statements (see `GrantStore::rotate`): the record, live, spent or expired; the
/// grant it belongs to, active, of its user, who is not disabled; spending it. PostgreSQL locks
/// the record and the grant for the transaction, so that a second rotation of the record waits
/// and finds it spent, and a revocation waits or is seen; on SQLite the writers take turns.
macro_rules! rotation_read {
    () => {
        "SELECT payload, consumed_at, expires_at FROM ephemeral WHERE kind = $1 AND id = $2"
    };
}
macro_rules! grant_active {
    () => {
        "SELECT 1 FROM grants g JOIN users u ON u.id = g.user_id
         WHERE g.id = $1 AND g.user_id = $2 AND g.revoked_at IS NULL AND u.disabled_at IS NULL"
    };
}
const ROTATION_READ: [&str; 2] = [rotation_read!(), concat!(rotation_read!(), " FOR UPDATE")];
const GRANT_ACTIVE: [&str; 2] = [grant_active!(), concat!(grant_active!(), " FOR SHARE")];
const SPEND_LIVE: &str =
    "UPDATE ephemeral SET consumed_at = $1 WHERE kind = $2 AND id = $3 AND consumed_at IS NULL";

/// A rotation under way: what it rotates into, and its check, run by whichever driver runs it
/// (the calling thread's connection, or sqlx's when another process holds the database).
struct Rotation {
    kind: EphemeralKind,
    id: String,
    now: UnixTime,
    next: (String, UnixTime),
    check: RotationCheck,
}

/// What a rotation found: its outcome, or a replayed record's payload as stored (parsed
/// once the transaction is over).
enum Found {
    Settled(Rotated),
    Replayed(String),
}

/// The row a rotation read: payload, when it was spent, when it expires.
type RotationRow = (String, Option<i64>, i64);

impl Rotation {
    /// What the row read comes to: an outcome already, or the grant to check and the payload
    /// to store again.
    fn judge(&self, row: Option<RotationRow>) -> Result<(GrantOwner, String), Found> {
        match row {
            None => Err(Found::Settled(Rotated::Missing)),
            Some((payload, Some(_), _)) => Err(Found::Replayed(payload)),
            Some((_, None, expires_at)) if expires_at <= self.now => {
                Err(Found::Settled(Rotated::Missing))
            }
            Some((payload, None, _)) => match (self.check)(&payload) {
                Some(owner) => Ok((owner, payload)),
                None => Err(Found::Settled(Rotated::Refused)),
            },
        }
    }

    /// On a calling thread's connection, in a batch's transaction (see `SqlStore::write_hot`).
    fn run_direct(&self, c: &rusqlite::Connection) -> rusqlite::Result<Found> {
        use rusqlite::OptionalExtension as _;
        let kind = self.kind.as_str();
        let row = c
            .prepare_cached(ROTATION_READ[0])?
            .query_row((kind, &self.id), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let (owner, payload) = match self.judge(row) {
            Ok(go) => go,
            Err(found) => return Ok(found),
        };
        let owner = [&owner.grant_id, &owner.user_id];
        if row_direct::<i64>(c, GRANT_ACTIVE[0], &owner)?.is_none() {
            return Ok(Found::Settled(Rotated::Inactive));
        }
        let spent = c
            .prepare_cached(SPEND_LIVE)?
            .execute((self.now, kind, &self.id))?;
        if spent != 1 {
            return Ok(Found::Replayed(payload));
        }
        let (next, expires_at) = (&self.next.0, self.next.1);
        let successor = put_args(self.kind, next, &payload, expires_at);
        execute_direct(c, PUT_EPHEMERAL, &successor)?;
        Ok(Found::Settled(Rotated::Done))
    }

    /// Through sqlx, in a transaction of its own.
    async fn run_pooled(&self, store: &SqlStore) -> Result<Found, StoreError> {
        let postgres = store.backend == Backend::Postgres;
        let locking = usize::from(postgres);
        let mut transaction = store.begin_writing().await?;
        if postgres {
            // The locks above decide between rotations and revocations at this level (a
            // stricter one, set as the server's default, would fail the loser instead).
            sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                .execute(&mut *transaction)
                .await
                .map_err(backend)?;
        }
        let found = self.steps_pooled(&mut transaction, locking).await?;
        transaction.commit().await.map_err(backend)?;
        Ok(found)
    }

    /// `run_direct`'s steps through sqlx, in `transaction`; `locking` picks the statements
    /// that lock the rows they read (PostgreSQL).
    async fn steps_pooled(
        &self,
        transaction: &mut sqlx::Transaction<'static, sqlx::Any>,
        locking: usize,
    ) -> Result<Found, StoreError> {
        let kind = self.kind.as_str();
        let row = pooled(
            ROTATION_READ[locking],
            &[Arg::Text(kind), Arg::Text(&self.id)],
        )
        .fetch_optional(&mut **transaction)
        .await
        .map_err(backend)?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
        .map_err(backend)?;
        let (owner, payload) = match self.judge(row) {
            Ok(go) => go,
            Err(found) => return Ok(found),
        };
        let owner = [Arg::Text(&owner.grant_id), Arg::Text(&owner.user_id)];
        let active = GRANT_ACTIVE[locking];
        if row_pooled::<i64>(&mut **transaction, active, &owner)
            .await?
            .is_none()
        {
            return Ok(Found::Settled(Rotated::Inactive));
        }
        let spend = [Arg::Int(self.now), Arg::Text(kind), Arg::Text(&self.id)];
        let spent = pooled(SPEND_LIVE, &spend)
            .execute(&mut **transaction)
            .await
            .map_err(backend)?;
        if spent.rows_affected() != 1 {
            return Ok(Found::Replayed(payload));
        }
        let (next, expires_at) = (&self.next.0, self.next.1);
        let successor = put_args(self.kind, next, &payload, expires_at);
        execute_pooled(&mut **transaction, PUT_EPHEMERAL, &successor).await?;
        Ok(Found::Settled(Rotated::Done))
    }
}

fn parse_ephemeral(payload: String) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(&payload).map_err(|_| corrupt("ephemeral.payload"))
}

/// A parameter of a statement that either driver runs (see `SqlStore::hot`).
#[derive(Clone, Copy)]
enum Arg<'a> {
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
fn row_direct<T: rusqlite::types::FromSql>(
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
fn owned(args: &[Arg<'_>]) -> Vec<rusqlite::types::Value> {
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
fn pooled<'q>(
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
async fn row_pooled<'q, T>(
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
fn execute_direct(
    c: &rusqlite::Connection,
    sql: &str,
    args: &[impl rusqlite::ToSql],
) -> rusqlite::Result<()> {
    c.prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(args))
        .map(drop)
}

/// `execute_direct` through sqlx.
async fn execute_pooled<'q>(
    executor: impl sqlx::Executor<'q, Database = sqlx::Any>,
    sql: &'static str,
    args: &[Arg<'q>],
) -> Result<(), StoreError> {
    let done = pooled(sql, args).execute(executor).await;
    done.map(drop).map_err(backend)
}

/// The arguments of `SPEND_EPHEMERAL`.
fn spend_args<'a>(kind: EphemeralKind, id: &'a str, now: UnixTime) -> [Arg<'a>; 4] {
    [
        Arg::Int(now),
        Arg::Text(kind.as_str()),
        Arg::Text(id),
        Arg::Int(now),
    ]
}

/// The arguments of `PUT_EPHEMERAL`.
fn put_args<'a>(
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
    async fn hot_row<T>(&self, sql: &'static str, args: &[Arg<'_>]) -> Result<Option<T>, StoreError>
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
    async fn write_one(&self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
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
    async fn spent(
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

#[async_trait]
impl EphemeralStore for SqlStore {
    async fn put(
        &self,
        kind: EphemeralKind,
        id: &str,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let payload = payload.to_string();
        let row = put_args(kind, id, &payload, expires_at);
        let fast = owned(&row);
        self.write_hot(
            move |c| execute_direct(c, PUT_EPHEMERAL, &fast),
            execute_pooled(self.pool(), PUT_EPHEMERAL, &row),
        )
        .await
    }

    async fn get(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let args = [Arg::Text(kind.as_str()), Arg::Text(id), Arg::Int(now)];
        let payload: Option<String> = self.hot_row(GET_EPHEMERAL, &args).await?;
        payload.map(parse_ephemeral).transpose()
    }

    async fn consume(
        &self,
        kind: EphemeralKind,
        id: &str,
        now: UnixTime,
    ) -> Result<Consumed, StoreError> {
        let spend = spend_args(kind, id, now);
        let fast = owned(&spend);
        let fresh = self
            .write_hot(
                move |c| row_direct(c, SPEND_EPHEMERAL, &fast),
                row_pooled(self.pool(), SPEND_EPHEMERAL, &spend),
            )
            .await?;
        self.spent(kind, id, fresh).await
    }

    async fn delete(&self, kind: EphemeralKind, id: &str) -> Result<(), StoreError> {
        self.write_one(
            "DELETE FROM ephemeral WHERE kind = $1 AND id = $2",
            &[Arg::Text(kind.as_str()), Arg::Text(id)],
        )
        .await
        .map(drop)
    }

    async fn purge_expired(&self, before: UnixTime) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM ephemeral WHERE expires_at < $1")
            .bind(before)
            .run(self)
            .await
    }
}

const NEWEST_AUDIT_ROW: &str = "SELECT id, chain FROM audit_log ORDER BY id DESC LIMIT 1";
const APPEND_AUDIT_ROW: &str = "INSERT INTO audit_log
     (at, kind, user_id, client_id, actor, ip, user_agent, detail, chain)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// The chain value a new audit row links to: the newest row's (id, chain), if any. Rows
/// from before the chain began link to where it starts after them.
fn chain_before(newest: Option<(i64, Option<String>)>) -> String {
    match newest {
        Some((id, chain)) => chain.unwrap_or_else(|| idp_core::model::chain_start(Some(id))),
        None => idp_core::model::chain_start(None),
    }
}

/// PostgreSQL: takes the audit log's turn across nodes (a lock held to the end of the
/// transaction), waiting for it at most a second; should this node stall while it holds the
/// turn, the server ends the transaction after a few idle seconds (`POSTGRES_SETTINGS`), so
/// that no other node waits on it longer. An append that cannot take the turn in time is
/// refused (an outage: the event waits in the spool). The timeout is set in the same
/// statement, before the lock is taken (`OFFSET 0` keeps the subquery apart).
const AUDIT_TURN: &str = "SELECT pg_advisory_xact_lock(7402221) FROM (
         SELECT set_config('lock_timeout', '1s', true) OFFSET 0) AS settings";

#[async_trait]
impl AuditStore for SqlStore {
    async fn record(&self, event: &AuditEvent, link: AuditLink) -> Result<(), StoreError> {
        // One appender at a time on this node (so that appends waiting for the lock below
        // hold one pooled connection, not all of them); SQLite's writes already take turns.
        let _turn = match self.backend {
            Backend::Postgres => Some(self.audit_turn.lock().await),
            Backend::Sqlite => None,
        };
        let row = [
            Arg::Int(event.at),
            Arg::Text(event.kind.as_str()),
            Arg::MaybeText(event.user_id.as_deref()),
            Arg::MaybeText(event.client_id.as_deref()),
            Arg::MaybeText(event.actor.as_deref()),
            Arg::MaybeText(event.ip.as_deref()),
            Arg::MaybeText(event.user_agent.as_deref()),
            Arg::Text(&event.detail),
        ];
        let (fast, fast_link) = (owned(&row), link.clone());
        // Written even if the request goes away meanwhile: cancelling a request must not keep
        // its events out of the log.
        self.write_hot_else(
            IfAbandoned::Write,
            move |c| {
                use rusqlite::OptionalExtension as _;
                let newest = c
                    .prepare_cached(NEWEST_AUDIT_ROW)?
                    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                let mut values = fast;
                values.push(rusqlite::types::Value::Text(fast_link(&chain_before(
                    newest,
                ))));
                execute_direct(c, APPEND_AUDIT_ROW, &values)
            },
            async {
                // One appender at a time across nodes, each seeing the newest row (the
                // isolation level named in BEGIN: no round trip of its own).
                let mut transaction = match self.backend {
                    Backend::Postgres => self
                        .pool()
                        .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                        .await
                        .map_err(backend)?,
                    Backend::Sqlite => self.begin_writing().await?,
                };
                if self.backend == Backend::Postgres {
                    sqlx::query(AUDIT_TURN)
                        .execute(&mut *transaction)
                        .await
                        .map_err(backend)?;
                }
                let newest = sqlx::query(NEWEST_AUDIT_ROW)
                    .fetch_optional(&mut *transaction)
                    .await
                    .map_err(backend)?
                    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                    .transpose()
                    .map_err(backend)?;
                let chain = link(&chain_before(newest));
                let mut args = row.to_vec();
                args.push(Arg::Text(&chain));
                execute_pooled(&mut *transaction, APPEND_AUDIT_ROW, &args).await?;
                transaction.commit().await.map_err(backend)
            },
        )
        .await
    }

    async fn chain_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, AuditEvent, Option<String>)>, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("id").map_err(backend)?,
                    audit_from_row(row)?,
                    row.try_get("chain").map_err(backend)?,
                ))
            })
            .collect()
    }

    async fn query(
        &self,
        user_id: Option<&str>,
        kind: Option<AuditKind>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM audit_log WHERE ($1 IS NULL OR user_id = $2) AND ($3 IS NULL OR kind = $4)
             ORDER BY at DESC, id DESC LIMIT $5",
        )
        .bind(user_id)
        .bind(user_id)
        .bind(kind.map(AuditKind::as_str))
        .bind(kind.map(AuditKind::as_str))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn recent_for_user(
        &self,
        user_id: &str,
        kinds: &[AuditKind],
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        // `kind IN ($2, $3, ...)`, one parameter per kind; the SQL holds no input.
        let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 2)).collect();
        let kind_filter = if kinds.is_empty() {
            String::new()
        } else {
            format!("AND kind IN ({})", placeholders.join(", "))
        };
        let sql = format!(
            "SELECT * FROM audit_log WHERE user_id = $1 {kind_filter}
             ORDER BY at DESC, id DESC LIMIT ${}",
            kinds.len() + 2
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id);
        for kind in kinds {
            query = query.bind(kind.as_str());
        }
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter().map(audit_from_row).collect()
    }
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn push(&self, message: &Message, at: UnixTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO outbox (at, channel, recipient, subject, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(at)
        .bind(message.channel.as_str())
        .bind(&message.recipient)
        .bind(&message.subject)
        .bind(&message.body)
        .run(self)
        .await
        .map(drop)
    }

    async fn list(&self) -> Result<Vec<(UnixTime, Message)>, StoreError> {
        let rows = sqlx::query("SELECT * FROM outbox ORDER BY id")
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let channel: String = row.try_get("channel").map_err(backend)?;
                Ok((
                    row.try_get("at").map_err(backend)?,
                    Message {
                        channel: Channel::parse(&channel)
                            .ok_or_else(|| corrupt("outbox.channel"))?,
                        recipient: row.try_get("recipient").map_err(backend)?,
                        subject: row.try_get("subject").map_err(backend)?,
                        body: row.try_get("body").map_err(backend)?,
                    },
                ))
            })
            .collect()
    }
}

#[async_trait]
impl DeviceStore for SqlStore {
    async fn trust_device(&self, device: &Device) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO devices (id_hash, user_id, id, created_at, last_seen_at, ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id_hash, user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at,
                 ip = excluded.ip, user_agent = excluded.user_agent",
        )
        .bind(&device.id_hash)
        .bind(&device.user_id)
        .bind(&device.id)
        .bind(device.created_at)
        .bind(device.last_seen_at)
        .bind(&device.ip)
        .bind(&device.user_agent)
        .run(self)
        .await
        .map(drop)
    }

    async fn device_is_trusted(
        &self,
        id_hash: &str,
        user_id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let seen = sqlx::query(
            "UPDATE devices SET last_seen_at = $1
                 WHERE id_hash = $2 AND user_id = $3 AND last_seen_at >= $4",
        )
        .bind(now)
        .bind(id_hash)
        .bind(user_id)
        .bind(now - idp_core::model::DEVICE_TRUST_SECS)
        .run(self)
        .await?;
        Ok(seen > 0)
    }

    async fn list_devices(&self, user_id: &str) -> Result<Vec<Device>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM devices WHERE user_id = $1 ORDER BY last_seen_at DESC, id")
                .bind(user_id)
                .fetch_all(self.pool())
                .await
                .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(Device {
                    id: row.try_get("id").map_err(backend)?,
                    id_hash: row.try_get("id_hash").map_err(backend)?,
                    user_id: row.try_get("user_id").map_err(backend)?,
                    created_at: row.try_get("created_at").map_err(backend)?,
                    last_seen_at: row.try_get("last_seen_at").map_err(backend)?,
                    ip: row.try_get("ip").map_err(backend)?,
                    user_agent: row.try_get("user_agent").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn forget_devices_of_user(
        &self,
        user_id: &str,
        keep_id_hash: Option<&str>,
    ) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM devices WHERE user_id = $1 AND id_hash <> $2")
            .bind(user_id)
            .bind(keep_id_hash.unwrap_or_default())
            .run(self)
            .await
    }

    async fn forget_device(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let affected = sqlx::query("DELETE FROM devices WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .run(self)
            .await?;
        Ok(affected > 0)
    }
}

fn code_from_row(row: &AnyRow) -> Result<OneTimeCode, StoreError> {
    let data: String = row.try_get("data").map_err(backend)?;
    Ok(OneTimeCode {
        hash: row.try_get("hash").map_err(backend)?,
        expires_at: row.try_get("expires_at").map_err(backend)?,
        tries_left: count(row, "tries_left")?,
        data: serde_json::from_str(&data).map_err(|_| corrupt("one_time_codes.data"))?,
    })
}

#[async_trait]
impl CodeStore for SqlStore {
    async fn put_code(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        code: &OneTimeCode,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO one_time_codes (purpose, user_id, hash, expires_at, tries_left, data)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (purpose, user_id) DO UPDATE SET hash = excluded.hash,
                 expires_at = excluded.expires_at, tries_left = excluded.tries_left,
                 data = excluded.data",
        )
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(&code.hash)
        .bind(code.expires_at)
        .bind(i64::from(code.tries_left))
        .bind(code.data.to_string())
        .run(self)
        .await
        .map(drop)
    }

    async fn peek_code(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Option<OneTimeCode>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM one_time_codes WHERE purpose = $1 AND user_id = $2 AND expires_at > $3",
        )
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(backend)?;
        row.as_ref().map(code_from_row).transpose()
    }

    async fn take_code_try(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Option<OneTimeCode>, StoreError> {
        // One statement: no two requests take the same try.
        let row = self
            .write(async {
                sqlx::query(
                    "UPDATE one_time_codes SET tries_left = tries_left - 1
                     WHERE purpose = $1 AND user_id = $2 AND expires_at > $3 AND tries_left > 0
                     RETURNING *",
                )
                .bind(purpose.as_str())
                .bind(user_id)
                .bind(now)
                .fetch_optional(self.pool())
                .await
                .map_err(backend)
            })
            .await?;
        row.as_ref().map(code_from_row).transpose()
    }

    async fn consume_code(
        &self,
        purpose: CodePurpose,
        user_id: &str,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let affected = sqlx::query(
            "DELETE FROM one_time_codes WHERE purpose = $1 AND user_id = $2 AND hash = $3",
        )
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(hash)
        .run(self)
        .await?;
        Ok(affected == 1)
    }

    async fn take_code_failure(&self, user_id: &str, max: u32) -> Result<Option<u32>, StoreError> {
        // One statement, as for PIN tries: no two requests take the same count.
        let taken: Option<i64> = self
            .write(async {
                sqlx::query_scalar(
                    "UPDATE users SET code_failures = code_failures + 1
                     WHERE id = $1 AND code_failures < $2 RETURNING code_failures",
                )
                .bind(user_id)
                .bind(i64::from(max))
                .fetch_optional(self.pool())
                .await
                .map_err(backend)
            })
            .await?;
        taken
            .map(|n| u32::try_from(n).map_err(|_| corrupt("users.code_failures")))
            .transpose()
    }

    async fn reset_code_failures(&self, user_id: &str) -> Result<(), StoreError> {
        self.write_one(
            "UPDATE users SET code_failures = 0 WHERE id = $1",
            &[Arg::Text(user_id)],
        )
        .await
        .map(drop)
    }
}

#[async_trait]
impl ConsentStore for SqlStore {
    async fn consented_scopes(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let scopes: Option<String> =
            sqlx::query_scalar("SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2")
                .bind(user_id)
                .bind(client_id)
                .fetch_optional(self.pool())
                .await
                .map_err(backend)?;
        scopes
            .map(|s| serde_json::from_str(&s).map_err(|_| corrupt("consents.scopes")))
            .transpose()
    }

    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut all = self
            .consented_scopes(user_id, client_id)
            .await?
            .unwrap_or_default();
        for scope in scopes {
            if !all.contains(scope) {
                all.push(scope.clone());
            }
        }
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes,
                 granted_at = excluded.granted_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(serde_json::to_string(&all).map_err(StoreError::backend)?)
        .bind(now)
        .run(self)
        .await
        .map(drop)
    }

    async fn list_consents(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, Vec<String>, UnixTime)>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM consents WHERE user_id = $1 ORDER BY granted_at DESC, client_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let scopes: String = row.try_get("scopes").map_err(backend)?;
                Ok((
                    row.try_get("client_id").map_err(backend)?,
                    serde_json::from_str(&scopes).map_err(|_| corrupt("consents.scopes"))?,
                    row.try_get("granted_at").map_err(backend)?,
                ))
            })
            .collect()
    }

    async fn withdraw_consent(&self, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
        let affected = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .run(self)
            .await?;
        Ok(affected > 0)
    }
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

#[async_trait]
impl LeaseStore for SqlStore {
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        // One statement: the conflicting row is locked while its condition is checked.
        let held: Option<String> = self
            .write(async {
                sqlx::query_scalar(
                    "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                         expires_at = excluded.expires_at
                     WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
                     RETURNING holder",
                )
                .bind(name)
                .bind(holder)
                .bind(until)
                .bind(now)
                .fetch_optional(self.pool())
                .await
                .map_err(backend)
            })
            .await?;
        Ok(held.is_some())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .run(self)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use idp_core::model::{Consumed, EphemeralKind, GrantOwner, Rotated};
    use idp_core::store::{
        AuditStore as _, ClientStore as _, EphemeralStore as _, GrantStore as _, UserStore as _,
    };

    use super::SqlStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_writes_at_once_share_their_flushes_and_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sqlite_store(&dir).await;
        let writer = store.writer.as_ref().unwrap();
        let batch = store.batch.as_ref().unwrap();
        let before = writer.flushes.load(Ordering::Relaxed);
        let committed = batch.transactions.load(Ordering::Relaxed);
        let writes: Vec<_> = (0..64)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    let payload = serde_json::json!({ "n": n });
                    store
                        .put(
                            EphemeralKind::RefreshToken,
                            &format!("t{n}"),
                            &payload,
                            10_000,
                        )
                        .await
                })
            })
            .collect();
        for write in writes {
            write.await.unwrap().unwrap();
        }
        for n in 0..64 {
            let stored = store
                .get(EphemeralKind::RefreshToken, &format!("t{n}"), 0)
                .await
                .unwrap();
            assert_eq!(stored, Some(serde_json::json!({ "n": n })));
        }
        let flushes = writer.flushes.load(Ordering::Relaxed) - before;
        assert!(
            (1..64).contains(&flushes),
            "64 writes at once took {flushes} flushes"
        );
        let transactions = batch.transactions.load(Ordering::Relaxed) - committed;
        assert!(
            (1..64).contains(&transactions),
            "64 writes at once took {transactions} transactions"
        );
        // A write alone is flushed before it returns.
        store
            .put(
                EphemeralKind::RefreshToken,
                "alone",
                &serde_json::json!(1),
                10_000,
            )
            .await
            .unwrap();
        assert_eq!(writer.flushes.load(Ordering::Relaxed), before + flushes + 1);
    }

    /// Writes on the calling thread's connections that come while others are being committed
    /// are committed together, each in a savepoint of its own: one that fails is undone and
    /// reports its error, and the others land.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_that_fails_in_a_batch_changes_nothing_and_costs_the_others_nothing() {
        let kind = EphemeralKind::RefreshToken;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sqlite_store(&dir).await;
        let batch = store.batch.as_ref().unwrap();
        let committed = batch.transactions.load(Ordering::Relaxed);
        // The writes queue while the writers' turn is taken, then go in one transaction.
        let turn = writers_turn(&store).await;
        let put = |id: &'static str| {
            let store = store.clone();
            tokio::spawn(async move { store.put(kind, id, &serde_json::json!(id), 10_000).await })
        };
        let (first, second) = (put("first"), put("second"));
        let failing = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write_hot(
                        move |c| {
                            let row = super::owned(&super::put_args(kind, "undone", "1", 10_000));
                            super::execute_direct(c, super::PUT_EPHEMERAL, &row)?;
                            c.execute_batch("INSERT INTO no_such_table VALUES (1)")
                        },
                        std::future::ready(Ok(())),
                    )
                    .await
            })
        };
        let third = put("third");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!first.is_finished() && !failing.is_finished());
        drop(turn);
        for landed in [first, second, third] {
            landed.await.unwrap().unwrap();
        }
        let refused = failing.await.unwrap();
        assert!(refused.is_err(), "{refused:?}");
        for id in ["first", "second", "third"] {
            assert_eq!(
                store.get(kind, id, 0).await.unwrap(),
                Some(serde_json::json!(id))
            );
        }
        assert_eq!(store.get(kind, "undone", 0).await.unwrap(), None);
        assert_eq!(batch.transactions.load(Ordering::Relaxed), committed + 1);
    }

    /// A write whose caller went away while it was queued is not made; one that panics fails
    /// alone, and later writes still land.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_given_up_while_queued_is_not_made_and_a_panic_stops_nothing() {
        let kind = EphemeralKind::RefreshToken;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sqlite_store(&dir).await;
        let turn = writers_turn(&store).await;
        let given_up = {
            let store = store.clone();
            tokio::spawn(
                async move { store.put(kind, "gone", &serde_json::json!(1), 10_000).await },
            )
        };
        let panicking = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write_hot(
                        |_| -> rusqlite::Result<()> { panic!("a write that panics") },
                        std::future::ready(Ok(())),
                    )
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        given_up.abort();
        assert!(given_up.await.unwrap_err().is_cancelled());
        drop(turn);
        assert!(panicking.await.unwrap().is_err());
        store
            .put(kind, "later", &serde_json::json!(2), 10_000)
            .await
            .unwrap();
        assert_eq!(store.get(kind, "gone", 0).await.unwrap(), None);
        assert_eq!(
            store.get(kind, "later", 0).await.unwrap(),
            Some(serde_json::json!(2))
        );
    }

    /// Cancelling a request does not keep its events out of the audit log: a row queued
    /// behind the writers' turn is written though no one waits for it any more.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_audit_row_is_written_though_its_request_went_away() {
        use idp_core::model::{AuditEvent, AuditKind};
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sqlite_store(&dir).await;
        let turn = writers_turn(&store).await;
        let audited = {
            let store = store.clone();
            tokio::spawn(async move {
                let link: idp_core::store::AuditLink = Arc::new(|p: &str| format!("{p}+1"));
                store
                    .record(&AuditEvent::new(AuditKind::PinLocked, 1), link)
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        audited.abort();
        assert!(audited.await.unwrap_err().is_cancelled());
        drop(turn);
        // A write queued after it lands after it.
        let link: idp_core::store::AuditLink = Arc::new(|p: &str| format!("{p}+2"));
        let next = AuditEvent::new(AuditKind::SignUp, 2);
        store.record(&next, link).await.unwrap();
        let rows = store.chain_after(i64::MIN, 10).await.unwrap();
        let kinds: Vec<_> = rows.iter().map(|(_, event, _)| event.kind).collect();
        assert_eq!(kinds, [AuditKind::PinLocked, AuditKind::SignUp]);
        assert_eq!(rows[1].2.as_deref(), Some("start+1+2"), "one chain");
    }

    /// Takes the writers' turn, as a write through sqlx does: writes on the calling thread's
    /// connections queue meanwhile.
    async fn writers_turn(store: &SqlStore) -> tokio::sync::OwnedMutexGuard<()> {
        let writer = store.writer.as_ref().unwrap();
        writer.turn.clone().lock_owned().await
    }

    async fn sqlite_store(dir: &tempfile::TempDir) -> (Arc<SqlStore>, std::path::PathBuf) {
        let path = dir.path().join("idp.db");
        let url = format!("sqlite://{}", path.display());
        let store = Arc::new(SqlStore::open(&url, 8).await.unwrap());
        store.migrate().await.unwrap();
        (store, path)
    }

    /// A store with user "u", client "c", their grant "g", and a live refresh token "old" of
    /// payload `1`, valid until 10,000.
    async fn with_live_token(dir: &tempfile::TempDir) -> (Arc<SqlStore>, std::path::PathBuf) {
        let (store, path) = sqlite_store(dir).await;
        let client = super::super::contract::client("c");
        store.create_client(&client).await.unwrap();
        let user = super::super::contract::user("u", "alice");
        store.create_user(&user).await.unwrap();
        let grant = super::super::contract::grant("g", "u", "c");
        store.create_grant(&grant).await.unwrap();
        let kind = EphemeralKind::RefreshToken;
        store
            .put(kind, "old", &serde_json::json!(1), 10_000)
            .await
            .unwrap();
        (store, path)
    }

    /// A check that accepts a token of grant "g" of user "u".
    fn accepting_g() -> idp_core::model::RotationCheck {
        Box::new(|_: &str| {
            Some(GrantOwner {
                grant_id: "g".into(),
                user_id: "u".into(),
            })
        })
    }

    /// A refresh gets its answer ready while its rotation is flushed: the outcome comes once
    /// the rotation has run in its batch, and the rotation is durable only once flushed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotation_is_known_before_it_is_flushed_and_durable_only_after() {
        let kind = EphemeralKind::RefreshToken;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = with_live_token(&dir).await;
        // No flush ends while this is held.
        let flushing = store.writer.as_ref().unwrap().flushed.lock().await;
        let check = accepting_g();
        let rotation = store.rotate(kind, "old", 500, ("new", 10_000), check);
        let (rotated, durable) = tokio::time::timeout(std::time::Duration::from_secs(5), rotation)
            .await
            .expect("the outcome does not wait for the flush")
            .unwrap();
        assert_eq!(rotated, Rotated::Done);
        let durable = tokio::spawn(durable);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!durable.is_finished(), "durable only once flushed");
        drop(flushing);
        durable.await.unwrap().unwrap();
        assert_eq!(
            store.get(kind, "new", 500).await.unwrap(),
            Some(serde_json::json!(1))
        );
    }

    /// A rotation that ran, and came to `Done`, in a batch that then fails is not durable,
    /// and changed nothing: whoever learnt the outcome early must not answer with it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotation_done_in_a_batch_that_fails_is_not_durable_and_changes_nothing() {
        let kind = EphemeralKind::RefreshToken;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = with_live_token(&dir).await;
        let turn = writers_turn(&store).await;
        let rotating = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .rotate(kind, "old", 500, ("new", 10_000), accepting_g())
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // Queued behind the rotation, a write that breaks the batch's transaction.
        store
            .batch
            .as_ref()
            .unwrap()
            .submit(Box::new(|_| Err(rusqlite::Error::InvalidQuery)));
        drop(turn);
        let (rotated, durable) = rotating.await.unwrap().unwrap();
        assert_eq!(
            rotated,
            Rotated::Done,
            "the outcome came as the rotation ran"
        );
        assert!(durable.await.is_err(), "but the batch did not land");
        assert_eq!(store.get(kind, "new", 500).await.unwrap(), None);
        assert_eq!(
            store.get(kind, "old", 500).await.unwrap(),
            Some(serde_json::json!(1)),
            "still live"
        );
    }

    /// Statements run on the calling thread never wait for a lock: while another process
    /// writes, reads still answer and writes wait for it on sqlx's threads, then land.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_writes_wait_their_turn_while_another_process_writes() {
        let kind = EphemeralKind::RefreshToken;
        let dir = tempfile::tempdir().unwrap();
        let (store, path) = with_live_token(&dir).await;
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();

        let checked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let writing = {
            let (store, checked) = (store.clone(), checked.clone());
            tokio::spawn(async move {
                let check = Box::new(move |payload: &str| {
                    assert_eq!(payload, "1");
                    checked.fetch_add(1, Ordering::SeqCst);
                    Some(GrantOwner {
                        grant_id: "g".into(),
                        user_id: "u".into(),
                    })
                });
                super::super::contract::settled(store.rotate(
                    kind,
                    "old",
                    500,
                    ("new", 10_000),
                    check,
                ))
                .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !writing.is_finished(),
            "the write waits for the other writer"
        );
        // Readers are not held up by a writer.
        assert_eq!(
            store.get(kind, "old", 500).await.unwrap(),
            Some(serde_json::json!(1))
        );
        other.execute_batch("COMMIT").unwrap();
        assert_eq!(writing.await.unwrap(), Rotated::Done);
        assert_eq!(
            checked.load(Ordering::SeqCst),
            1,
            "checked once, when it ran"
        );
        assert_eq!(store.get(kind, "old", 500).await.unwrap(), None);
        assert_eq!(
            store.get(kind, "new", 500).await.unwrap(),
            Some(serde_json::json!(1))
        );
        let spent = store.consume(kind, "old", 500).await.unwrap();
        assert_eq!(spent, Consumed::Replayed(serde_json::json!(1)));
    }

    /// The write-ahead log is copied into the database as writes go on, though the calling
    /// thread's connections never do it themselves, and then starts afresh: it does not grow
    /// with every write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_checkpoints_the_log_as_writes_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let (store, path) = sqlite_store(&dir).await;
        let writer = store.writer.as_ref().unwrap();
        let size = |path: &std::path::Path| std::fs::metadata(path).unwrap().len();
        let wal = writer.files.as_ref().unwrap().1.clone();
        let before = size(&path);
        let payload = serde_json::json!({ "padding": "x".repeat(2000) });
        let mut logs = Vec::new();
        for round in 0..4 {
            for n in 0..super::super::writer::CHECKPOINT_EVERY {
                store
                    .put(
                        EphemeralKind::RefreshToken,
                        &format!("t{round}-{n}"),
                        &payload,
                        10_000,
                    )
                    .await
                    .unwrap();
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while writer.checkpointing.load(Ordering::Acquire)
                && std::time::Instant::now() < deadline
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            logs.push(size(&wal));
        }
        assert!(
            writer.checkpointed.load(Ordering::Relaxed)
                >= 3 * super::super::writer::CHECKPOINT_EVERY
        );
        let written = 4 * super::super::writer::CHECKPOINT_EVERY * 2000;
        assert!(
            size(&path) > before + written / 2,
            "the database file grew from {before} to {} bytes",
            size(&path)
        );
        // A round writes about 9 MB of log (a page or more for each 2 KB row); without a fresh
        // start after each checkpoint the log would hold all four rounds, about 35 MB, by now.
        // (A round's may be measured already cut back to 4 MiB: see below.)
        let most = logs.iter().copied().max().unwrap_or_default();
        assert!(
            most < 16 * 1024 * 1024,
            "the log kept growing: {logs:?} bytes after each {} writes",
            super::super::writer::CHECKPOINT_EVERY
        );
        // Once checkpointed, the next write starts the log afresh and gives back its space
        // beyond 4 MiB (journal_size_limit), so a burst of writes does not keep the disk.
        store
            .put(EphemeralKind::RefreshToken, "after", &payload, 10_000)
            .await
            .unwrap();
        assert!(
            size(&wal) <= 4 * 1024 * 1024 + 64 * 1024,
            "the log kept {} bytes after a checkpoint: {logs:?}",
            size(&wal)
        );
    }

    /// SQLite commits a statement that writes and returns rows only as it finishes; a failure
    /// then (here a deferred foreign key) is an error, not the rows of a change that was
    /// rolled back.
    #[test]
    fn a_failure_to_commit_is_not_taken_for_success() {
        let dir = tempfile::tempdir().unwrap();
        let c = rusqlite::Connection::open(dir.path().join("fk.db")).unwrap();
        c.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (id INTEGER PRIMARY KEY,
                 parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
             INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1);",
        )
        .unwrap();
        let moved = super::row_direct::<i64>(
            &c,
            "UPDATE child SET parent = 2 WHERE id = $1 RETURNING id",
            &[super::Arg::Int(1)],
        );
        assert!(moved.is_err(), "{moved:?}");
        let parent: i64 = c
            .query_row("SELECT parent FROM child WHERE id = 1", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(parent, 1);
    }

    /// An in-memory database, or one with options of its own, is served through sqlx alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_in_memory_and_with_options_work_through_sqlx() {
        let dir = tempfile::tempdir().unwrap();
        let with_options = format!(
            "sqlite://{}?mode=rwc&cache=private",
            dir.path().join("options.db").display()
        );
        for url in ["sqlite::memory:", with_options.as_str()] {
            let store = SqlStore::open(url, 1).await.unwrap();
            store.migrate().await.unwrap();
            assert!(store.direct.is_none(), "{url}");
            let kind = EphemeralKind::RefreshToken;
            store
                .put(kind, "t", &serde_json::json!(1), 10_000)
                .await
                .unwrap();
            assert_eq!(
                store.get(kind, "t", 0).await.unwrap(),
                Some(serde_json::json!(1))
            );
        }
        assert!(
            !std::fs::read_dir(".").unwrap().any(|entry| entry
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("in-memory")),
            "no file is made for an in-memory database"
        );
    }
}
