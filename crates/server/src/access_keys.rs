//! `userpool access-keys create|list|delete`: the operator's access keys for the Cognito API's
//! SigV4, and the demo's key. Secrets are sealed under the master key and shown only when made.

use anyhow::Context;
use userpool_core::keys::MasterKey;
use userpool_core::store::{AccessKeyRecord, AccessKeyStore};
use userpool_core::time::{Clock, SystemClock};

use crate::cli::DatabaseArgs;

/// Makes and stores a new key; returns it with its secret.
pub(crate) async fn create(
    store: &dyn AccessKeyStore,
    master: &MasterKey,
    description: &str,
) -> anyhow::Result<(AccessKeyRecord, String)> {
    // 16 characters of 36 make a collision all but impossible; a few tries make it harmless.
    for _ in 0..3 {
        let (key, secret) = AccessKeyRecord::generate(master, description, SystemClock.now());
        if store.insert_access_key(&key).await? {
            return Ok((key, secret));
        }
    }
    anyhow::bail!("could not find a free access key ID")
}

/// The lines that let a shell use a key with the AWS CLI and SDKs.
pub(crate) fn exports(id: &str, secret: &str, region: &str) -> String {
    format!(
        "export AWS_ACCESS_KEY_ID={id} AWS_SECRET_ACCESS_KEY={secret} AWS_DEFAULT_REGION={region}"
    )
}

/// `userpool access-keys create`: prints the ID and the secret on stdout, once.
pub(crate) async fn create_command(
    database: &DatabaseArgs,
    description: &str,
) -> anyhow::Result<()> {
    let store = crate::app::open_store(&database.database).await?;
    let master = crate::master_key::load(database)?;
    let (key, secret) = create(&*store, &master, description).await?;
    println!("access key id      {}", key.id);
    println!("secret access key  {secret}");
    println!(
        "(the secret is shown only now; the database keeps it sealed under master key {})",
        master.id()
    );
    store.close().await;
    Ok(())
}

/// `userpool access-keys list`: one line per key, oldest first; never a secret.
pub(crate) async fn list_command(database: &DatabaseArgs) -> anyhow::Result<()> {
    let store = crate::app::open_store(&database.database).await?;
    let keys = store.list_access_keys().await?;
    if keys.is_empty() {
        println!("no access keys; make one with `userpool access-keys create`");
    }
    for key in keys {
        let created = time::OffsetDateTime::from_unix_timestamp(key.created_at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| key.created_at.to_string());
        println!("{}  {created}  {}", key.id, key.description);
    }
    store.close().await;
    Ok(())
}

/// `userpool access-keys delete ID`.
pub(crate) async fn delete_command(database: &DatabaseArgs, id: &str) -> anyhow::Result<()> {
    let store = crate::app::open_store(&database.database).await?;
    let deleted = store.delete_access_key(id).await?;
    store.close().await;
    deleted
        .then_some(())
        .with_context(|| format!("access key {id} does not exist"))?;
    println!("deleted access key {id}");
    Ok(())
}
