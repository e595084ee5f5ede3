//! Resource servers and pool settings of the Cognito API driven by boto3
//! (`tests/api/resource_servers_and_config.py`), on SQLite and on PostgreSQL: resource servers
//! (a new scope is issued by `client_credentials` at once), the MFA configuration, and the
//! tags of a pool's ARN, every response checked against the model's output shape.

use crate::boto3::{Backend, empty, run_on};

#[tokio::test]
async fn boto3_manages_resource_servers_mfa_and_tags_on_sqlite() {
    run_on(
        Backend::Sqlite,
        "resource_servers_and_config.py",
        empty,
        &[],
    )
    .await;
}

#[tokio::test]
async fn boto3_manages_resource_servers_mfa_and_tags_on_postgres() {
    run_on(
        Backend::Postgres,
        "resource_servers_and_config.py",
        empty,
        &[],
    )
    .await;
}
