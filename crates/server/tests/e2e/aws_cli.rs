//! The Cognito API driven by the AWS CLI (`tests/cli/admin_plane.sh`), on SQLite and on
//! PostgreSQL: every operation of the admin plane at least once through `aws cognito-idp`, the
//! service's errors as the CLI reports them, and SigV4 checked for real with a key made by
//! `userpool access-keys create` (the server runs without `--accept-any-credentials`).

use std::process::Command;

use crate::boto3::{Backend, Database, create_access_key, run_checks};
use crate::helpers::*;

/// Whether the AWS CLI is installed (`pip install -r tests/python/requirements.txt`); CI must
/// have it.
fn aws_cli_available() -> bool {
    let ok = Command::new("aws")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install the AWS CLI (tests/python/requirements.txt)"
        );
        eprintln!("skipped: pip install -r tests/python/requirements.txt to run the AWS CLI tests");
    }
    ok
}

/// Starts a server on `backend` that checks signatures, makes an access key with the CLI of
/// the binary, and runs the AWS CLI script against it with that key.
async fn run_cli_script_on(backend: Backend) {
    if !aws_cli_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Database::create(backend, dir.path()).await else {
        return;
    };
    {
        let server = Server::start(dir.path(), &["--database", &db.url, "--no-demo"]);
        let (key, secret) = create_access_key(dir.path(), &db.url, "aws cli e2e");
        run_checks(
            &server,
            "bash",
            "tests/cli/admin_plane.sh",
            (&key, &secret),
            &[],
        );
        assert!(
            !server.log_text().contains(&secret),
            "the secret never reaches the log"
        );
    }
    db.drop().await;
}

#[tokio::test]
async fn the_aws_cli_drives_every_operation_on_sqlite() {
    run_cli_script_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_aws_cli_drives_every_operation_on_postgres() {
    run_cli_script_on(Backend::Postgres).await;
}
