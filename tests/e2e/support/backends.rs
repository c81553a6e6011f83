//! Where the provider keeps its data: a PostgreSQL database (and Redis prefix) of its own
//! per test when the run asks for them, else the SQLite file in its data directory; and SQL
//! straight on either, as someone with access to the database could.

use super::process::TestIdp;

/// A PostgreSQL database of its own (and a Redis key prefix of its own) for one test, on the
/// servers named by `IDP_TEST_POSTGRES_URL` and `IDP_TEST_REDIS_URL`. Dropped with the test.
pub struct SharedBackend {
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    admin_url: String,
    name: String,
}

/// Whether this run puts every provider on PostgreSQL (and Redis): `IDP_TEST_BACKEND=postgres`.
pub fn on_postgres() -> bool {
    std::env::var("IDP_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

impl SharedBackend {
    /// A fresh database, or `None` when `IDP_TEST_POSTGRES_URL` is not set.
    pub async fn create() -> Option<Self> {
        use sqlx::Connection as _;
        let admin_url = std::env::var("IDP_TEST_POSTGRES_URL").ok()?;
        let name = format!("idp_e2e_{}", random_suffix());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to IDP_TEST_POSTGRES_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let mut url = url::Url::parse(&admin_url).expect("IDP_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Some(Self {
            database_url: url.to_string(),
            redis_url: std::env::var("IDP_TEST_REDIS_URL").ok(),
            redis_prefix: format!("{name}:"),
            admin_url,
            name,
        })
    }

    /// The settings that point a provider at this backend.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("IDP_DATABASE_URL".to_owned(), self.database_url.clone())];
        if let Some(redis) = &self.redis_url {
            env.push(("IDP_REDIS_URL".to_owned(), redis.clone()));
            env.push(("IDP_REDIS_KEY_PREFIX".to_owned(), self.redis_prefix.clone()));
        }
        env
    }

    /// Rows of `table` matching `filter`, plus the matching records Redis holds for the
    /// tables it takes over (`sessions`, and `ephemeral` with `1` or `kind = '...'`).
    pub async fn count(&self, table: &str, filter: &str) -> i64 {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&self.database_url)
            .await
            .expect("open database");
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {filter}");
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .expect("count");
        let Some(redis_url) = &self.redis_url else {
            return rows;
        };
        let pattern = match (table, filter) {
            ("sessions", "TRUE") => "session:*".to_owned(),
            ("ephemeral", "TRUE") => "eph:*".to_owned(),
            ("ephemeral", kind) => match kind
                .strip_prefix("kind = '")
                .and_then(|k| k.strip_suffix('\''))
            {
                Some(kind) => format!("eph:{kind}:*"),
                None => panic!("count: unsupported filter `{kind}` on Redis"),
            },
            ("sessions", other) => panic!("count: unsupported filter `{other}` on Redis"),
            _ => return rows,
        };
        let client = redis::Client::open(redis_url.as_str()).expect("redis url");
        let mut redis = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}{pattern}", self.redis_prefix))
            .query_async(&mut redis)
            .await
            .expect("redis keys");
        rows + i64::try_from(keys.len()).expect("count")
    }
}

impl Drop for SharedBackend {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside any runtime: a thread of its own runs the statement.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                use sqlx::Connection as _;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A random name part (of a database, a key prefix), so that tests on one server never meet.
pub fn random_suffix() -> String {
    use rand::Rng as _;
    format!("{:016x}", rand::rng().random::<u64>())
}

impl TestIdp {
    /// Runs `sql` straight on the database, as someone with access to it could.
    pub async fn execute(&self, sql: &str) -> u64 {
        use sqlx::Connection as _;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if let Some(backend) = &self.backend {
            let mut conn = sqlx::PgConnection::connect(&backend.database_url)
                .await
                .expect("open database");
            return sqlx::query(sql)
                .execute(&mut conn)
                .await
                .expect("execute")
                .rows_affected();
        }
        let url = format!("sqlite://{}", self.dir.path().join("data/idp.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("open database");
        sqlx::query(sql)
            .execute(&mut conn)
            .await
            .expect("execute")
            .rows_affected()
    }

    /// The number of rows in `table`, read straight from the database (and Redis).
    pub async fn count(&self, table: &str, filter: &str) -> i64 {
        use sqlx::Connection as _;
        if let Some(backend) = &self.backend {
            return backend.count(table, filter).await;
        }
        let url = format!("sqlite://{}", self.dir.path().join("data/idp.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("open database");
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {filter}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .expect("count")
    }
}
