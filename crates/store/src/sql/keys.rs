//! `KeyStore`: each pool's sealed signing keys and their rotation, guarded by the pool's key
//! generation.

use async_trait::async_trait;
use userpool_core::keys::{KeyPurpose, SealedKey};
use userpool_core::store::*;
use userpool_core::time::Timestamp;

use super::{SqlStore, begin_write};
use crate::codec::backend;

const KEY_COLUMNS: &str =
    "pool_id, kid, purpose, kek_id, sealed, created_at, activates_at, retires_at";

row! {
    struct KeyRow {
        pool_id: String,
        kid: String,
        purpose: String,
        kek_id: String,
        sealed: Vec<u8>,
        created_at: i64,
        activates_at: i64,
        retires_at: Option<i64>,
    }
}

impl TryFrom<KeyRow> for SigningKeyRecord {
    type Error = StoreError;

    fn try_from(row: KeyRow) -> StoreResult<Self> {
        let purpose = row.purpose;
        Ok(SigningKeyRecord {
            purpose: KeyPurpose::parse(&purpose)
                .ok_or_else(|| StoreError::Corrupt(format!("key purpose {purpose}")))?,
            private_key: SealedKey {
                kek_id: row.kek_id,
                blob: row.sealed,
            },
            pool_id: row.pool_id,
            kid: row.kid,
            created_at: row.created_at,
            activates_at: row.activates_at,
            retires_at: row.retires_at,
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
        rows.into_iter().map(SigningKeyRecord::try_from).collect()
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
