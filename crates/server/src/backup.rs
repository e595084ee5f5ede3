//! `userpool backup` and `userpool restore` for SQLite deployments: a consistent copy taken
//! while the server runs (`VACUUM INTO`), and putting one back while it is stopped.
//! PostgreSQL deployments back up with PostgreSQL's tools (docs/operations.md).

use std::path::Path;

use anyhow::Context;

use crate::cli::DatabaseArgs;

/// The SQLite file a database URL names.
fn sqlite_file(database: &DatabaseArgs) -> anyhow::Result<&str> {
    let url = database.database.as_str();
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && !p.starts_with(':'))
        .context(
            "backup and restore are for SQLite files; use pg_dump and pg_restore for PostgreSQL",
        )?;
    Ok(path)
}

pub(crate) async fn backup(database: &DatabaseArgs, out: &Path) -> anyhow::Result<()> {
    sqlite_file(database)?;
    anyhow::ensure!(!out.exists(), "{} exists: choose a new file", out.display());
    let store = crate::app::open_store(&database.database).await?;
    let target = out.to_str().context("the backup's path is not UTF-8")?;
    store.backup_to(target).await?;
    store.close().await;
    #[cfg(unix)]
    std::fs::set_permissions(out, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    println!(
        "backed up to {} (keep the master key apart from it: docs/operations.md)",
        out.display()
    );
    Ok(())
}

pub(crate) async fn restore(database: &DatabaseArgs, backup: &Path) -> anyhow::Result<()> {
    let file = sqlite_file(database)?;
    // The backup must be a userpool database of a version this binary knows.
    let path = backup.to_str().context("the backup's path is not UTF-8")?;
    let version = userpool_store::SqlStore::sqlite_schema_version(path).await;
    anyhow::ensure!(
        version.is_some(),
        "{} is not a userpool database this version can open",
        backup.display()
    );
    let target = Path::new(file);
    for suffix in ["-wal", "-shm"] {
        let side = format!("{file}{suffix}");
        if Path::new(&side).exists() {
            std::fs::remove_file(&side).with_context(|| format!("removing {side}"))?;
        }
    }
    let staged = target.with_extension("restoring");
    std::fs::copy(backup, &staged).with_context(|| format!("copying to {}", staged.display()))?;
    std::fs::rename(&staged, target)?;
    println!("restored {} from {}", target.display(), backup.display());
    Ok(())
}
