//! The SQL store. One body of SQL serves both dialects: `on_db!` expands each method once per
//! backend, so every query is written once and type-checked against both drivers. Dialect
//! differences stay in `begin_write` and in the migration files.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Database, Pool, Transaction};
use userpool_core::crypto::TokenHash;
use userpool_core::keys::{KeyPurpose, SealedKey};
use userpool_core::model::UserStatus;
use userpool_core::store::*;
use userpool_core::time::Timestamp;

use crate::codec::{backend, from_json, hashes_from_json, hashes_to_json, to_json};
use crate::migrations;

enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's connection pool.
macro_rules! on_db {
    ($self:expr, $pool:ident => $body:expr) => {
        match &$self.db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
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
            .map_err(backend)
    };
}

/// Runs a write whose row count does not matter.
macro_rules! run {
    ($query:expr, $db:expr) => {
        $query.execute($db).await.map(|_| ()).map_err(backend)
    };
}

/// A store on SQLite or PostgreSQL, chosen by the database URL.
pub struct SqlStore {
    db: Db,
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
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(connect)?;
            Db::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
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
        Ok(Self { db })
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

type PoolRow = (String, String, i64, i64);
type ClientRow = (String, String, String, String, i64);
type ConfigRow = (String, String, i64);
type UserRow = (
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    String,
    i64,
    i64,
    Option<String>,
);
type KeyRow = (
    String,
    String,
    String,
    String,
    Vec<u8>,
    i64,
    i64,
    Option<i64>,
);
type CodeRow = (String, String, String, String, i64, i64, Option<i64>);

fn pool_record((id, config, created_at, key_generation): PoolRow) -> StoreResult<PoolRecord> {
    Ok(PoolRecord {
        config: from_json("pool config", &config)?,
        id,
        created_at,
        key_generation,
    })
}

fn client_record(
    (client_id, pool_id, config, secrets, created_at): ClientRow,
) -> StoreResult<ClientRecord> {
    Ok(ClientRecord {
        config: from_json("client config", &config)?,
        secret_hashes: hashes_from_json(&secrets)?,
        pool_id,
        client_id,
        created_at,
    })
}

fn user_record(row: UserRow) -> StoreResult<UserRecord> {
    let (
        pool_id,
        username,
        sub,
        status,
        enabled,
        password_hash,
        attributes,
        created,
        updated,
        totp_secret,
    ) = row;
    Ok(UserRecord {
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("user status {status}")))?,
        attributes: from_json("user attributes", &attributes)?,
        pool_id,
        username,
        sub,
        enabled,
        password_hash,
        totp_secret,
        created_at: created,
        updated_at: updated,
    })
}

fn key_record(row: KeyRow) -> StoreResult<SigningKeyRecord> {
    let (pool_id, kid, purpose, kek_id, blob, created_at, activates_at, retires_at) = row;
    Ok(SigningKeyRecord {
        purpose: KeyPurpose::parse(&purpose)
            .ok_or_else(|| StoreError::Corrupt(format!("key purpose {purpose}")))?,
        private_key: SealedKey { kek_id, blob },
        pool_id,
        kid,
        created_at,
        activates_at,
        retires_at,
    })
}

fn code_record(row: CodeRow) -> (CodeRecord, bool) {
    let (hash, pool_id, client_id, payload, created_at, expires_at, consumed_at) = row;
    let rec = CodeRecord {
        hash: TokenHash::from_stored(hash),
        pool_id,
        client_id,
        payload,
        created_at,
        expires_at,
    };
    (rec, consumed_at.is_some())
}

const POOL_COLUMNS: &str = "id, config, created_at, key_generation";
const CLIENT_COLUMNS: &str = "client_id, pool_id, config, secret_hashes, created_at";
const USER_COLUMNS: &str = "pool_id, username, sub, status, enabled, password_hash, attributes, created_at, updated_at, totp_secret";
const KEY_COLUMNS: &str =
    "pool_id, kid, purpose, kek_id, sealed, created_at, activates_at, retires_at";
const CODE_COLUMNS: &str = "hash, pool_id, client_id, payload, created_at, expires_at, consumed_at";

/// Binds the columns of a refresh token or a token family in their table's order (the
/// `INSERT_REFRESH` / `INSERT_FAMILY` / `START_FAMILY` placeholders).
trait BindRecords: Sized {
    fn bind_refresh(self, t: &RefreshRecord) -> Self;
    fn bind_family(self, f: &FamilyRecord) -> Self;
}

