//! The admin plane of the Cognito API driven by boto3 (`tests/api/admin_plane.py`), on SQLite
//! and on PostgreSQL: pools and clients created, described, listed, paged and deleted, the
//! service's errors, and every response checked against the model's output shape.

use std::process::Command;

use crate::helpers::*;
use crate::saml_idp::repo_file;

/// Runs the boto3 script against a server and fails the test with its output if it fails.
fn run_boto3(server: &Server) {
    let out = Command::new("python3")
        .arg(repo_file("tests/api/admin_plane.py"))
        .args([
            &server.url,
            "AKIDEXAMPLEDEVELOPER",
            "dev-secret-of-no-account",
        ])
        .output()
        .expect("python3 tests/api/admin_plane.py (pip install -r tests/python/requirements.txt)");
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

#[tokio::test]
async fn boto3_manages_pools_and_clients_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let server = Server::start(
        dir.path(),
        &["--database", &db, "--no-demo", "--accept-any-credentials"],
    );
    run_boto3(&server);
}

#[tokio::test]
async fn boto3_manages_pools_and_clients_on_postgres() {
    let Some(admin) = postgres_url() else {
        eprintln!("skipped: set USERPOOL_TEST_POSTGRES_URL to run the PostgreSQL case");
        return;
    };
    let pg = PgDatabase::create(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let server = Server::start(
            dir.path(),
            &[
                "--database",
                &pg.url,
                "--no-demo",
                "--accept-any-credentials",
            ],
        );
        run_boto3(&server);
    }
    pg.drop_database().await;
}
