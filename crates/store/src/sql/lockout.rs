//! `LockoutStore`: failed sign-ins per typed username, counted atomically and reset after a
//! quiet spell.

use async_trait::async_trait;
use userpool_core::store::*;
use userpool_core::time::Timestamp;

use super::SqlStore;
use crate::codec::backend;

row! {
    struct FailureRow {
        failures: i64,
        last_failure_at: i64,
    }
}

impl From<FailureRow> for FailureRecord {
    fn from(row: FailureRow) -> Self {
        FailureRecord {
            failures: row.failures,
            last_failure_at: row.last_failure_at,
        }
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
        let row: Option<FailureRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(name)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(FailureRecord::from))
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
        let row: FailureRow = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(name)
            .bind(now)
            .bind(reset_after)
            .fetch_one(db)
            .await
            .map_err(backend))?;
        Ok(row.into())
    }

    async fn clear_sign_in_failures(&self, pool_id: &str, name: &str) -> StoreResult<()> {
        on_db!(self, db => run!(sqlx::query("DELETE FROM sign_in_failures WHERE pool_id = $1 AND name = $2")
            .bind(pool_id)
            .bind(name), db))
    }
}