impl<'q, DB> BindRecords for sqlx::query::Query<'q, DB, <DB as Database>::Arguments>
where
    DB: Database,
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<i64>: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    fn bind_refresh(self, t: &RefreshRecord) -> Self {
        self.bind(t.hash.as_str().to_string())
            .bind(t.family_id.clone())
            .bind(t.payload.clone())
            .bind(t.created_at)
            .bind(t.expires_at)
            .bind(t.replaced_at)
    }

    fn bind_family(self, f: &FamilyRecord) -> Self {
        self.bind(f.id.clone())
            .bind(f.pool_id.clone())
            .bind(f.client_id.clone())
            .bind(f.username.clone())
            .bind(f.created_at)
            .bind(f.expires_at)
            .bind(f.revoked_at)
    }
}

/// `SELECT {columns} FROM {table} {rest}` as a static string, built once per call site.
macro_rules! select {
    ($columns:expr, $rest:literal) => {{
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        SQL.get_or_init(|| format!("SELECT {} {}", $columns, $rest))
            .as_str()
    }};
}

#[async_trait]
impl PoolStore for SqlStore {
    async fn insert_pool(&self, pool: &PoolRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO pools (id, config, created_at, key_generation) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&pool.id)
            .bind(to_json(&pool.config))
            .bind(pool.created_at)
            .bind(pool.key_generation), db))
    }

    async fn get_pool(&self, id: &str) -> StoreResult<Option<PoolRecord>> {
        let sql = select!(POOL_COLUMNS, "FROM pools WHERE id = $1");
        let row: Option<PoolRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(pool_record).transpose()
    }

    async fn list_pools(&self) -> StoreResult<Vec<PoolRecord>> {
        let sql = select!(POOL_COLUMNS, "FROM pools ORDER BY created_at, id");
        let rows: Vec<PoolRow> =
            on_db!(self, db => sqlx::query_as(sql).fetch_all(db).await.map_err(backend))?;
        rows.into_iter().map(pool_record).collect()
    }

    async fn insert_client(&self, c: &ClientRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO clients (client_id, pool_id, config, secret_hashes, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&c.client_id)
            .bind(&c.pool_id)
            .bind(to_json(&c.config))
            .bind(hashes_to_json(&c.secret_hashes))
            .bind(c.created_at), db))
    }

    async fn get_client(
        &self,
        pool_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        let sql = select!(
            CLIENT_COLUMNS,
            "FROM clients WHERE client_id = $1 AND pool_id = $2"
        );
        let row: Option<ClientRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(client_id)
            .bind(pool_id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(client_record).transpose()
    }

    async fn list_clients(&self, pool_id: &str) -> StoreResult<Vec<ClientRecord>> {
        let sql = select!(
            CLIENT_COLUMNS,
            "FROM clients WHERE pool_id = $1 ORDER BY created_at, client_id"
        );
        let rows: Vec<ClientRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        rows.into_iter().map(client_record).collect()
    }

    async fn find_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        let sql = select!(CLIENT_COLUMNS, "FROM clients WHERE client_id = $1");
        let row: Option<ClientRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(client_id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(client_record).transpose()
    }

    async fn insert_domain(&self, d: &DomainRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO domains (domain, pool_id, config, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(d.config.host_key())
            .bind(&d.pool_id)
            .bind(to_json(&d.config))
            .bind(d.created_at), db))
    }

    async fn get_domain(&self, domain: &str) -> StoreResult<Option<DomainRecord>> {
        let sql = "SELECT pool_id, config, created_at FROM domains WHERE domain = $1";
        let row: Option<ConfigRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(domain.to_ascii_lowercase())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(|(pool_id, config, created_at)| {
            Ok(DomainRecord {
                config: from_json("domain config", &config)?,
                pool_id,
                created_at,
            })
        })
        .transpose()
    }

    async fn list_domains(&self) -> StoreResult<Vec<DomainRecord>> {
        let sql = "SELECT pool_id, config, created_at FROM domains ORDER BY created_at, domain";
        let rows: Vec<ConfigRow> =
            on_db!(self, db => sqlx::query_as(sql).fetch_all(db).await.map_err(backend))?;
        rows.into_iter()
            .map(|(pool_id, config, created_at)| {
                Ok(DomainRecord {
                    config: from_json("domain config", &config)?,
                    pool_id,
                    created_at,
                })
            })
            .collect()
    }

    async fn insert_resource_server(&self, rs: &ResourceServerRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO resource_servers (pool_id, identifier, config) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&rs.pool_id)
            .bind(&rs.config.identifier)
            .bind(to_json(&rs.config)), db))
    }

    async fn list_resource_servers(&self, pool_id: &str) -> StoreResult<Vec<ResourceServerRecord>> {
        let sql = "SELECT config FROM resource_servers WHERE pool_id = $1 ORDER BY identifier";
        let rows: Vec<(String,)> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        rows.into_iter()
            .map(|(config,)| {
                Ok(ResourceServerRecord {
                    pool_id: pool_id.to_string(),
                    config: from_json("resource server config", &config)?,
                })
            })
            .collect()
    }

    async fn insert_identity_provider(&self, idp: &IdentityProviderRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO identity_providers (pool_id, provider_name, config, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&idp.pool_id)
            .bind(&idp.config.provider_name)
            .bind(to_json(&idp.config))
            .bind(idp.created_at), db))
    }

    async fn list_identity_providers(
        &self,
        pool_id: &str,
    ) -> StoreResult<Vec<IdentityProviderRecord>> {
        let sql = "SELECT pool_id, config, created_at FROM identity_providers WHERE pool_id = $1 ORDER BY created_at, provider_name";
        let rows: Vec<ConfigRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        rows.into_iter()
            .map(|(pool_id, config, created_at)| {
                Ok(IdentityProviderRecord {
                    config: from_json("identity provider config", &config)?,
                    pool_id,
                    created_at,
                })
            })
            .collect()
    }

    async fn insert_group(&self, g: &GroupRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO pool_groups (pool_id, name, config, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&g.pool_id)
            .bind(&g.config.group_name)
            .bind(to_json(&g.config))
            .bind(g.created_at), db))
    }

    async fn list_groups(&self, pool_id: &str) -> StoreResult<Vec<GroupRecord>> {
        let sql =
            "SELECT pool_id, config, created_at FROM pool_groups WHERE pool_id = $1 ORDER BY name";
        let rows: Vec<ConfigRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        rows.into_iter()
            .map(|(pool_id, config, created_at)| {
                Ok(GroupRecord {
                    config: from_json("group config", &config)?,
                    pool_id,
                    created_at,
                })
            })
            .collect()
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, u: &UserRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO users (pool_id, username, sub, status, enabled, password_hash, attributes, created_at, updated_at, email, phone_number, preferred_username, totp_secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING";
        let alias = |name: &str| alias_of(u, name);
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&u.pool_id)
            .bind(&u.username)
            .bind(&u.sub)
            .bind(u.status.as_str())
            .bind(u.enabled)
            .bind(&u.password_hash)
            .bind(to_json(&u.attributes))
            .bind(u.created_at)
            .bind(u.updated_at)
            .bind(alias("email"))
            .bind(alias("phone_number"))
            .bind(alias("preferred_username"))
            .bind(&u.totp_secret), db))
    }

    async fn update_user(&self, u: &UserRecord) -> StoreResult<bool> {
        let sql = "UPDATE users SET status = $1, enabled = $2, password_hash = $3, attributes = $4, updated_at = $5, email = $6, phone_number = $7, preferred_username = $8, totp_secret = $9 WHERE pool_id = $10 AND username = $11";
        let alias = |name: &str| alias_of(u, name);
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(u.status.as_str())
            .bind(u.enabled)
            .bind(&u.password_hash)
            .bind(to_json(&u.attributes))
            .bind(u.updated_at)
            .bind(alias("email"))
            .bind(alias("phone_number"))
            .bind(alias("preferred_username"))
            .bind(&u.totp_secret)
            .bind(&u.pool_id)
            .bind(&u.username), db))
    }

    async fn link_identity(
        &self,
        pool_id: &str,
        provider: &str,
        subject: &str,
        username: &str,
    ) -> StoreResult<bool> {
        let sql = "INSERT INTO identity_links (pool_id, provider_name, provider_subject, username) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(provider)
            .bind(subject)
            .bind(username), db))
    }

    async fn find_linked_user(
        &self,
        pool_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<String>> {
        let sql = "SELECT username FROM identity_links WHERE pool_id = $1 AND provider_name = $2 AND provider_subject = $3";
        let row: Option<(String,)> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(provider)
            .bind(subject)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(|(u,)| u))
    }

    async fn use_totp_step(&self, pool_id: &str, username: &str, step: i64) -> StoreResult<bool> {
        let sql = "UPDATE users SET totp_last_step = $1 WHERE pool_id = $2 AND username = $3 AND (totp_last_step IS NULL OR totp_last_step < $1)";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(step)
            .bind(pool_id)
            .bind(username), db))
    }

    async fn get_user(&self, pool_id: &str, username: &str) -> StoreResult<Option<UserRecord>> {
        let sql = select!(
            USER_COLUMNS,
            "FROM users WHERE pool_id = $1 AND username = $2"
        );
        let row: Option<UserRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(username)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(user_record).transpose()
    }

    async fn add_user_to_group(
        &self,
        pool_id: &str,
        username: &str,
        group: &str,
    ) -> StoreResult<bool> {
        let sql = "INSERT INTO user_groups (pool_id, username, group_name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(username)
            .bind(group), db))
    }

    async fn find_user_by_alias(
        &self,
        pool_id: &str,
        attribute: &str,
        value: &str,
    ) -> StoreResult<Option<UserRecord>> {
        let sql = match attribute {
            "email" => select!(
                USER_COLUMNS,
                "FROM users WHERE pool_id = $1 AND email = $2 ORDER BY created_at, username"
            ),
            "phone_number" => select!(
                USER_COLUMNS,
                "FROM users WHERE pool_id = $1 AND phone_number = $2 ORDER BY created_at, username"
            ),
            "preferred_username" => select!(
                USER_COLUMNS,
                "FROM users WHERE pool_id = $1 AND preferred_username = $2 ORDER BY created_at, username"
            ),
            _ => return Ok(None),
        };
        let row: Option<UserRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(alias_key(attribute, value))
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(user_record).transpose()
    }

    async fn list_user_groups(&self, pool_id: &str, username: &str) -> StoreResult<Vec<String>> {
        let sql = "SELECT group_name FROM user_groups WHERE pool_id = $1 AND username = $2 ORDER BY group_name";
        let rows: Vec<(String,)> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(username)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        Ok(rows.into_iter().map(|(g,)| g).collect())
    }
}

