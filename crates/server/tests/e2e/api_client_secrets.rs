//! App client secrets through the Cognito API driven by boto3 (`tests/api/client_secrets.py`),
//! on SQLite and on PostgreSQL: shown by Describe, rotated by Add/List/DeleteUserPoolClientSecret,
//! and accepted by the token endpoint exactly while they exist.

use crate::boto3::{Backend, empty, run_on};

#[tokio::test]
async fn boto3_rotates_client_secrets_on_sqlite() {
    run_on(Backend::Sqlite, "client_secrets.py", empty, &[]).await;
}

#[tokio::test]
async fn boto3_rotates_client_secrets_on_postgres() {
    run_on(Backend::Postgres, "client_secrets.py", empty, &[]).await;
}
