//! `SamlStore`: our SAML keys and certificates, the replay cache of message IDs, and the tags
//! that tie sessions to SAML identities for single logout.

use async_trait::async_trait;
use userpool_core::store::*;
use userpool_core::time::Timestamp;

use super::SqlStore;
use crate::codec::backend;

row! {
    struct SamlCredentialRow {
        pool_id: String,
        owner: String,
        generation: i64,
        sealed_key: String,
        cert_pem: String,
        created_at: i64,
        not_after: i64,
    }
}

impl From<SamlCredentialRow> for SamlCredentialRecord {
    fn from(row: SamlCredentialRow) -> Self {
        SamlCredentialRecord {
            pool_id: row.pool_id,
            owner: row.owner,
            generation: row.generation,
            sealed_key: row.sealed_key,
            cert_pem: row.cert_pem,
            created_at: row.created_at,
            not_after: row.not_after,
        }
    }
}

#[async_trait]
impl SamlStore for SqlStore {
    async fn list_saml_credentials(
        &self,
        pool_id: &str,
        owner: &str,
    ) -> StoreResult<Vec<SamlCredentialRecord>> {
        let sql = "SELECT pool_id, owner, generation, sealed_key, cert_pem, created_at, not_after FROM saml_credentials WHERE pool_id = $1 AND owner = $2 ORDER BY generation";
        let rows: Vec<SamlCredentialRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(owner)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        Ok(rows.into_iter().map(SamlCredentialRecord::from).collect())
    }

    async fn insert_saml_credential(&self, c: &SamlCredentialRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO saml_credentials (pool_id, owner, generation, sealed_key, cert_pem, created_at, not_after) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&c.pool_id)
            .bind(&c.owner)
            .bind(c.generation)
            .bind(&c.sealed_key)
            .bind(&c.cert_pem)
            .bind(c.created_at)
            .bind(c.not_after), db))
    }

    async fn first_saml_use(
        &self,
        pool_id: &str,
        message_id: &str,
        expires_at: Timestamp,
    ) -> StoreResult<bool> {
        let sql = "INSERT INTO saml_replay (pool_id, message_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(message_id)
            .bind(expires_at), db))
    }

    async fn tag_saml_session(&self, x: &SamlSessionRecord) -> StoreResult<()> {
        let sql = "INSERT INTO saml_sessions (session_hash, pool_id, subject_key, session_key) VALUES ($1, $2, $3, $4)";
        on_db!(self, db => run!(sqlx::query(sql)
            .bind(x.session_hash.as_str())
            .bind(&x.pool_id)
            .bind(&x.subject_key)
            .bind(&x.session_key), db))
    }

    async fn end_saml_sessions(
        &self,
        pool_id: &str,
        subject_key: &str,
        session_keys: &[String],
    ) -> StoreResult<u64> {
        let mut ended = 0;
        // One statement per key keeps the SQL identical on both databases; a LogoutRequest
        // carries one SessionIndex or a handful.
        let keys: Vec<Option<&str>> = if session_keys.is_empty() {
            vec![None]
        } else {
            session_keys.iter().map(|k| Some(k.as_str())).collect()
        };
        for key in keys {
            let sql = "DELETE FROM sessions WHERE hash IN (SELECT session_hash FROM saml_sessions WHERE pool_id = $1 AND subject_key = $2 AND ($3 IS NULL OR session_key = $3))";
            ended += on_db!(self, db => sqlx::query(sql)
                .bind(pool_id)
                .bind(subject_key)
                .bind(key)
                .execute(db)
                .await
                .map(|r| r.rows_affected())
                .map_err(backend))?;
        }
        Ok(ended)
    }
}