/// The alias column value of a user's attribute.
fn alias_of(u: &UserRecord, name: &str) -> Option<String> {
    u.attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| alias_key(name, &a.value))
}

/// How an alias is compared: emails and preferred usernames case-insensitively.
fn alias_key(attribute: &str, value: &str) -> String {
    match attribute {
        "phone_number" => value.to_string(),
        _ => value.to_lowercase(),
    }
}

type SessionRow = (String, String, String, String, i64, i64, i64);
type FamilyRow = (String, String, String, String, i64, i64, Option<i64>);
type RefreshRow = (String, String, String, i64, i64, Option<i64>);

const SESSION_COLUMNS: &str = "hash, pool_id, username, payload, auth_time, created_at, expires_at";
const INSERT_FAMILY: &str = "INSERT INTO token_families (id, pool_id, client_id, username, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const START_FAMILY: &str = "INSERT INTO token_families (id, pool_id, client_id, username, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING";
const INSERT_REFRESH: &str = "INSERT INTO refresh_tokens (hash, family_id, payload, created_at, expires_at, replaced_at) VALUES ($1, $2, $3, $4, $5, $6)";
const FAMILY_COLUMNS: &str = "id, pool_id, client_id, username, created_at, expires_at, revoked_at";
const REFRESH_COLUMNS: &str = "hash, family_id, payload, created_at, expires_at, replaced_at";

fn session_record(row: SessionRow) -> SessionRecord {
    let (hash, pool_id, username, payload, auth_time, created_at, expires_at) = row;
    SessionRecord {
        hash: TokenHash::from_stored(hash),
        pool_id,
        username,
        payload,
        auth_time,
        created_at,
        expires_at,
    }
}

fn family_record(row: FamilyRow) -> FamilyRecord {
    let (id, pool_id, client_id, username, created_at, expires_at, revoked_at) = row;
    FamilyRecord {
        id,
        pool_id,
        client_id,
        username,
        created_at,
        expires_at,
        revoked_at,
    }
}

fn refresh_record(row: RefreshRow) -> RefreshRecord {
    let (hash, family_id, payload, created_at, expires_at, replaced_at) = row;
    RefreshRecord {
        hash: TokenHash::from_stored(hash),
        family_id,
        payload,
        created_at,
        expires_at,
        replaced_at,
    }
}

#[async_trait]
impl LockoutStore for SqlStore {
    async fn get_sign_in_failures(
        &self,
        pool_id: &str,
        name: &str,
    ) -> StoreResult<Option<FailureRecord>> {
        let sql = "SELECT failures, last_failure_at FROM sign_in_failures WHERE pool_id = $1 AND name = $2";
        let row: Option<(i64, i64)> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(name)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(|(failures, last_failure_at)| FailureRecord {
            failures,
            last_failure_at,
        }))
    }

    async fn record_sign_in_failure(
        &self,
        pool_id: &str,
        name: &str,
        now: Timestamp,
        reset_after: i64,
    ) -> StoreResult<FailureRecord> {
        let sql = "INSERT INTO sign_in_failures (pool_id, name, failures, last_failure_at) VALUES ($1, $2, 1, $3) \
            ON CONFLICT (pool_id, name) DO UPDATE SET \
            failures = CASE WHEN $3 - sign_in_failures.last_failure_at >= $4 THEN 1 ELSE sign_in_failures.failures + 1 END, \
            last_failure_at = $3 \
            RETURNING failures, last_failure_at";
        let (failures, last_failure_at): (i64, i64) = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(name)
            .bind(now)
            .bind(reset_after)
            .fetch_one(db)
            .await
            .map_err(backend))?;
        Ok(FailureRecord {
            failures,
            last_failure_at,
        })
    }

    async fn clear_sign_in_failures(&self, pool_id: &str, name: &str) -> StoreResult<()> {
        on_db!(self, db => run!(sqlx::query("DELETE FROM sign_in_failures WHERE pool_id = $1 AND name = $2")
            .bind(pool_id)
            .bind(name), db))
    }
}

