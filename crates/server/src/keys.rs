//! Signing-key lifecycle commands: first keys for new pools, and `userpool keys rotate`. Both
//! change a pool's keys only by compare-and-swap, so nodes running them together rotate once.

use anyhow::Context;
use userpool_core::keys::{MasterKey, RotationPlan, SigningAlg};
use userpool_core::store::{CasOutcome, KeyStore, PoolRecord, PoolStore, Store};
use userpool_core::time::{Clock, SystemClock};

use crate::cli::DatabaseArgs;

/// Outcome of one pool's rotation.
pub(crate) enum Rotated {
    Done,
    /// Another node changed the keys between our read and our write; its rotation stands.
    ByAnotherNode,
}

/// Replaces both signing keys of `pool` according to `plan`, with keys of `alg`.
pub(crate) async fn rotate_pool(
    store: &dyn Store,
    master: &MasterKey,
    pool: &PoolRecord,
    plan: RotationPlan,
    now: i64,
    alg: SigningAlg,
) -> anyhow::Result<Rotated> {
    let outcome = userpool_core::keys::rotate_to(store, master, pool, plan, now, alg).await?;
    Ok(match outcome {
        CasOutcome::Applied => Rotated::Done,
        CasOutcome::Stale => Rotated::ByAnotherNode,
    })
}

/// Gives every pool that has none its first ID and access keys.
pub(crate) async fn ensure_keys(store: &dyn Store, master: &MasterKey) -> anyhow::Result<()> {
    let now = SystemClock.now();
    for pool in store.list_pools().await? {
        if pool.key_generation == 0 {
            let plan = RotationPlan::immediate(now);
            let alg = SigningAlg::RS256;
            if let Rotated::Done = rotate_pool(store, master, &pool, plan, now, alg).await? {
                tracing::info!(pool = %pool.id, "created signing keys");
            }
        }
    }
    Ok(())
}

/// `userpool keys rotate`: new keys of `alg`, or of each pool's current algorithm.
pub(crate) async fn rotate_command(
    database: &DatabaseArgs,
    only: Option<&str>,
    immediately: bool,
    alg: Option<&str>,
) -> anyhow::Result<()> {
    let chosen = alg
        .map(|a| SigningAlg::parse(a).with_context(|| format!("unknown algorithm {a}")))
        .transpose()?;
    let store = crate::app::open_store(&database.database).await?;
    let master = crate::master_key::load(database)?;
    let pools = match only {
        Some(id) => vec![
            store
                .get_pool(id)
                .await?
                .with_context(|| format!("user pool {id} does not exist"))?,
        ],
        None => store.list_pools().await?,
    };
    for pool in pools {
        let now = SystemClock.now();
        let plan = if immediately {
            RotationPlan::immediate(now)
        } else {
            RotationPlan::scheduled(now)
        };
        let alg = match chosen {
            Some(a) => a,
            None => userpool_core::keys::current_alg(
                &store.list_signing_keys(&pool.id).await?,
                &master,
            )?,
        };
        match rotate_pool(&*store, &master, &pool, plan, now, alg).await? {
            Rotated::Done => println!(
                "{}: new keys published ({}), signing from {} (unix time); old keys published until {}",
                pool.id,
                alg.as_str(),
                plan.activates_at,
                plan.retire_previous_at
            ),
            Rotated::ByAnotherNode => println!(
                "{}: another node rotated the keys at the same moment; its rotation stands",
                pool.id
            ),
        }
    }
    store.close().await;
    Ok(())
}
