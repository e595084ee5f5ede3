//! userpool-store owns persistence: one SQL implementation of the `userpool_core::store` traits
//! that runs on SQLite (the embedded default) and on PostgreSQL (several nodes), the schema
//! migrations of both, and the conformance suite every backend must pass.

mod codec;
#[cfg(feature = "conformance")]
pub mod conformance;
mod migrations;
mod sql;

pub use sql::{ConfigChanges, OpenError, SqlStore};