#[async_trait]
impl UserCodeStore for SqlStore {
    async fn put_user_code(
        &self,
        pool_id: &str,
        username: &str,
        purpose: &str,
        code: &TokenHash,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let sql = "INSERT INTO user_codes (pool_id, username, purpose, code_hash, attempts, expires_at) VALUES ($1, $2, $3, $4, 0, $5) \
            ON CONFLICT (pool_id, username, purpose) DO UPDATE SET code_hash = $4, attempts = 0, expires_at = $5";
        on_db!(self, db => run!(sqlx::query(sql)
            .bind(pool_id)
            .bind(username)
            .bind(purpose)
            .bind(code.as_str())
            .bind(expires_at), db))
    }

    async fn check_user_code(
        &self,
        pool_id: &str,
        username: &str,
        purpose: &str,
        candidate: &TokenHash,
        now: Timestamp,
        max_attempts: i64,
    ) -> StoreResult<CodeCheck> {
        on_db!(self, db => {
            let mut tx = begin_write(db).await.map_err(backend)?;
            // Count the attempt first, so that racing guesses all count.
            let row: Option<(String, i64)> = sqlx::query_as(
                "UPDATE user_codes SET attempts = attempts + 1 WHERE pool_id = $1 AND username = $2 AND purpose = $3 AND expires_at > $4 AND attempts < $5 RETURNING code_hash, attempts",
            )
            .bind(pool_id)
            .bind(username)
            .bind(purpose)
            .bind(now)
            .bind(max_attempts)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            let outcome = match row {
                None => CodeCheck::Expired,
                Some((hash, _)) if TokenHash::from_stored(hash.clone()).matches_hash(candidate) => {
                    sqlx::query("DELETE FROM user_codes WHERE pool_id = $1 AND username = $2 AND purpose = $3")
                        .bind(pool_id)
                        .bind(username)
                        .bind(purpose)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    CodeCheck::Valid
                }
                Some(_) => CodeCheck::Mismatch,
            };
            tx.commit().await.map_err(backend)?;
            Ok(outcome)
        })
    }
}

