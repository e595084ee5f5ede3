//! `PasskeyStore`: users' passkeys (WebAuthn credentials) and their verifier state.

use async_trait::async_trait;
use userpool_core::store::*;

use super::SqlStore;
use crate::codec::backend;

const COLUMNS: &str = "pool_id, credential_id, username, relying_party_id, name, attachment, transports, credential, created_at";

row! {
    struct PasskeyRow {
        pool_id: String,
        credential_id: String,
        username: String,
        relying_party_id: String,
        name: String,
        attachment: Option<String>,
        transports: String,
        credential: String,
        created_at: i64,
    }
}

impl From<PasskeyRow> for PasskeyRecord {
    fn from(row: PasskeyRow) -> Self {
        PasskeyRecord {
            pool_id: row.pool_id,
            credential_id: row.credential_id,
            username: row.username,
            relying_party_id: row.relying_party_id,
            name: row.name,
            attachment: row.attachment,
            transports: serde_json::from_str(&row.transports).unwrap_or_default(),
            credential: row.credential,
            created_at: row.created_at,
        }
    }
}

#[async_trait]
impl PasskeyStore for SqlStore {
    async fn insert_passkey(&self, p: &PasskeyRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO passkeys (pool_id, credential_id, username, relying_party_id, name, attachment, transports, credential, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING";
        let transports = serde_json::to_string(&p.transports).expect("strings serialize");
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&p.pool_id)
            .bind(&p.credential_id)
            .bind(&p.username)
            .bind(&p.relying_party_id)
            .bind(&p.name)
            .bind(&p.attachment)
            .bind(&transports)
            .bind(&p.credential)
            .bind(p.created_at), db))
    }

    async fn list_passkeys(
        &self,
        pool_id: &str,
        username: &str,
    ) -> StoreResult<Vec<PasskeyRecord>> {
        let sql = select!(
            COLUMNS,
            "FROM passkeys WHERE pool_id = $1 AND username = $2 ORDER BY created_at, credential_id"
        );
        let rows: Vec<PasskeyRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(username)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        Ok(rows.into_iter().map(PasskeyRecord::from).collect())
    }

    async fn replace_passkey_credential(
        &self,
        pool_id: &str,
        credential_id: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let sql = "UPDATE passkeys SET credential = $4 WHERE pool_id = $1 AND credential_id = $2 AND credential = $3";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(credential_id)
            .bind(old)
            .bind(new), db))
    }

    async fn delete_passkey(
        &self,
        pool_id: &str,
        username: &str,
        credential_id: &str,
    ) -> StoreResult<bool> {
        let sql =
            "DELETE FROM passkeys WHERE pool_id = $1 AND username = $2 AND credential_id = $3";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(username)
            .bind(credential_id), db))
    }
}
