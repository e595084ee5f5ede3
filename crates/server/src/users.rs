//! `userpool users import|export`: moving a pool's users in with their password hashes, and out
//! again, straight through the database (docs/design/0008-triggers.md, "Moving users in").
//! Records are checked whole before anything is written; users are loaded in bulk.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::Context;
use userpool_core::auth::import::{
    FirebaseParams, UserLine, cognito_csv_lines, conflict, firebase_lines,
};
use userpool_core::model::GroupConfig;
use userpool_core::store::{GroupRecord, PoolStore, UserStore};
use userpool_core::time::{Clock, SystemClock};

use crate::cli::{DatabaseArgs, ImportFormat};

/// Users per transaction of the load.
const BATCH: usize = 5_000;

/// `userpool users import`: reads every record, checks each against the pool, and loads the
/// valid ones (users whose name or `sub` is taken are skipped). Refusals are listed with their
/// line; nothing is written when the file cannot be read.
pub(crate) async fn import_command(
    database: &DatabaseArgs,
    pool_id: &str,
    format: ImportFormat,
    file: &Path,
    firebase: Option<&Path>,
) -> anyhow::Result<()> {
    let store = crate::app::open_store(&database.database).await?;
    let pool = store
        .get_pool(pool_id)
        .await?
        .with_context(|| format!("pool {pool_id} does not exist"))?;
    let lines = read_lines(format, file, firebase)?;
    let now = SystemClock.now();
    let providers: Vec<String> = store
        .list_identity_providers(pool_id)
        .await?
        .into_iter()
        .map(|p| p.config.provider_name)
        .collect();
    let mut refused = Vec::new();
    let mut users = Vec::new();
    let mut wanted = Vec::new();
    let mut groups = BTreeSet::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in lines.iter().enumerate() {
        let checked = match line.user(pool_id, &pool.config, now) {
            Ok(user) => conflict(&*store, &pool.config, &providers, &user, &mut seen)
                .await?
                .map_or(Ok(user), Err),
            Err(e) => Err(e),
        };
        match checked {
            Ok(user) => {
                if !line.groups.is_empty() {
                    groups.extend(line.groups.iter().cloned());
                    wanted.push((user.username.clone(), user.sub.clone(), line.groups.clone()));
                }
                users.push(user);
            }
            Err(e) => refused.push(format!("record {}: {e}", n + 1)),
        }
    }
    for name in &groups {
        if store.get_group(pool_id, name).await?.is_none() {
            let group = GroupRecord {
                pool_id: pool_id.to_string(),
                config: GroupConfig {
                    group_name: name.clone(),
                    description: None,
                    role_arn: None,
                    precedence: None,
                },
                created_at: now,
                updated_at: now,
                version: 0,
            };
            store.insert_group(&group).await?;
        }
    }
    let mut inserted = 0;
    for batch in users.chunks(BATCH) {
        inserted += store.insert_users_bulk(batch).await?;
    }
    // Memberships only of the users this import made (a skipped line's name may be someone
    // else's, whose groups stay theirs).
    let mut memberships = Vec::new();
    for (username, sub, groups) in wanted {
        let made = store
            .get_user(pool_id, &username)
            .await?
            .is_some_and(|u| u.sub == sub);
        if made {
            memberships.extend(groups.into_iter().map(|g| (username.clone(), g)));
        }
    }
    for batch in memberships.chunks(BATCH) {
        store.insert_memberships_bulk(pool_id, batch).await?;
    }
    store.analyze_users().await?;
    let skipped = users.len() as u64 - inserted;
    println!(
        "imported {inserted} users into {pool_id}; {skipped} skipped (name or sub taken), {} refused",
        refused.len()
    );
    for r in refused.iter().take(20) {
        println!("  {r}");
    }
    if refused.len() > 20 {
        println!("  … and {} more", refused.len() - 20);
    }
    store.close().await;
    Ok(())
}

fn read_lines(
    format: ImportFormat,
    file: &Path,
    firebase: Option<&Path>,
) -> anyhow::Result<Vec<UserLine>> {
    let read =
        |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    Ok(match format {
        ImportFormat::Jsonl => {
            let reader = std::io::BufReader::new(
                std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?,
            );
            let mut lines = Vec::new();
            for (n, text) in reader.lines().enumerate() {
                let text = text?;
                if text.trim().is_empty() {
                    continue;
                }
                lines.push(
                    serde_json::from_str(&text)
                        .with_context(|| format!("{} line {}", file.display(), n + 1))?,
                );
            }
            lines
        }
        ImportFormat::Firebase => {
            let params_file = firebase.context(
                "--firebase-params FILE is required: the project's password hash parameters \
                 ({\"signerKey\",\"saltSeparator\",\"rounds\",\"memCost\"})",
            )?;
            let params: FirebaseParams = serde_json::from_str(&read(params_file)?)
                .with_context(|| format!("{}", params_file.display()))?;
            let export = serde_json::from_str(&read(file)?)
                .with_context(|| format!("{}", file.display()))?;
            firebase_lines(&export, &params).map_err(anyhow::Error::msg)?
        }
        ImportFormat::CognitoCsv => cognito_csv_lines(&read(file)?).map_err(anyhow::Error::msg)?,
    })
}

/// `userpool users export`: every user of the pool as a line of our format (with its hash and
/// groups), oldest name first, to `out` or stdout.
pub(crate) async fn export_command(
    database: &DatabaseArgs,
    pool_id: &str,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let store = crate::app::open_store(&database.database).await?;
    anyhow::ensure!(
        store.get_pool(pool_id).await?.is_some(),
        "pool {pool_id} does not exist"
    );
    let mut memberships = std::collections::HashMap::<String, Vec<String>>::new();
    for (user, group) in store.list_memberships(pool_id).await? {
        memberships.entry(user).or_default().push(group);
    }
    let mut sink: Box<dyn Write> = match out {
        // Every user's password hash: readable by the operator only.
        Some(p) => Box::new(std::io::BufWriter::new(owner_only(p)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut after: Option<String> = None;
    let mut count = 0u64;
    loop {
        let page = store
            .list_users(pool_id, None, after.as_deref(), 1_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.username.clone());
        for user in &page {
            let groups = memberships.remove(&user.username).unwrap_or_default();
            serde_json::to_writer(&mut sink, &UserLine::of(user, groups))?;
            sink.write_all(b"\n")?;
            count += 1;
        }
    }
    sink.flush()?;
    eprintln!("exported {count} users of {pool_id}");
    store.close().await;
    Ok(())
}

/// A new file only its owner reads and writes (mode 0600 on Unix).
fn owner_only(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))
}
