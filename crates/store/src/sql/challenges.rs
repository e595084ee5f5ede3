//! `ChallengeStore`: pending sign-in steps (a new password, an MFA code, a provider's answer),
//! each taken once.

use async_trait::async_trait;
use userpool_core::crypto::TokenHash;
use userpool_core::store::*;

use super::SqlStore;
use crate::codec::backend;

const CHALLENGE_COLUMNS: &str = "hash, pool_id, username, kind, payload, created_at, expires_at";

row! {
    struct ChallengeRow {
        hash: String,
        pool_id: String,
        username: String,
        kind: String,
        payload: String,
        created_at: i64,
        expires_at: i64,
    }
}

impl TryFrom<ChallengeRow> for ChallengeRecord {
    type Error = StoreError;

    fn try_from(row: ChallengeRow) -> StoreResult<Self> {
        let kind = row.kind;
        Ok(ChallengeRecord {
            kind: PendingKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("pending kind {kind}")))?,
            hash: TokenHash::from_stored(row.hash),
            pool_id: row.pool_id,
            username: row.username,
            payload: row.payload,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
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
            .bind(c.kind.as_str())
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
        row.map(ChallengeRecord::try_from).transpose()
    }

    async fn take_challenge(&self, hash: &TokenHash) -> StoreResult<Option<ChallengeRecord>> {
        let sql = "DELETE FROM auth_challenges WHERE hash = $1 RETURNING hash, pool_id, username, kind, payload, created_at, expires_at";
        let row: Option<ChallengeRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(hash.as_str())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(ChallengeRecord::try_from).transpose()
    }

    async fn replace_challenge_payload(
        &self,
        hash: &TokenHash,
        expected: &str,
        payload: &str,
    ) -> StoreResult<bool> {
        let sql = "UPDATE auth_challenges SET payload = $3 WHERE hash = $1 AND payload = $2";
        let changed = on_db!(self, db => sqlx::query(sql)
            .bind(hash.as_str())
            .bind(expected)
            .bind(payload)
            .execute(db)
            .await
            .map(|r| r.rows_affected())
            .map_err(backend))?;
        Ok(changed == 1)
    }
}
