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

/// Runs `tests/api/{script}` with the server's URL, the credentials and `args`; fails the test
/// with the script's output (and the server's log) unless every check passed. Returns what the
/// script printed.
pub fn run_script(server: &Server, script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(repo_file(&format!("tests/api/{script}")))
        .args([server.url.as_str(), KEY, SECRET])
        .args(args)
        .output()
        .expect("python3 with boto3 (pip install -r tests/python/requirements.txt)");
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
