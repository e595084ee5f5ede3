//! Finding the master key that seals private keys: `USERPOOL_MASTER_KEY`, else the key file in
//! the data directory, else a new key written there once.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use userpool_core::keys::MasterKey;

use crate::cli::DatabaseArgs;

const FILE_NAME: &str = "master.key";

/// The data directory: as configured, else the directory of a SQLite file, else `.`.
pub(crate) fn data_dir(args: &DatabaseArgs) -> PathBuf {
    if let Some(d) = &args.data_dir {
        return d.clone();
    }
    let path = args
        .database
        .strip_prefix("sqlite://")
        .or_else(|| args.database.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p));
    match path {
        Some(p) if !p.is_empty() && !p.starts_with(':') => Path::new(p)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        _ => PathBuf::from("."),
    }
}

/// Accepts 32 bytes as base64 (standard or URL-safe) or as 64 hex digits.
fn parse(text: &str) -> anyhow::Result<[u8; 32]> {
    let t = text.trim();
    let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        STANDARD
            .decode(t)
            .or_else(|_| URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')))
            .context("not base64 or hex")?
    };
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow::anyhow!("must be 32 bytes, is {}", b.len()))
}

pub(crate) fn load(args: &DatabaseArgs) -> anyhow::Result<MasterKey> {
    if let Ok(v) = std::env::var("USERPOOL_MASTER_KEY")
        && !v.trim().is_empty()
    {
        let bytes = parse(&v).context("USERPOOL_MASTER_KEY")?;
        return Ok(MasterKey::from_bytes(&bytes));
    }
    let dir = data_dir(args);
    let path = dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes =
                parse(&text).with_context(|| format!("master key file {}", path.display()))?;
            Ok(MasterKey::from_bytes(&bytes))
        }
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && !args.database.starts_with("sqlite:") =>
        {
            // Nodes of a shared database must share one key: a key made here would be this
            // node's alone.
            bail!(
                "no master key: set USERPOOL_MASTER_KEY (32 bytes, base64; the same on every node) \
                 or put it in {}",
                path.display()
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&dir, &path),
        Err(e) => Err(e).with_context(|| format!("cannot read master key file {}", path.display())),
    }
}

/// Writes a new key to a private temporary file, then links it into place: a racing process
/// either wins the link or reads the complete file of the winner.
fn create(dir: &Path, path: &Path) -> anyhow::Result<MasterKey> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let bytes = MasterKey::generate_bytes();
    let tmp = dir.join(format!(".{FILE_NAME}.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    writeln!(f, "{}", STANDARD.encode(bytes))
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::warn!(
                path = %path.display(),
                "generated a new master key; back it up: without it the signing keys cannot be opened"
            );
            Ok(MasterKey::from_bytes(&bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)?;
            Ok(MasterKey::from_bytes(&parse(&text)?))
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_keys_parse_from_base64_and_hex() {
        let b64 = STANDARD.encode([5u8; 32]);
        assert_eq!(parse(&b64).unwrap(), [5u8; 32]);
        assert_eq!(parse(&"05".repeat(32)).unwrap(), [5u8; 32]);
        assert!(parse("short").is_err());
    }

    #[test]
    fn the_data_dir_follows_the_sqlite_file() {
        let args = |db: &str| DatabaseArgs {
            database: db.into(),
            data_dir: None,
        };
        assert_eq!(data_dir(&args("sqlite://userpool.db")), PathBuf::from("."));
        assert_eq!(
            data_dir(&args("sqlite:///var/lib/up/x.db?mode=rwc")),
            PathBuf::from("/var/lib/up")
        );
        assert_eq!(data_dir(&args("postgres://h/db")), PathBuf::from("."));
    }
}
