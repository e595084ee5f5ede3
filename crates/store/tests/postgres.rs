//! The conformance suite on PostgreSQL, when `USERPOOL_TEST_POSTGRES_URL` names a server and
//! database it may create databases from (CI starts one); otherwise each test prints why it
//! skipped. Each case runs in a database of its own, dropped afterwards.

use std::sync::Arc;

use sqlx::Connection;
use userpool_core::store::Store;
use userpool_store::SqlStore;
use userpool_store::conformance::Connect;

struct Postgres {
    admin_url: String,
    name: String,
    url: String,
}

impl Connect for Postgres {
    async fn connect(&self) -> Arc<dyn Store> {
        Arc::new(SqlStore::open(&self.url).await.expect("open PostgreSQL"))
    }

    async fn cleanup(self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        admin(&self.admin_url, sql).await;
    }
}

async fn admin(url: &str, sql: String) {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("administer test databases");
    conn.close().await.ok();
}

async fn backend() -> Option<Postgres> {
    let Some(admin_url) = std::env::var("USERPOOL_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "skipped: set USERPOOL_TEST_POSTGRES_URL to run the PostgreSQL conformance suite"
        );
        return None;
    };
    let name = format!("up_conf_{}", userpool_core::ids::new_client_id());
    admin(&admin_url, format!("CREATE DATABASE {name}")).await;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b);
    Some(Postgres {
        url: format!("{base}/{name}"),
        admin_url,
        name,
    })
}

userpool_store::conformance_tests!(backend());
