//! `userpool audit`: a user's audit trail for the operator, every event with what Cognito's
//! listing cannot show (administrators' changes, lockouts, the client or provider involved).

use std::io::Write;

use serde_json::json;
use userpool_core::store::{AuditStore, PoolStore};

use crate::cli::DatabaseArgs;

pub(crate) async fn audit_command(
    database: &DatabaseArgs,
    pool_id: &str,
    username: &str,
    limit: u32,
) -> anyhow::Result<()> {
    let store = crate::app::open_store(&database.database).await?;
    anyhow::ensure!(
        store.get_pool(pool_id).await?.is_some(),
        "pool {pool_id} does not exist"
    );
    let events = store
        .list_auth_events(pool_id, username, None, limit, true)
        .await?;
    let mut out = std::io::stdout().lock();
    for e in &events {
        let line = json!({
            "EventId": e.event_id,
            "EventType": e.event_type,
            "EventResponse": e.response,
            "CreationDate": e.created_ms as f64 / 1000.0,
            "ChallengeResponses": serde_json::from_str::<serde_json::Value>(&e.challenges)?,
            "Detail": e.detail,
            "IpAddress": e.ip_address,
            "Feedback": e.feedback,
        });
        writeln!(out, "{line}")?;
    }
    store.close().await;
    Ok(())
}
