//! Running the boto3 scripts of `tests/api/` against the real server, on SQLite and on
//! PostgreSQL, with development credentials (`--accept-any-credentials`).

use std::path::Path;
use std::process::Command;

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
/// with the script's output (and the server's log) unless every check passed.
pub fn run_script(server: &Server, script: &str, args: &[&str]) {
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
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let Some(admin) = postgres_url() else {
                eprintln!("skipped: set USERPOOL_TEST_POSTGRES_URL to run the PostgreSQL case");
                return;
            };
            Some(PgDatabase::create(&admin).await)
        }
    };
    let database = pg
        .as_ref()
        .map_or_else(|| sqlite_url(dir.path()), |pg| pg.url.clone());
    let mut server_args = vec![
        "--database".to_string(),
        database,
        "--accept-any-credentials".to_string(),
    ];
    server_args.extend(setup(dir.path()));
    {
        let borrowed: Vec<&str> = server_args.iter().map(String::as_str).collect();
        let server = Server::start(dir.path(), &borrowed);
        run_script(&server, script, args);
    }
    if let Some(pg) = pg {
        pg.drop_database().await;
    }
}

/// No set-up beyond an empty database without the demo pool.
pub fn empty(_: &Path) -> Vec<String> {
    vec!["--no-demo".to_string()]
}
