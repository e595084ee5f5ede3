//! `DeviceStore`: users' tracked devices, their sealed SRP verifiers and remembered status.

use async_trait::async_trait;
use userpool_core::store::*;

use super::SqlStore;
use crate::codec::backend;

const COLUMNS: &str = "pool_id, username, device_key, group_key, verifier, name, remembered, last_ip, created_at, updated_at, last_authenticated_at";

row! {
    struct DeviceRow {
        pool_id: String,
        username: String,
        device_key: String,
        group_key: String,
        verifier: Option<String>,
        name: Option<String>,
        remembered: Option<bool>,
        last_ip: Option<String>,
        created_at: i64,
        updated_at: i64,
        last_authenticated_at: i64,
    }
}

impl From<DeviceRow> for DeviceRecord {
    fn from(row: DeviceRow) -> Self {
        DeviceRecord {
            pool_id: row.pool_id,
            username: row.username,
            device_key: row.device_key,
            group_key: row.group_key,
            verifier: row.verifier,
            name: row.name,
            remembered: row.remembered,
            last_ip: row.last_ip,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_authenticated_at: row.last_authenticated_at,
        }
    }
}

/// Runs an `UPDATE` of one device that binds its fields in `update_device`'s order.
async fn write_device(store: &SqlStore, sql: &'static str, d: &DeviceRecord) -> StoreResult<bool> {
    on_db!(store, db => changed_one!(sqlx::query(sql)
        .bind(&d.pool_id)
        .bind(&d.username)
        .bind(&d.device_key)
        .bind(&d.group_key)
        .bind(&d.verifier)
        .bind(&d.name)
        .bind(d.remembered)
        .bind(&d.last_ip)
        .bind(d.updated_at)
        .bind(d.last_authenticated_at), db))
}

#[async_trait]
impl DeviceStore for SqlStore {
    async fn insert_device(&self, d: &DeviceRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO devices (pool_id, username, device_key, group_key, verifier, name, remembered, last_ip, created_at, updated_at, last_authenticated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&d.pool_id)
            .bind(&d.username)
            .bind(&d.device_key)
            .bind(&d.group_key)
            .bind(&d.verifier)
            .bind(&d.name)
            .bind(d.remembered)
            .bind(&d.last_ip)
            .bind(d.created_at)
            .bind(d.updated_at)
            .bind(d.last_authenticated_at), db))
    }

    async fn get_device(
        &self,
        pool_id: &str,
        username: &str,
        device_key: &str,
    ) -> StoreResult<Option<DeviceRecord>> {
        let sql = select!(
            COLUMNS,
            "FROM devices WHERE pool_id = $1 AND username = $2 AND device_key = $3"
        );
        let row: Option<DeviceRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(username)
            .bind(device_key)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        Ok(row.map(DeviceRecord::from))
    }

    async fn list_devices(&self, pool_id: &str, username: &str) -> StoreResult<Vec<DeviceRecord>> {
        let sql = select!(
            COLUMNS,
            "FROM devices WHERE pool_id = $1 AND username = $2 ORDER BY last_authenticated_at DESC, device_key"
        );
        let rows: Vec<DeviceRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(username)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        Ok(rows.into_iter().map(DeviceRecord::from).collect())
    }

    async fn update_device(&self, d: &DeviceRecord) -> StoreResult<bool> {
        let sql = "UPDATE devices SET group_key = $4, verifier = $5, name = $6, remembered = $7, last_ip = $8, updated_at = $9, last_authenticated_at = $10 WHERE pool_id = $1 AND username = $2 AND device_key = $3";
        write_device(self, sql, d).await
    }

    async fn confirm_device(&self, d: &DeviceRecord) -> StoreResult<bool> {
        let sql = "UPDATE devices SET group_key = $4, verifier = $5, name = $6, remembered = $7, last_ip = $8, updated_at = $9, last_authenticated_at = $10 WHERE pool_id = $1 AND username = $2 AND device_key = $3 AND verifier IS NULL";
        write_device(self, sql, d).await
    }

    async fn delete_device(
        &self,
        pool_id: &str,
        username: &str,
        device_key: &str,
    ) -> StoreResult<bool> {
        let sql = "DELETE FROM devices WHERE pool_id = $1 AND username = $2 AND device_key = $3";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(username)
            .bind(device_key), db))
    }
}
