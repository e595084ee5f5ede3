//! Running the boto3 scripts of `tests/api/` against the real server, on SQLite and on
//! PostgreSQL, with development credentials (`--accept-any-credentials`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::helpers::*;
use crate::saml_idp::repo_file;

pub const KEY: &str = "AKIDEXAMPLEDEVELOPER";
pub const SECRET: &str = "dev-secret-of-no-account";

/// Where the server keeps its data.
#[derive(Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Starts a server on `backend` with an empty database, its own data directory and `extra`
/// arguments, and runs `script` with that directory's outbox. PostgreSQL is skipped without
/// its URL.
pub async fn run_with_outbox(backend: Backend, script: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Database::create(backend, dir.path()).await else {
        return;
    };
    let data_dir = dir.path().display().to_string();
    let outbox = dir.path().join("outbox").display().to_string();
    {
        let mut args = vec![
            "--database",
            &db.url,
            "--data-dir",
            &data_dir,
            "--accept-any-credentials",
            "--no-demo",
        ];
        args.extend_from_slice(extra);
        let server = Server::start(dir.path(), &args);
        run_script(&server, script, &[&outbox]);
    }
    db.drop().await;
}

/// Runs `tests/api/{script}` with the server's URL, the credentials and `args`; fails the test
/// with the script's output (and the server's log) unless every check passed. Returns what the
/// script printed.
pub fn run_script(server: &Server, script: &str, args: &[&str]) -> String {
    let script = format!("tests/api/{script}");
    run_checks(server, "python3", &script, (KEY, SECRET), args)
}

/// Runs `program` on the repository's `script` with the server's URL, an access key and
/// `args`; fails the test with the output (and the server's log) unless it printed
/// "N passed, 0 failed". Returns what it printed.
pub fn run_checks(
    server: &Server,
    program: &str,
    script: &str,
    (key, secret): (&str, &str),
    args: &[&str],
) -> String {
    let out = Command::new(program)
        .arg(repo_file(script))
        .args([server.url.as_str(), key, secret])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} {script}: {e} (see tests/python/requirements.txt)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains(" passed, 0 failed"),
        "{text}\nserver log:\n{}",
        server.log_text()
    );
    text
}

/// An access key made with `userpool access-keys create` on `database`: (ID, secret).
pub fn create_access_key(dir: &Path, database: &str, description: &str) -> (String, String) {
    let out = run(
        dir,
        &[
            "access-keys",
            "create",
            "--database",
            database,
            "--description",
            description,
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let created = String::from_utf8(out.stdout).unwrap();
    (
        field(&created, "access key id"),
        field(&created, "secret access key"),
    )
}

/// The word after `label` on a line of `text` (the CLI's and the demo banner's output).
pub fn field(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{label} in:\n{text}"))
        .to_string()
}

/// A database for one test: a SQLite file in its directory, or a database of its own on the
/// test PostgreSQL (dropped by [`Database::drop`]).
pub struct Database {
    pub url: String,
    pg: Option<PgDatabase>,
}

impl Database {
    /// `None` (the test is skipped) for PostgreSQL without its URL.
    pub async fn create(backend: Backend, dir: &Path) -> Option<Database> {
        match backend {
            Backend::Sqlite => Some(Database {
                url: sqlite_url(dir),
                pg: None,
            }),
            Backend::Postgres => {
                let Some(admin) = postgres_url() else {
                    eprintln!("skipped: set USERPOOL_TEST_POSTGRES_URL to run the PostgreSQL case");
                    return None;
                };
                let pg = PgDatabase::create(&admin).await;
                Some(Database {
                    url: pg.url.clone(),
                    pg: Some(pg),
                })
            }
        }
    }

    pub async fn drop(self) {
        if let Some(pg) = self.pg {
            pg.drop_database().await;
        }
    }
}

/// Starts a server on `backend` with the arguments `setup` gives for its directory (a seed,
/// say), and runs `script` against it with `args`. PostgreSQL is skipped without its URL.
pub async fn run_on(
    backend: Backend,
    script: &str,
    setup: impl Fn(&Path) -> Vec<String>,
    args: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Database::create(backend, dir.path()).await else {
        return;
    };
    let mut server_args = vec![
        "--database".to_string(),
        db.url.clone(),
        "--accept-any-credentials".to_string(),
    ];
    server_args.extend(setup(dir.path()));
    {
        let borrowed: Vec<&str> = server_args.iter().map(String::as_str).collect();
        let server = Server::start(dir.path(), &borrowed);
        run_script(&server, script, args);
    }
    db.drop().await;
}

/// No set-up beyond an empty database without the demo pool.
pub fn empty(_: &Path) -> Vec<String> {
    vec!["--no-demo".to_string()]
}

/// The set-up of a seeded pool: `seed` written into the server's directory.
pub fn seeded(seed: Value) -> impl Fn(&Path) -> Vec<String> {
    move |dir| vec!["--seed".to_string(), write_seed(dir, &seed)]
}
