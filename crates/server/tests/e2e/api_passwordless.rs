//! Choice-based sign-in (`USER_AUTH`) driven by boto3 and soft-fido2's software authenticator
//! (`tests/api/passwordless.py`), on SQLite and on PostgreSQL: the pool's first factors and
//! WebAuthn settings, `SELECT_CHALLENGE` and `PREFERRED_CHALLENGE`, password, SRP, email and SMS
//! codes and passkeys as first factors, passkey registration and management, the user's auth
//! factors. The server's public URL is `http://localhost:{port}`, as WebAuthn relying party IDs
//! cannot be IP addresses; the script reads the codes from the development outbox.

use crate::boto3::{Backend, run_with_outbox};
use crate::browser::free_port;

/// The script on a server on `backend` served as `http://localhost:{port}`.
async fn run_passwordless(backend: Backend) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public_url = format!("http://localhost:{port}");
    let extra = ["--listen", &listen, "--public-url", &public_url];
    run_with_outbox(backend, "passwordless.py", &extra).await;
}

#[tokio::test]
async fn boto3_signs_users_in_without_passwords_on_sqlite() {
    run_passwordless(Backend::Sqlite).await;
}

#[tokio::test]
async fn boto3_signs_users_in_without_passwords_on_postgres() {
    run_passwordless(Backend::Postgres).await;
}
