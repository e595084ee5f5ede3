//! The admin plane of the Cognito API driven by boto3 (`tests/api/admin_plane.py`), on SQLite
//! and on PostgreSQL: pools and clients created, described, listed, paged and deleted, the
//! service's errors, and every response checked against the model's output shape.

use crate::boto3::{Backend, empty, run_on};

#[tokio::test]
async fn boto3_manages_pools_and_clients_on_sqlite() {
    run_on(Backend::Sqlite, "admin_plane.py", empty, &[]).await;
}

#[tokio::test]
async fn boto3_manages_pools_and_clients_on_postgres() {
    run_on(Backend::Postgres, "admin_plane.py", empty, &[]).await;
}
