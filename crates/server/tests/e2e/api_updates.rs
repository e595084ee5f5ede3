//! Updates and domains of the Cognito API driven by boto3 (`tests/api/updates_and_domains.py`),
//! on SQLite and on PostgreSQL: UpdateUserPool and UpdateUserPoolClient with Cognito's
//! reset-to-default semantics, LastModifiedDate, and Create/Describe/Update/DeleteUserPoolDomain
//! with the managed login answering on a new domain at once; every response checked against
//! the model's output shape.

use crate::boto3::{Backend, empty, run_on};

#[tokio::test]
async fn boto3_updates_pools_clients_and_domains_on_sqlite() {
    run_on(Backend::Sqlite, "updates_and_domains.py", empty, &[]).await;
}

#[tokio::test]
async fn boto3_updates_pools_clients_and_domains_on_postgres() {
    run_on(Backend::Postgres, "updates_and_domains.py", empty, &[]).await;
}