type ChallengeRow = (String, String, String, String, String, i64, i64);
const CHALLENGE_COLUMNS: &str = "hash, pool_id, username, kind, payload, created_at, expires_at";

fn challenge_record(row: ChallengeRow) -> ChallengeRecord {
    let (hash, pool_id, username, kind, payload, created_at, expires_at) = row;
    ChallengeRecord {
        hash: TokenHash::from_stored(hash),
        pool_id,
        username,
        kind,
        payload,
        created_at,
        expires_at,
    }
}

#[async_trait]
impl ChallengeStore for SqlStore {
    async fn insert_challenge(&self, c: &ChallengeRecord) -> StoreResult<()> {
        let sql = "INSERT INTO auth_challenges (hash, pool_id, username, kind, payload, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        on_db!(self, db => run!(sqlx::query(sql)
            .bind(c.hash.as_str())
            .bind(&c.pool_id)
            .bind(&c.username)
            .bind(&c.kind)
            .bind(&c.payload)
            .bind(c.created_at)
            .bind(c.expires_at), db))
    }

    async fn get_challenge(&self, hash: &TokenHash) -> StoreResult<Option<ChallengeRecord>> {
        let sql = select!(CHALLENGE_COLUMNS, "FROM auth_challenges WHERE hash = $1");
        let row: Option<ChallengeRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(hash.as_str())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(challenge_record))
    }

    async fn take_challenge(&self, hash: &TokenHash) -> StoreResult<Option<ChallengeRecord>> {
        let sql = "DELETE FROM auth_challenges WHERE hash = $1 RETURNING hash, pool_id, username, kind, payload, created_at, expires_at";
        let row: Option<ChallengeRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(hash.as_str())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(challenge_record))
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, x: &SessionRecord) -> StoreResult<()> {
        let sql = "INSERT INTO sessions (hash, pool_id, username, payload, auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        on_db!(self, db => run!(sqlx::query(sql)
            .bind(x.hash.as_str())
            .bind(&x.pool_id)
            .bind(&x.username)
            .bind(&x.payload)
            .bind(x.auth_time)
            .bind(x.created_at)
            .bind(x.expires_at), db))
    }

    async fn get_session(&self, hash: &TokenHash) -> StoreResult<Option<SessionRecord>> {
        let sql = select!(SESSION_COLUMNS, "FROM sessions WHERE hash = $1");
        let row: Option<SessionRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(hash.as_str())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(session_record))
    }

    async fn delete_user_sessions(&self, pool_id: &str, username: &str) -> StoreResult<()> {
        on_db!(self, db => run!(sqlx::query("DELETE FROM sessions WHERE pool_id = $1 AND username = $2")
            .bind(pool_id)
            .bind(username), db))
    }

    async fn delete_session(&self, hash: &TokenHash) -> StoreResult<()> {
        on_db!(self, db => run!(sqlx::query("DELETE FROM sessions WHERE hash = $1")
            .bind(hash.as_str()), db))
    }
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn insert_family(&self, f: &FamilyRecord) -> StoreResult<()> {
        on_db!(self, db => run!(sqlx::query(INSERT_FAMILY)
            .bind_family(f), db))
    }

    async fn bar_family(&self, f: &FamilyRecord, now: Timestamp) -> StoreResult<()> {
        let sql = "INSERT INTO token_families (id, pool_id, client_id, username, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
            ON CONFLICT (id) DO UPDATE SET revoked_at = COALESCE(token_families.revoked_at, $7)";
        on_db!(self, db => run!(sqlx::query(sql)
            .bind(&f.id)
            .bind(&f.pool_id)
            .bind(&f.client_id)
            .bind(&f.username)
            .bind(f.created_at)
            .bind(f.expires_at)
            .bind(now), db))
    }

    async fn start_family(&self, f: &FamilyRecord, t: &RefreshRecord) -> StoreResult<bool> {
        on_db!(self, db => {
            let mut tx = begin_write(db).await.map_err(backend)?;
            let created = sqlx::query(START_FAMILY)
                .bind_family(f)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            if created.rows_affected() != 1 {
                tx.rollback().await.map_err(backend)?;
                return Ok(false);
            }
            sqlx::query(INSERT_REFRESH)
                .bind_refresh(t)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            Ok(true)
        })
    }

    async fn get_family(&self, id: &str) -> StoreResult<Option<FamilyRecord>> {
        let sql = select!(FAMILY_COLUMNS, "FROM token_families WHERE id = $1");
        let row: Option<FamilyRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(family_record))
    }

    async fn revoke_family(&self, id: &str, now: Timestamp) -> StoreResult<()> {
        let sql = "UPDATE token_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
        on_db!(self, db => run!(sqlx::query(sql)
            .bind(now)
            .bind(id), db))
    }

    async fn revoke_user_families(
        &self,
        pool_id: &str,
        username: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let sql = "UPDATE token_families SET revoked_at = $1 WHERE pool_id = $2 AND username = $3 AND revoked_at IS NULL";
        on_db!(self, db => run!(sqlx::query(sql)
            .bind(now)
            .bind(pool_id)
            .bind(username), db))
    }

    async fn insert_refresh(&self, t: &RefreshRecord) -> StoreResult<()> {
        on_db!(self, db => run!(sqlx::query(INSERT_REFRESH)
            .bind_refresh(t), db))
    }

    async fn find_refresh(&self, hash: &TokenHash) -> StoreResult<Option<RefreshRecord>> {
        let sql = select!(REFRESH_COLUMNS, "FROM refresh_tokens WHERE hash = $1");
        let row: Option<RefreshRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(hash.as_str())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(refresh_record))
    }

    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: &RefreshRecord,
        now: Timestamp,
    ) -> StoreResult<ConsumeOutcome<RefreshRecord>> {
        on_db!(self, db => {
            let mut tx = begin_write(db).await.map_err(backend)?;
            let won: Option<RefreshRow> = sqlx::query_as(
                "UPDATE refresh_tokens SET replaced_at = $1 WHERE hash = $2 AND replaced_at IS NULL RETURNING hash, family_id, payload, created_at, expires_at, replaced_at",
            )
            .bind(now)
            .bind(old.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            let outcome = match won {
                Some(row) => {
                    sqlx::query(INSERT_REFRESH)
                        .bind_refresh(new)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    ConsumeOutcome::Consumed(refresh_record(row))
                }
                None => {
                    let sql = select!(REFRESH_COLUMNS, "FROM refresh_tokens WHERE hash = $1");
                    let seen: Option<RefreshRow> = sqlx::query_as(sql)
                        .bind(old.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend)?;
                    match seen.map(refresh_record) {
                        Some(rec) if rec.replaced_at.is_some() => ConsumeOutcome::AlreadyConsumed(rec),
                        _ => ConsumeOutcome::Missing,
                    }
                }
            };
            tx.commit().await.map_err(backend)?;
            Ok(outcome)
        })
    }
}

