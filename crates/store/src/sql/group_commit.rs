//! Group commit of code redemptions on SQLite. With `synchronous=FULL` every commit waits for
//! an fsync, and SQLite has one writer: redemptions committed one by one are bound by the
//! disk's flush rate, not by the CPU. Here concurrent redemptions join one queue; one task
//! (started by the first caller that finds nobody draining) writes everything queued in one
//! transaction, so one fsync makes a whole batch durable, and each caller gets its own
//! outcome. A batch forms while the previous one is flushing; nothing waits for a batch to
//! fill. Durability is unchanged: no caller hears `Consumed` before its commit returned.

use std::sync::{Arc, Mutex};

use sqlx::SqlitePool;
use tokio::sync::oneshot;
use userpool_core::crypto::TokenHash;
use userpool_core::store::{ConsumeOutcome, FamilyRecord, RefreshRecord, StoreError, StoreResult};
use userpool_core::time::Timestamp;

use super::begin_write;
use super::tokens::{BindRecords, CODE_EXISTS, CONSUME_CODE, INSERT_REFRESH, START_FAMILY};
use crate::codec::backend;

/// At most this many redemptions share a transaction (bounds the write lock's hold time).
const MAX_BATCH: usize = 64;

/// One redemption waiting for its batch.
pub(super) struct Redemption {
    pub(super) hash: TokenHash,
    pub(super) now: Timestamp,
    pub(super) family: FamilyRecord,
    pub(super) first: RefreshRecord,
}

struct Waiting {
    redemption: Redemption,
    reply: oneshot::Sender<StoreResult<ConsumeOutcome<()>>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    draining: bool,
}

/// The queue of one SQLite store.
#[derive(Default)]
pub(super) struct GroupCommit {
    queue: Mutex<Queue>,
}

/// Clears `draining` when the drainer ends, even by a panic, so a later caller starts anew;
/// anyone still queued then hears an error (their reply is dropped), never silence.
struct Draining {
    queue: Arc<GroupCommit>,
    ended: bool,
}

impl Drop for Draining {
    fn drop(&mut self) {
        if !self.ended {
            let mut q = self.queue.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.draining = false;
            q.waiting.clear();
        }
    }
}

impl GroupCommit {
    /// Queues `r` and waits for the outcome of the batch that carries it.
    pub(super) async fn redeem(
        self: &Arc<Self>,
        db: &SqlitePool,
        r: Redemption,
    ) -> StoreResult<ConsumeOutcome<()>> {
        let (reply, outcome) = oneshot::channel();
        let start = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.waiting.push(Waiting {
                redemption: r,
                reply,
            });
            !std::mem::replace(&mut q.draining, true)
        };
        if start {
            // A task of its own: a caller that goes away (its client hung up) does not take
            // the others' batch with it.
            tokio::spawn(drain(self.clone(), db.clone()));
        }
        outcome.await.map_err(|_| {
            StoreError::Backend("the redemption's batch ended without an answer".into())
        })?
    }
}

async fn drain(queue: Arc<GroupCommit>, db: SqlitePool) {
    let mut guard = Draining {
        queue,
        ended: false,
    };
    loop {
        let batch: Vec<Waiting> = {
            let mut q = guard.queue.queue.lock().unwrap_or_else(|e| e.into_inner());
            if q.waiting.is_empty() {
                // Under the lock: the next caller sees `false` and starts a drainer.
                q.draining = false;
                drop(q);
                guard.ended = true;
                return;
            }
            let n = q.waiting.len().min(MAX_BATCH);
            q.waiting.drain(..n).collect()
        };
        let redemptions: Vec<&Redemption> = batch.iter().map(|w| &w.redemption).collect();
        match write(&db, &redemptions).await {
            Ok(outcomes) => {
                for (w, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = w.reply.send(Ok(outcome));
                }
            }
            // The batch rolled back as a whole: each one again alone, for its own answer.
            Err(_) if batch.len() > 1 => {
                for w in batch {
                    let outcome = write(&db, &[&w.redemption]).await.map(|mut o| o.remove(0));
                    let _ = w.reply.send(outcome.map_err(backend));
                }
            }
            Err(e) => {
                if let Some(w) = batch.into_iter().next() {
                    let _ = w.reply.send(Err(backend(e)));
                }
            }
        }
    }
}

/// Every redemption of `batch` in one transaction, in order (so a code twice in one batch is
/// used by the first and replayed by the second): the code's use, then the family's start and
/// its first refresh token, exactly as `CodeStore::redeem_code` does for one.
async fn write(db: &SqlitePool, batch: &[&Redemption]) -> sqlx::Result<Vec<ConsumeOutcome<()>>> {
    let mut tx = begin_write(db).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for r in batch {
        let used = sqlx::query(CONSUME_CODE)
            .bind(r.now)
            .bind(r.hash.as_str())
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() != 1 {
            let seen: Option<(String,)> = sqlx::query_as(CODE_EXISTS)
                .bind(r.hash.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            outcomes.push(match seen {
                Some(_) => ConsumeOutcome::AlreadyConsumed(()),
                None => ConsumeOutcome::Missing,
            });
            continue;
        }
        let started = sqlx::query(START_FAMILY)
            .bind_family(&r.family)
            .execute(&mut *tx)
            .await?;
        if started.rows_affected() != 1 {
            // A replay barred the family first: the code is spent, nothing is issued.
            outcomes.push(ConsumeOutcome::AlreadyConsumed(()));
            continue;
        }
        sqlx::query(INSERT_REFRESH)
            .bind_refresh(&r.first)
            .execute(&mut *tx)
            .await?;
        outcomes.push(ConsumeOutcome::Consumed(()));
    }
    tx.commit().await?;
    Ok(outcomes)
}
