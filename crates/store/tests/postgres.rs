//! The conformance suite on PostgreSQL, when `USERPOOL_TEST_POSTGRES_URL` names a database
//! (CI starts one); otherwise each test prints why it skipped.

use std::sync::Arc;

use userpool_core::store::Store;
use userpool_store::SqlStore;
use userpool_store::conformance::Connect;

struct Postgres {
    url: String,
}

impl Connect for Postgres {
    async fn connect(&self) -> Arc<dyn Store> {
        Arc::new(SqlStore::open(&self.url).await.expect("open PostgreSQL"))
    }
}

async fn backend() -> Option<Postgres> {
    match std::env::var("USERPOOL_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(Postgres { url }),
        _ => {
            eprintln!(
                "skipped: set USERPOOL_TEST_POSTGRES_URL to run the PostgreSQL conformance suite"
            );
            None
        }
    }
}

userpool_store::conformance_tests!(backend());
