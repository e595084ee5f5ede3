//! `ImportJobStore`: Cognito's user import jobs, their counts, and the CSV uploaded to each.

use async_trait::async_trait;
use userpool_core::crypto::TokenHash;
use userpool_core::store::*;

use super::SqlStore;
use crate::codec::backend;

const COLUMNS: &str = "job_id, pool_id, job_name, status, role_arn, hash_algorithm, upload_token_hash, upload_expires_at, created_at, started_at, completed_at, imported, skipped, failed, completion_message, version";

row! {
    struct JobRow {
        job_id: String,
        pool_id: String,
        job_name: String,
        status: String,
        role_arn: String,
        hash_algorithm: Option<String>,
        upload_token_hash: String,
        upload_expires_at: i64,
        created_at: i64,
        started_at: Option<i64>,
        completed_at: Option<i64>,
        imported: i64,
        skipped: i64,
        failed: i64,
        completion_message: Option<String>,
        version: i64,
    }
}

impl From<JobRow> for ImportJobRecord {
    fn from(r: JobRow) -> Self {
        ImportJobRecord {
            job_id: r.job_id,
            pool_id: r.pool_id,
            job_name: r.job_name,
            status: r.status,
            role_arn: r.role_arn,
            hash_algorithm: r.hash_algorithm,
            upload_token_hash: TokenHash::from_stored(r.upload_token_hash),
            upload_expires_at: r.upload_expires_at,
            created_at: r.created_at,
            started_at: r.started_at,
            completed_at: r.completed_at,
            imported: r.imported,
            skipped: r.skipped,
            failed: r.failed,
            completion_message: r.completion_message,
            version: r.version,
        }
    }
}

#[async_trait]
impl ImportJobStore for SqlStore {
    async fn insert_import_job(&self, j: &ImportJobRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO import_jobs (job_id, pool_id, job_name, status, role_arn, hash_algorithm, upload_token_hash, upload_expires_at, created_at, started_at, completed_at, imported, skipped, failed, completion_message, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&j.job_id)
            .bind(&j.pool_id)
            .bind(&j.job_name)
            .bind(&j.status)
            .bind(&j.role_arn)
            .bind(&j.hash_algorithm)
            .bind(j.upload_token_hash.as_str())
            .bind(j.upload_expires_at)
            .bind(j.created_at)
            .bind(j.started_at)
            .bind(j.completed_at)
            .bind(j.imported)
            .bind(j.skipped)
            .bind(j.failed)
            .bind(&j.completion_message)
            .bind(j.version), db))
    }

    async fn get_import_job(
        &self,
        pool_id: &str,
        job_id: &str,
    ) -> StoreResult<Option<ImportJobRecord>> {
        let sql = select!(
            COLUMNS,
            "FROM import_jobs WHERE pool_id = $1 AND job_id = $2"
        );
        let row: Option<JobRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(job_id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(ImportJobRecord::from))
    }

    async fn list_import_jobs(
        &self,
        pool_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<ImportJobRecord>> {
        let sql = select!(
            COLUMNS,
            "FROM import_jobs WHERE pool_id = $1 AND ($2 IS NULL OR job_id > $2) ORDER BY job_id LIMIT $3"
        );
        let rows: Vec<JobRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(after)
            .bind(limit)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        Ok(rows.into_iter().map(ImportJobRecord::from).collect())
    }

    async fn import_jobs_in(&self, status: &str) -> StoreResult<Vec<ImportJobRecord>> {
        let sql = select!(
            COLUMNS,
            "FROM import_jobs WHERE status = $1 ORDER BY created_at, job_id"
        );
        let rows: Vec<JobRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(status)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        Ok(rows.into_iter().map(ImportJobRecord::from).collect())
    }

    async fn update_import_job(&self, j: &ImportJobRecord) -> StoreResult<CasOutcome> {
        let sql = "UPDATE import_jobs SET status = $3, started_at = $4, completed_at = $5, imported = $6, skipped = $7, failed = $8, completion_message = $9, version = version + 1 WHERE pool_id = $1 AND job_id = $2 AND version = $10";
        let applied = on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&j.pool_id)
            .bind(&j.job_id)
            .bind(&j.status)
            .bind(j.started_at)
            .bind(j.completed_at)
            .bind(j.imported)
            .bind(j.skipped)
            .bind(j.failed)
            .bind(&j.completion_message)
            .bind(j.version), db))?;
        Ok(if applied {
            CasOutcome::Applied
        } else {
            CasOutcome::Stale
        })
    }

    async fn put_import_csv(
        &self,
        job_id: &str,
        token: &TokenHash,
        now: i64,
        csv: &str,
    ) -> StoreResult<bool> {
        let sql = "UPDATE import_jobs SET csv = $3 WHERE job_id = $1 AND upload_token_hash = $2 AND status = 'Created' AND upload_expires_at > $4";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(job_id)
            .bind(token.as_str())
            .bind(csv)
            .bind(now), db))
    }

    async fn has_import_csv(&self, job_id: &str) -> StoreResult<bool> {
        let sql = "SELECT job_id FROM import_jobs WHERE job_id = $1 AND csv IS NOT NULL";
        let row: Option<(String,)> = on_db!(self, db => sqlx::query_as(sql)
            .bind(job_id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.is_some())
    }

    async fn import_upload_open(
        &self,
        job_id: &str,
        token: &TokenHash,
        now: i64,
    ) -> StoreResult<bool> {
        let sql = "SELECT job_id FROM import_jobs WHERE job_id = $1 AND upload_token_hash = $2 AND status = 'Created' AND upload_expires_at > $3";
        let row: Option<(String,)> = on_db!(self, db => sqlx::query_as(sql)
            .bind(job_id)
            .bind(token.as_str())
            .bind(now)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.is_some())
    }

    async fn get_import_csv(&self, job_id: &str) -> StoreResult<Option<String>> {
        let sql = "SELECT csv FROM import_jobs WHERE job_id = $1";
        let row: Option<(Option<String>,)> = on_db!(self, db => sqlx::query_as(sql)
            .bind(job_id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.and_then(|(csv,)| csv))
    }
}
