//! `AuditStore`: the authentication events of each user, newest first, purged when they
//! expire (see `PURGES`).

use async_trait::async_trait;
use userpool_core::store::*;

use super::SqlStore;
use crate::codec::backend;

row! {
    struct EventRow {
        event_id: String,
        pool_id: String,
        username: String,
        event_type: String,
        response: String,
        challenges: String,
        detail: String,
        ip_address: Option<String>,
        created_ms: i64,
        expires_at: i64,
        feedback: Option<String>,
    }
}

impl From<EventRow> for AuthEventRecord {
    fn from(r: EventRow) -> Self {
        AuthEventRecord {
            event_id: r.event_id,
            pool_id: r.pool_id,
            username: r.username,
            event_type: r.event_type,
            response: r.response,
            challenges: r.challenges,
            detail: r.detail,
            ip_address: r.ip_address,
            created_ms: r.created_ms,
            expires_at: r.expires_at,
            feedback: r.feedback,
        }
    }
}

const COLUMNS: &str = "event_id, pool_id, username, event_type, response, challenges, detail, \
    ip_address, created_ms, expires_at, feedback";

#[async_trait]
impl AuditStore for SqlStore {
    async fn record_auth_event(&self, e: &AuthEventRecord) -> StoreResult<()> {
        let sql = "INSERT INTO auth_events (event_id, pool_id, username, event_type, response, \
            challenges, detail, ip_address, created_ms, expires_at, feedback) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
        on_db!(self, db => run!(sqlx::query(sql)
            .bind(&e.event_id)
            .bind(&e.pool_id)
            .bind(&e.username)
            .bind(&e.event_type)
            .bind(&e.response)
            .bind(&e.challenges)
            .bind(&e.detail)
            .bind(&e.ip_address)
            .bind(e.created_ms)
            .bind(e.expires_at)
            .bind(&e.feedback), db))
    }

    async fn list_auth_events(
        &self,
        pool_id: &str,
        username: &str,
        before: Option<(i64, String)>,
        limit: u32,
        with_admin: bool,
    ) -> StoreResult<Vec<AuthEventRecord>> {
        // Without a page mark, the mark is past every event.
        let (ms, id) = before.unwrap_or((i64::MAX, String::new()));
        let sql = select!(
            COLUMNS,
            "FROM auth_events WHERE pool_id = $1 AND username = $2 \
             AND (created_ms, event_id) < ($3, $4) \
             AND ($6 = 1 OR event_type <> 'Admin') \
             ORDER BY created_ms DESC, event_id DESC LIMIT $5"
        );
        let rows: Vec<EventRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(username)
            .bind(ms)
            .bind(&id)
            .bind(i64::from(limit))
            .bind(i64::from(with_admin))
            .fetch_all(db)
            .await
            .map_err(backend))?;
        Ok(rows.into_iter().map(AuthEventRecord::from).collect())
    }

    async fn set_auth_event_feedback(
        &self,
        pool_id: &str,
        username: &str,
        event_id: &str,
        feedback: &str,
    ) -> StoreResult<bool> {
        let sql = "UPDATE auth_events SET feedback = $4 WHERE pool_id = $1 AND username = $2 AND event_id = $3";
        let changed = on_db!(self, db => sqlx::query(sql)
            .bind(pool_id)
            .bind(username)
            .bind(event_id)
            .bind(feedback)
            .execute(db)
            .await
            .map(|r| r.rows_affected())
            .map_err(backend))?;
        Ok(changed == 1)
    }
}
