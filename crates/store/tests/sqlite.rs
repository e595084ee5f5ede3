//! The conformance suite on SQLite: always runs, on a temporary database file per test.

use std::sync::Arc;

use userpool_core::store::Store;
use userpool_store::SqlStore;
use userpool_store::conformance::Connect;

struct Sqlite {
    url: String,
    _dir: tempfile::TempDir,
}

impl Connect for Sqlite {
    async fn connect(&self) -> Arc<dyn Store> {
        Arc::new(SqlStore::open(&self.url).await.expect("open SQLite"))
    }
}

async fn backend() -> Option<Sqlite> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    Some(Sqlite { url, _dir: dir })
}

userpool_store::conformance_tests!(backend());