#[async_trait]
impl CodeStore for SqlStore {
    async fn insert_code(&self, c: &CodeRecord) -> StoreResult<()> {
        let sql = "INSERT INTO auth_codes (hash, pool_id, client_id, payload, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
        on_db!(self, db => run!(sqlx::query(sql)
            .bind(c.hash.as_str())
            .bind(&c.pool_id)
            .bind(&c.client_id)
            .bind(&c.payload)
            .bind(c.created_at)
            .bind(c.expires_at), db))
    }

    async fn consume_code(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<ConsumeOutcome<CodeRecord>> {
        // One statement decides the winner; a lost race reads the record to report the replay.
        let sql = "UPDATE auth_codes SET consumed_at = $1 WHERE hash = $2 AND consumed_at IS NULL RETURNING hash, pool_id, client_id, payload, created_at, expires_at, consumed_at";
        let won: Option<CodeRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(now)
            .bind(hash.as_str())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        if let Some(row) = won {
            return Ok(ConsumeOutcome::Consumed(code_record(row).0));
        }
        let sql = select!(CODE_COLUMNS, "FROM auth_codes WHERE hash = $1");
        let seen: Option<CodeRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(hash.as_str())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(match seen.map(code_record) {
            Some((rec, true)) => ConsumeOutcome::AlreadyConsumed(rec),
            // Present but unconsumed cannot follow a failed consume; treat it as missing.
            Some((_, false)) | None => ConsumeOutcome::Missing,
        })
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn list_signing_keys(&self, pool_id: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let sql = select!(
            KEY_COLUMNS,
            "FROM signing_keys WHERE pool_id = $1 ORDER BY activates_at, created_at, kid"
        );
        let rows: Vec<KeyRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        rows.into_iter().map(key_record).collect()
    }

    async fn rotate_signing_keys(
        &self,
        pool_id: &str,
        expected_generation: i64,
        new_keys: &[SigningKeyRecord],
        retire_previous_at: Timestamp,
    ) -> StoreResult<CasOutcome> {
        on_db!(self, db => {
            let mut tx = begin_write(db).await.map_err(backend)?;
            let bumped = sqlx::query(
                "UPDATE pools SET key_generation = key_generation + 1 WHERE id = $1 AND key_generation = $2",
            )
            .bind(pool_id)
            .bind(expected_generation)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            if bumped.rows_affected() != 1 {
                tx.rollback().await.map_err(backend)?;
                return Ok(CasOutcome::Stale);
            }
            sqlx::query("UPDATE signing_keys SET retires_at = $1 WHERE pool_id = $2 AND retires_at IS NULL")
                .bind(retire_previous_at)
                .bind(pool_id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            for k in new_keys {
                sqlx::query("INSERT INTO signing_keys (pool_id, kid, purpose, kek_id, sealed, created_at, activates_at, retires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(&k.pool_id)
                    .bind(&k.kid)
                    .bind(k.purpose.as_str())
                    .bind(&k.private_key.kek_id)
                    .bind(&k.private_key.blob)
                    .bind(k.created_at)
                    .bind(k.activates_at)
                    .bind(k.retires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            tx.commit().await.map_err(backend)?;
            Ok(CasOutcome::Applied)
        })
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
];

type SamlCredentialRow = (String, String, i64, String, String, i64, i64);

#[async_trait]
impl SamlStore for SqlStore {
    async fn list_saml_credentials(
        &self,
        pool_id: &str,
        owner: &str,
    ) -> StoreResult<Vec<SamlCredentialRecord>> {
        let sql = "SELECT pool_id, owner, generation, sealed_key, cert_pem, created_at, not_after FROM saml_credentials WHERE pool_id = $1 AND owner = $2 ORDER BY generation";
        let rows: Vec<SamlCredentialRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(owner)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        Ok(rows
            .into_iter()
            .map(
                |(pool_id, owner, generation, sealed_key, cert_pem, created_at, not_after)| {
                    SamlCredentialRecord {
                        pool_id,
                        owner,
                        generation,
                        sealed_key,
                        cert_pem,
                        created_at,
                        not_after,
                    }
                },
            )
            .collect())
    }

    async fn insert_saml_credential(&self, c: &SamlCredentialRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO saml_credentials (pool_id, owner, generation, sealed_key, cert_pem, created_at, not_after) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&c.pool_id)
            .bind(&c.owner)
            .bind(c.generation)
            .bind(&c.sealed_key)
            .bind(&c.cert_pem)
            .bind(c.created_at)
            .bind(c.not_after), db))
    }

    async fn first_saml_use(
        &self,
        pool_id: &str,
        message_id: &str,
        expires_at: Timestamp,
    ) -> StoreResult<bool> {
        let sql = "INSERT INTO saml_replay (pool_id, message_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(message_id)
            .bind(expires_at), db))
    }

    async fn tag_saml_session(&self, x: &SamlSessionRecord) -> StoreResult<()> {
        let sql = "INSERT INTO saml_sessions (session_hash, pool_id, subject_key, session_key) VALUES ($1, $2, $3, $4)";
        on_db!(self, db => run!(sqlx::query(sql)
            .bind(x.session_hash.as_str())
            .bind(&x.pool_id)
            .bind(&x.subject_key)
            .bind(&x.session_key), db))
    }

    async fn end_saml_sessions(
        &self,
        pool_id: &str,
        subject_key: &str,
        session_keys: &[String],
    ) -> StoreResult<u64> {
        let mut ended = 0;
        // One statement per key keeps the SQL identical on both databases; a LogoutRequest
        // carries one SessionIndex or a handful.
        let keys: Vec<Option<&str>> = if session_keys.is_empty() {
            vec![None]
        } else {
            session_keys.iter().map(|k| Some(k.as_str())).collect()
        };
        for key in keys {
            let sql = "DELETE FROM sessions WHERE hash IN (SELECT session_hash FROM saml_sessions WHERE pool_id = $1 AND subject_key = $2 AND ($3 IS NULL OR session_key = $3))";
            ended += on_db!(self, db => sqlx::query(sql)
                .bind(pool_id)
                .bind(subject_key)
                .bind(key)
                .execute(db)
                .await
                .map(|r| r.rows_affected())
                .map_err(backend))?;
        }
        Ok(ended)
    }
}

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
