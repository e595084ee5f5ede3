//! The change feed: on PostgreSQL, the notifications migration 0015's triggers send when a
//! pool, client, domain, identity provider or signing key changes, so a node reloads its
//! directory within milliseconds of another node's write. SQLite serves one node and has none.

use sqlx::postgres::PgListener;
use userpool_core::store::StoreResult;

use super::{Db, SqlStore};
use crate::codec::backend;

/// The channel migration 0015 notifies.
const CHANNEL: &str = "userpool_config";

/// A subscription to configuration changes.
pub struct ConfigChanges {
    listener: PgListener,
}

impl SqlStore {
    /// Subscribes to configuration changes, where the database has a change feed.
    pub async fn config_changes(&self) -> StoreResult<Option<ConfigChanges>> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await.map_err(backend)?;
        listener.listen(CHANNEL).await.map_err(backend)?;
        Ok(Some(ConfigChanges { listener }))
    }
}

impl ConfigChanges {
    /// Returns when the configuration may have changed: a change was committed, or the
    /// connection was lost and re-made (changes in between were not seen). Further
    /// notifications already received are taken too, so a burst of writes is one reload.
    pub async fn next(&mut self) -> StoreResult<()> {
        // `None`: the connection dropped; the next call reconnects and listens again.
        self.listener.try_recv().await.map_err(backend)?;
        while self.listener.next_buffered().is_some() {}
        Ok(())
    }
}
