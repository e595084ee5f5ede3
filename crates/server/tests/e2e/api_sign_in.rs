//! The Cognito API's sign-in plane driven by boto3, pycognito and warrant-lite
//! (`tests/api/sign_in.py`), on SQLite and on PostgreSQL: SignUp and its codes, InitiateAuth and
//! the challenges (password, SRP, TOTP, MFA set-up, new password), SECRET_HASH, refresh and
//! revocation, the access-token operations, ForgotPassword and the lockout. The script reads the
//! codes from the server's development outbox, whose directory it is given.

use crate::boto3::{Backend, Database, run_script};
use crate::helpers::*;

/// Starts a server on `backend` with an empty database and its own data directory, and runs
/// the script with that directory's outbox. PostgreSQL is skipped without its URL.
async fn run_sign_in(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Database::create(backend, dir.path()).await else {
        return;
    };
    let data_dir = dir.path().display().to_string();
    let outbox = dir.path().join("outbox").display().to_string();
    {
        let server = Server::start(
            dir.path(),
            &[
                "--database",
                &db.url,
                "--data-dir",
                &data_dir,
                "--accept-any-credentials",
                "--no-demo",
            ],
        );
        run_script(&server, "sign_in.py", &[&outbox]);
    }
    db.drop().await;
}

#[tokio::test]
async fn boto3_signs_users_in_on_sqlite() {
    run_sign_in(Backend::Sqlite).await;
}

#[tokio::test]
async fn boto3_signs_users_in_on_postgres() {
    run_sign_in(Backend::Postgres).await;
}
