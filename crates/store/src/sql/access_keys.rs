//! `AccessKeyStore`: the operator's access keys for the API's SigV4, secrets sealed.

use async_trait::async_trait;
use userpool_core::store::*;

use super::SqlStore;
use crate::codec::backend;

const COLUMNS: &str = "id, sealed_secret, description, created_at";

row! {
    struct AccessKeyRow {
        id: String,
        sealed_secret: String,
        description: String,
        created_at: i64,
    }
}

impl From<AccessKeyRow> for AccessKeyRecord {
    fn from(row: AccessKeyRow) -> Self {
        AccessKeyRecord {
            id: row.id,
            sealed_secret: row.sealed_secret,
            description: row.description,
            created_at: row.created_at,
        }
    }
}

#[async_trait]
impl AccessKeyStore for SqlStore {
    async fn insert_access_key(&self, key: &AccessKeyRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO access_keys (id, sealed_secret, description, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&key.id)
            .bind(&key.sealed_secret)
            .bind(&key.description)
            .bind(key.created_at), db))
    }

    async fn get_access_key(&self, id: &str) -> StoreResult<Option<AccessKeyRecord>> {
        let sql = select!(COLUMNS, "FROM access_keys WHERE id = $1");
        let row: Option<AccessKeyRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(AccessKeyRecord::from))
    }

    async fn list_access_keys(&self) -> StoreResult<Vec<AccessKeyRecord>> {
        let sql = select!(COLUMNS, "FROM access_keys ORDER BY created_at, id");
        let rows: Vec<AccessKeyRow> =
            on_db!(self, db => sqlx::query_as(sql).fetch_all(db).await.map_err(backend))?;
        Ok(rows.into_iter().map(AccessKeyRecord::from).collect())
    }

    async fn delete_access_key(&self, id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM access_keys WHERE id = $1";
        on_db!(self, db => changed_one!(sqlx::query(sql).bind(id), db))
    }
}
