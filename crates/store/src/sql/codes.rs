//! `CodeStore`: authorization codes, keyed by their hash and consumed at most once.

use async_trait::async_trait;
use userpool_core::crypto::TokenHash;
use userpool_core::store::*;
use userpool_core::time::Timestamp;

use super::SqlStore;
use crate::codec::backend;

const CODE_COLUMNS: &str = "hash, pool_id, client_id, payload, created_at, expires_at, consumed_at";

row! {
    struct CodeRow {
        hash: String,
        pool_id: String,
        client_id: String,
        payload: String,
        created_at: i64,
        expires_at: i64,
        consumed_at: Option<i64>,
    }
}

impl From<CodeRow> for CodeRecord {
    fn from(row: CodeRow) -> Self {
        CodeRecord {
            hash: TokenHash::from_stored(row.hash),
            pool_id: row.pool_id,
            client_id: row.client_id,
            payload: row.payload,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }
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
            return Ok(ConsumeOutcome::Consumed(row.into()));
        }
        let sql = select!(CODE_COLUMNS, "FROM auth_codes WHERE hash = $1");
        let seen: Option<CodeRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(hash.as_str())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(match seen {
            Some(row) if row.consumed_at.is_some() => ConsumeOutcome::AlreadyConsumed(row.into()),
            // Present but unconsumed cannot follow a failed consume; treat it as missing.
            Some(_) | None => ConsumeOutcome::Missing,
        })
    }

    async fn peek_code(&self, hash: &TokenHash) -> StoreResult<Option<(CodeRecord, bool)>> {
        let sql = select!(CODE_COLUMNS, "FROM auth_codes WHERE hash = $1");
        let row: Option<CodeRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(hash.as_str())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(|r| {
            let used = r.consumed_at.is_some();
            (r.into(), used)
        }))
    }

    async fn redeem_code(
        &self,
        hash: &TokenHash,
        now: Timestamp,
        family: &FamilyRecord,
        first: &RefreshRecord,
    ) -> StoreResult<ConsumeOutcome<()>> {
        self.use_code_for_family(hash, now, family, first).await
    }
}
