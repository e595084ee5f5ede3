//! `UserCodeStore`: one-time codes sent to users (sign-up confirmation, password reset), stored
//! as hashes with their attempt count.

use async_trait::async_trait;
use userpool_core::crypto::TokenHash;
use userpool_core::store::*;
use userpool_core::time::Timestamp;

use super::{SqlStore, begin_write};
use crate::codec::backend;

row! {
    /// A code that has just been counted as one more attempt.
    struct AttemptedCode {
        code_hash: String,
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
            let row: Option<AttemptedCode> = sqlx::query_as(
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
                Some(row) if TokenHash::from_stored(row.code_hash.clone()).matches_hash(candidate) => {
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
