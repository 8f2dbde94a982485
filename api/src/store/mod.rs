//! The database: one diesel code path for SQLite (embedded default) and PostgreSQL.
//!
//! All SQL of the service lives below this module. Functions take a connection
//! and return `QueryResult`; the caller decides the transaction.

pub mod audit;
pub mod changes;
pub mod consultations;
pub mod outbox;
pub mod registries;
pub mod schema;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had: the database is down or the pool is exhausted.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens connections of the backend named by the URL. diesel's derived
/// `establish` tries every backend and hides the real error; this keeps it.
#[derive(Debug)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(DbConnection::Postgres)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the writer; the busy timeout makes a
                // second process (the CLI beside the server) wait instead of failing.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection whose server went away or whose transaction could not be
    /// rolled back is dropped rather than handed out again.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        std::thread::panicking() || conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledDb = PooledConnection<ConnectionManager>;

/// The shared handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    backend: Backend,
    /// SQLite allows one writer; taking turns here avoids its lock-upgrade
    /// failures (SQLITE_BUSY) between our own pooled connections, and between
    /// several stores on one file in this process (the scheduler, a test's
    /// second instance).
    sqlite_writer: Arc<std::sync::Mutex<()>>,
}

/// The one writer turn of a SQLite file in this process.
fn sqlite_writer_for(url: &str) -> Arc<std::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    static TURNS: LazyLock<Mutex<HashMap<std::path::PathBuf, Arc<Mutex<()>>>>> =
        LazyLock::new(Default::default);
    let path = std::path::Path::new(url.strip_prefix("sqlite://").unwrap_or(url));
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    TURNS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_default()
        .clone()
}

/// How long a request waits for a connection before it is answered 503, when
/// nothing else is said (the command line, the tests' own stores).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The pool's connections now (for the metrics).
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

impl Store {
    pub fn connect(url: &str, pool_size: u32) -> StoreResult<Store> {
        Store::connect_with_timeout(url, pool_size, CONNECT_TIMEOUT)
    }

    /// `timeout`: how long to wait for a connection (from the pool, or a new
    /// one when the database was away) before giving up with `Unavailable`.
    pub fn connect_with_timeout(
        url: &str,
        pool_size: u32,
        timeout: Duration,
    ) -> StoreResult<Store> {
        let backend = Backend::from_url(url);
        if backend == Backend::Sqlite {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
            }
        }
        let manager = ConnectionManager {
            url: url.to_string(),
            backend,
        };
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(timeout)
            .test_on_check_out(true)
            .build(manager)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let sqlite_writer = match backend {
            Backend::Sqlite => sqlite_writer_for(url),
            Backend::Postgres => Arc::new(std::sync::Mutex::new(())),
        };
        Ok(Store {
            pool,
            backend,
            sqlite_writer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            max: self.pool.max_size(),
        }
    }

    fn conn(&self) -> StoreResult<PooledDb> {
        self.pool
            .get()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Applies pending migrations. On PostgreSQL an advisory lock keeps two
    /// instances starting together from migrating at once.
    pub fn migrate(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.conn()?;
        let applied = match &mut *conn {
            DbConnection::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.iter().map(ToString::to_string).collect()),
            DbConnection::Postgres(c) => {
                c.batch_execute("SELECT pg_advisory_lock(7317001)")?;
                let result = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.iter().map(ToString::to_string).collect());
                c.batch_execute("SELECT pg_advisory_unlock(7317001)")?;
                result
            }
        };
        applied.map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
    }

    /// Runs `f` on a pooled connection off the async workers.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        let store = self.clone();
        run_blocking(move || store.read_blocking(f)).await
    }

    /// The same as `read`, for callers that are not async.
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
    {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// Runs `f` in one transaction off the async workers: all of it is written, or none.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        let store = self.clone();
        run_blocking(move || store.write_blocking(f)).await
    }

    /// The same as `write`, for callers that are not async (the command line).
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError> + From<diesel::result::Error>,
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
    {
        let mut conn = self.conn()?;
        let _turn = match self.backend {
            Backend::Sqlite => Some(
                self.sqlite_writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            ),
            Backend::Postgres => None,
        };
        let conn: &mut DbConnection = &mut conn;
        conn.transaction(f)
    }

    /// True when a connection can be had and answers.
    pub async fn ping(&self) -> bool {
        self.read(|conn| conn.batch_execute("SELECT 1").map_err(StoreError::from))
            .await
            .is_ok()
    }
}

async fn run_blocking<T, E, F>(f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce() -> Result<T, E> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => Err(StoreError::Unavailable(join.to_string()).into()),
    }
}
