//! The SQL store. One body of SQL serves both dialects: `on_db!` expands each method once per
//! backend, so every query is written once and type-checked against both drivers. Dialect
//! differences stay in `begin_write` and in the migration files. This module opens the store
//! and holds the shared machinery; each aggregate's trait lives in a file of its own.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Database, Pool, Transaction};
use userpool_core::store::{Store, StoreResult};
use userpool_core::time::Timestamp;

use crate::codec::backend;
use crate::migrations;

enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's connection pool.
macro_rules! on_db {
    ($self:expr, $pool:ident => $body:expr) => {
        match &$self.db {
            $crate::sql::Db::Sqlite($pool) => $body,
            $crate::sql::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs a write; true when it changed exactly one row (an insert that was not a conflict, an
/// update that matched).
macro_rules! changed_one {
    ($query:expr, $db:expr) => {
        $query
            .execute($db)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err($crate::codec::backend)
    };
}

/// Runs a write whose row count does not matter.
macro_rules! run {
    ($query:expr, $db:expr) => {
        $query
            .execute($db)
            .await
            .map(|_| ())
            .map_err($crate::codec::backend)
    };
}

/// `SELECT {columns} FROM {table} {rest}` as a static string, built once per call site.
macro_rules! select {
    ($columns:expr, $rest:literal) => {{
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        SQL.get_or_init(|| format!("SELECT {} {}", $columns, $rest))
            .as_str()
    }};
}

/// Declares a row struct and its `FromRow` for every backend: each field is read from the
/// column of the same name, so a query's column list names the fields, in any order.
macro_rules! row {
    ($(#[$meta:meta])* struct $name:ident { $($field:ident: $ty:ty),+ $(,)? }) => {
        $(#[$meta])*
        struct $name {
            $($field: $ty),+
        }

        impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for $name
        where
            &'r str: sqlx::ColumnIndex<R>,
            $($ty: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,)+
        {
            fn from_row(row: &'r R) -> sqlx::Result<Self> {
                Ok(Self {
                    $($field: row.try_get(stringify!($field))?),+
                })
            }
        }
    };
}

mod access_keys;
mod audit;
mod bulk;
mod challenges;
mod changes;
mod codes;
mod devices;
mod group_commit;
mod import_jobs;
mod keys;
mod lockout;
mod passkeys;
mod pools;
mod saml;
mod sessions;
mod tokens;
mod user_codes;
mod users;

pub use changes::ConfigChanges;

/// How long a PostgreSQL connection may sit idle before its next use checks it first.
const STALE_AFTER: Duration = Duration::from_secs(1);

/// A store on SQLite or PostgreSQL, chosen by the database URL.
pub struct SqlStore {
    db: Db,
    /// SQLite's queue of code redemptions, committed in batches.
    redemptions: std::sync::Arc<group_commit::GroupCommit>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the database URL is not sqlite://… or postgres://…")]
    UnknownScheme,
    #[error("cannot open database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot migrate database {url}: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
}

/// The URL with any password and every query parameter removed, for messages.
fn redact(url: &str) -> String {
    let url = url.split('?').next().unwrap_or(url);
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Starts a transaction that may write. SQLite must take its write lock up front: a deferred
/// transaction that reads and then writes fails with SQLITE_BUSY under concurrency.
async fn begin_write<DB: Database>(pool: &Pool<DB>) -> sqlx::Result<Transaction<'static, DB>> {
    if DB::NAME == "SQLite" {
        pool.begin_with("BEGIN IMMEDIATE").await
    } else {
        pool.begin().await
    }
}

impl SqlStore {
    /// Opens (creating a SQLite file if needed) and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let shown = redact(url);
        let connect = |source| OpenError::Connect {
            url: shown.clone(),
            source,
        };
        let db = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(connect)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            // A local file's connection cannot go stale: no health check per query (sqlx's
            // default pings the connection's worker thread before each use).
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(5))
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .map_err(connect)?;
            Db::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // A connection is checked (a round trip) only when it has sat idle long enough to
            // have gone stale (a restarted server, a dropped network path), not before every
            // query as sqlx's default does: under load that doubled the round trips.
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= STALE_AFTER {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect(url)
                .await
                .map_err(connect)?;
            Db::Postgres(pool)
        } else {
            return Err(OpenError::UnknownScheme);
        };
        let migrate = |source| OpenError::Migrate {
            url: shown.clone(),
            source,
        };
        match &db {
            Db::Sqlite(p) => migrations::sqlite().run(p).await.map_err(migrate)?,
            Db::Postgres(p) => migrations::postgres().run(p).await.map_err(migrate)?,
        }
        Ok(Self {
            db,
            redemptions: Default::default(),
        })
    }

    /// The schema version of a SQLite file, read without changing it: `None` when it is not a
    /// userpool database, or one newer than this binary knows.
    pub async fn sqlite_schema_version(path: &str) -> Option<i64> {
        use sqlx::Connection;
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let mut c = sqlx::SqliteConnection::connect_with(&options).await.ok()?;
        let version: Option<(i64,)> =
            sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_optional(&mut c)
                .await
                .ok()?;
        c.close().await.ok();
        version
            .map(|(v,)| v)
            .filter(|v| *v >= 1 && *v <= migrations::latest())
    }

    /// Writes a consistent copy of a SQLite database to `path` (a new file) while it serves:
    /// `VACUUM INTO` reads in one transaction. `Ok(false)` on PostgreSQL, whose tools do this.
    pub async fn backup_to(&self, path: &str) -> StoreResult<bool> {
        match &self.db {
            Db::Sqlite(db) => {
                sqlx::query("VACUUM INTO $1")
                    .bind(path)
                    .execute(db)
                    .await
                    .map_err(backend)?;
                Ok(true)
            }
            Db::Postgres(_) => Ok(false),
        }
    }

    /// The connection pool's open and idle connections (for the metrics).
    pub fn pool_stats(&self) -> (u32, usize) {
        on_db!(self, db => (db.size(), db.num_idle()))
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection (waits for checked-out ones).
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        on_db!(self, db => run!(sqlx::query("SELECT 1"), db))
    }

    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        on_db!(self, db => {
            let mut purged = 0;
            for sql in PURGES {
                purged += sqlx::query(*sql)
                    .bind(now)
                    .execute(db)
                    .await
                    .map_err(backend)?
                    .rows_affected();
            }
            Ok(purged)
        })
    }
}

/// What `purge_expired` deletes, each statement bound to `now`. Refresh tokens go with their
/// family (ON DELETE CASCADE); SAML session tags with their session.
const PURGES: &[&str] = &[
    "DELETE FROM auth_codes WHERE expires_at < $1",
    "DELETE FROM signing_keys WHERE retires_at IS NOT NULL AND retires_at < $1",
    "DELETE FROM auth_challenges WHERE expires_at < $1",
    "DELETE FROM user_codes WHERE expires_at < $1",
    "DELETE FROM saml_replay WHERE expires_at < $1",
    "DELETE FROM sessions WHERE expires_at < $1",
    "DELETE FROM token_families WHERE expires_at < $1",
    // Counters quiet for longer than the longest window (`auth::lockout::SEND_WINDOW`, an
    // hour) would start over anyway.
    "DELETE FROM sign_in_failures WHERE last_failure_at < $1 - 3600",
    "DELETE FROM auth_events WHERE expires_at < $1",
];

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgres://u:secret@localhost/db"),
            "postgres://u:***@localhost/db"
        );
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(
            redact("postgres://h/db?password=secret&user=u"),
            "postgres://h/db"
        );
    }
}
