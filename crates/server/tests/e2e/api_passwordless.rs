//! Choice-based sign-in (`USER_AUTH`) driven by boto3 and soft-fido2's software authenticator
//! (`tests/api/passwordless.py`), on SQLite and on PostgreSQL: the pool's first factors and
//! WebAuthn settings, `SELECT_CHALLENGE` and `PREFERRED_CHALLENGE`, password, SRP, email and SMS
//! codes and passkeys as first factors, passkey registration and management, the user's auth
//! factors. The server's public URL is `http://localhost:{port}`, as WebAuthn relying party IDs
//! cannot be IP addresses; the script reads the codes from the development outbox.

use crate::boto3::{Backend, Database, run_script};
use crate::browser::free_port;
use crate::helpers::*;

/// Starts a server on `backend` with an empty database and its own data directory, served as
/// `http://localhost:{port}`, and runs the script with that directory's outbox. PostgreSQL is
/// skipped without its URL.
async fn run_passwordless(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Database::create(backend, dir.path()).await else {
        return;
    };
    let data_dir = dir.path().display().to_string();
    let outbox = dir.path().join("outbox").display().to_string();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public_url = format!("http://localhost:{port}");
    {
        let server = Server::start(
            dir.path(),
            &[
                "--listen",
                &listen,
                "--public-url",
                &public_url,
                "--database",
                &db.url,
                "--data-dir",
                &data_dir,
                "--accept-any-credentials",
                "--no-demo",
            ],
        );
        assert_eq!(server.url, public_url, "the script talks to the public URL");
        run_script(&server, "passwordless.py", &[&outbox]);
    }
    db.drop().await;
}

#[tokio::test]
async fn boto3_signs_users_in_without_passwords_on_sqlite() {
    run_passwordless(Backend::Sqlite).await;
}

#[tokio::test]
async fn boto3_signs_users_in_without_passwords_on_postgres() {
    run_passwordless(Backend::Postgres).await;
}
