//! `SessionStore`: managed-login sessions behind the session cookie, found by its hash.

use async_trait::async_trait;
use userpool_core::crypto::TokenHash;
use userpool_core::store::*;

use super::SqlStore;
use crate::codec::backend;

const SESSION_COLUMNS: &str = "hash, pool_id, username, payload, auth_time, created_at, expires_at";

row! {
    struct SessionRow {
        hash: String,
        pool_id: String,
        username: String,
        payload: String,
        auth_time: i64,
        created_at: i64,
        expires_at: i64,
    }
}

impl From<SessionRow> for SessionRecord {
    fn from(row: SessionRow) -> Self {
        SessionRecord {
            hash: TokenHash::from_stored(row.hash),
            pool_id: row.pool_id,
            username: row.username,
            payload: row.payload,
            auth_time: row.auth_time,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }
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
        Ok(row.map(SessionRecord::from))
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
