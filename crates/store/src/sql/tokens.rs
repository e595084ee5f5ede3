//! `TokenStore`: token families (one per sign-in, revoked as a whole) and their refresh tokens,
//! rotated atomically.

use async_trait::async_trait;
use sqlx::Database;
use userpool_core::crypto::TokenHash;
use userpool_core::store::*;
use userpool_core::time::Timestamp;

use super::{SqlStore, begin_write};
use crate::codec::backend;

pub(super) const CONSUME_CODE: &str =
    "UPDATE auth_codes SET consumed_at = $1 WHERE hash = $2 AND consumed_at IS NULL";
pub(super) const CODE_EXISTS: &str = "SELECT hash FROM auth_codes WHERE hash = $1";
const INSERT_FAMILY: &str = "INSERT INTO token_families (id, pool_id, client_id, username, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(super) const START_FAMILY: &str = "INSERT INTO token_families (id, pool_id, client_id, username, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING";
pub(super) const INSERT_REFRESH: &str = "INSERT INTO refresh_tokens (hash, family_id, payload, created_at, expires_at, replaced_at) VALUES ($1, $2, $3, $4, $5, $6)";
const FAMILY_COLUMNS: &str = "id, pool_id, client_id, username, created_at, expires_at, revoked_at";
const REFRESH_COLUMNS: &str = "hash, family_id, payload, created_at, expires_at, replaced_at";

row! {
    struct FamilyRow {
        id: String,
        pool_id: String,
        client_id: String,
        username: String,
        created_at: i64,
        expires_at: i64,
        revoked_at: Option<i64>,
    }
}

row! {
    struct RefreshRow {
        hash: String,
        family_id: String,
        payload: String,
        created_at: i64,
        expires_at: i64,
        replaced_at: Option<i64>,
    }
}

impl From<FamilyRow> for FamilyRecord {
    fn from(row: FamilyRow) -> Self {
        FamilyRecord {
            id: row.id,
            pool_id: row.pool_id,
            client_id: row.client_id,
            username: row.username,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }
    }
}

impl From<RefreshRow> for RefreshRecord {
    fn from(row: RefreshRow) -> Self {
        RefreshRecord {
            hash: TokenHash::from_stored(row.hash),
            family_id: row.family_id,
            payload: row.payload,
            created_at: row.created_at,
            expires_at: row.expires_at,
            replaced_at: row.replaced_at,
        }
    }
}

/// Binds the columns of a refresh token or a token family in their table's order (the
/// `INSERT_REFRESH` / `INSERT_FAMILY` / `START_FAMILY` placeholders).
pub(super) trait BindRecords: Sized {
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

/// PostgreSQL's redemption in one statement (one round trip instead of five): the code's use,
/// the family's start (only if the code was used here) and its first refresh token (only if
/// the family started here), and whether the code exists at all. Data-modifying CTEs run
/// together, atomically; a racing use waits on the code's row lock and then finds it used.
const REDEEM_PG: &str = "WITH used AS (\
        UPDATE auth_codes SET consumed_at = $1 WHERE hash = $2 AND consumed_at IS NULL RETURNING hash), \
    family AS (\
        INSERT INTO token_families (id, pool_id, client_id, username, created_at, expires_at, revoked_at) \
        SELECT $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM used) \
        ON CONFLICT (id) DO NOTHING RETURNING id), \
    refresh AS (\
        INSERT INTO refresh_tokens (hash, family_id, payload, created_at, expires_at, replaced_at) \
        SELECT $10, $11, $12, $13, $14, $15 WHERE EXISTS (SELECT 1 FROM family) RETURNING hash) \
    SELECT EXISTS (SELECT 1 FROM used) AS used, EXISTS (SELECT 1 FROM refresh) AS issued, \
        EXISTS (SELECT 1 FROM auth_codes WHERE hash = $2) AS seen";

impl SqlStore {
    /// `CodeStore::redeem_code`: the code's use and the family's start in one transaction;
    /// on SQLite, that of a batch of concurrent redemptions (`group_commit`).
    pub(super) async fn use_code_for_family(
        &self,
        hash: &TokenHash,
        now: Timestamp,
        f: &FamilyRecord,
        t: &RefreshRecord,
    ) -> StoreResult<ConsumeOutcome<()>> {
        match &self.db {
            super::Db::Sqlite(db) => {
                let r = super::group_commit::Redemption {
                    hash: hash.clone(),
                    now,
                    family: f.clone(),
                    first: t.clone(),
                };
                self.redemptions.redeem(db, r).await
            }
            super::Db::Postgres(db) => {
                use sqlx::Row as _;
                let row = sqlx::query(REDEEM_PG)
                    .bind(now)
                    .bind(hash.as_str().to_string())
                    .bind_family(f)
                    .bind_refresh(t)
                    .fetch_one(db)
                    .await
                    .map_err(backend)?;
                let flag = |name: &str| row.try_get::<bool, _>(name).map_err(backend);
                let (used, issued, seen) = (flag("used")?, flag("issued")?, flag("seen")?);
                Ok(match (used, issued, seen) {
                    (true, true, _) => ConsumeOutcome::Consumed(()),
                    // Used here, but a replay barred the family first: spent, nothing issued.
                    (true, false, _) | (false, _, true) => ConsumeOutcome::AlreadyConsumed(()),
                    (false, _, false) => ConsumeOutcome::Missing,
                })
            }
        }
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
        Ok(row.map(FamilyRecord::from))
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
        Ok(row.map(RefreshRecord::from))
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
                    ConsumeOutcome::Consumed(row.into())
                }
                None => {
                    let sql = select!(REFRESH_COLUMNS, "FROM refresh_tokens WHERE hash = $1");
                    let seen: Option<RefreshRow> = sqlx::query_as(sql)
                        .bind(old.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend)?;
                    match seen.map(RefreshRecord::from) {
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
