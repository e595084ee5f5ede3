//! Bulk loading: many users in one transaction, many rows per statement, each row written
//! exactly as `insert_user` writes it (the same columns, alias keys and search columns, bound by
//! `bind_new_user!`). On the concrete `SqlStore`, not on the `Store` trait: it is for loading
//! (benchmarks, imports), never for a request.

use userpool_core::store::{StoreResult, UserRecord};

use super::users::{INSERT_PARAMETERS, bind_new_user, insert_users_sql};
use super::{Db, SqlStore, begin_write};
use crate::codec::backend;

/// Rows per `INSERT` statement on PostgreSQL: fewer round trips; 500 × 19 parameters stays
/// well under its limit (65,535).
const PG_ROWS_PER_STATEMENT: usize = 500;
/// Rows per `INSERT` statement on SQLite: binding looks each parameter up by name
/// (`sqlite3_bind_parameter_name` walks a list), so the cost per row grows with the rows of a
/// statement; 40 rows keep that small and still save most of the per-statement overhead.
const SQLITE_ROWS_PER_STATEMENT: usize = 40;
const _: () = assert!(PG_ROWS_PER_STATEMENT * INSERT_PARAMETERS < 65_535);
const _: () = assert!(SQLITE_ROWS_PER_STATEMENT * INSERT_PARAMETERS < 32_766);

impl SqlStore {
    /// Inserts `users` in one transaction (the caller picks the batch size), writing each row as
    /// `insert_user` does; a user whose username or `sub` is taken is skipped, as
    /// `insert_user` skips it (`ON CONFLICT DO NOTHING`). Every record is checked
    /// (`UserRecord::check_writable`) before anything is written. Returns how many users were
    /// inserted.
    pub async fn insert_users_bulk(&self, users: &[UserRecord]) -> StoreResult<u64> {
        for u in users {
            u.check_writable()?;
        }
        let rows = match self.db {
            Db::Sqlite(_) => SQLITE_ROWS_PER_STATEMENT,
            Db::Postgres(_) => PG_ROWS_PER_STATEMENT,
        };
        let full = insert_users_sql(rows);
        on_db!(self, db => {
            let mut tx = begin_write(db).await.map_err(backend)?;
            let mut inserted = 0;
            for chunk in users.chunks(rows) {
                let sql = if chunk.len() == rows {
                    full.clone()
                } else {
                    insert_users_sql(chunk.len())
                };
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for u in chunk {
                    query = bind_new_user!(query, u);
                }
                inserted += query.execute(&mut *tx).await.map_err(backend)?.rows_affected();
            }
            tx.commit().await.map_err(backend)?;
            Ok(inserted)
        })
    }

    /// Adds group memberships `(username, group)` of a pool in one transaction; existing ones
    /// stay (`ON CONFLICT DO NOTHING`). The groups must exist.
    pub async fn insert_memberships_bulk(
        &self,
        pool_id: &str,
        memberships: &[(String, String)],
    ) -> StoreResult<()> {
        const ROWS: usize = 300;
        on_db!(self, db => {
            let mut tx = begin_write(db).await.map_err(backend)?;
            for chunk in memberships.chunks(ROWS) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3))
                    .collect();
                let sql = format!(
                    "INSERT INTO user_groups (pool_id, username, group_name) VALUES {} ON CONFLICT DO NOTHING",
                    values.join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pool_id);
                for (user, group) in chunk {
                    query = query.bind(user).bind(group);
                }
                query.execute(&mut *tx).await.map_err(backend)?;
            }
            tx.commit().await.map_err(backend)?;
            Ok(())
        })
    }

    /// Every group membership of a pool, `(username, group)`, for an export.
    pub async fn list_memberships(&self, pool_id: &str) -> StoreResult<Vec<(String, String)>> {
        let sql = "SELECT username, group_name FROM user_groups WHERE pool_id = $1 ORDER BY username, group_name";
        on_db!(self, db => {
            let rows: Vec<(String, String)> = sqlx::query_as(sql)
                .bind(pool_id)
                .fetch_all(db)
                .await
                .map_err(backend)?;
            Ok(rows)
        })
    }

    /// After a bulk load, PostgreSQL's planner statistics of the users table (`ANALYZE`), as
    /// autovacuum would gather them shortly after. Nothing on SQLite: deployments there never
    /// gather statistics, so neither does a load meant to measure them.
    pub async fn analyze_users(&self) -> StoreResult<()> {
        match &self.db {
            Db::Sqlite(_) => Ok(()),
            Db::Postgres(db) => run!(sqlx::query("ANALYZE users"), db),
        }
    }
}

#[cfg(test)]
mod tests {
    use userpool_core::model::{AttributeType, UserPoolConfig, UserStatus};
    use userpool_core::password::PasswordHash;
    use userpool_core::store::{PoolRecord, PoolStore, UserFilter, UserRecord, UserStore};

    use super::SqlStore;

    fn user(i: usize, family: &str) -> UserRecord {
        UserRecord {
            pool_id: "p".into(),
            username: format!("u{i:05}"),
            sub: format!("sub-{i}"),
            status: UserStatus::Confirmed,
            enabled: true,
            password_hash: Some(PasswordHash::from_stored("$argon2id$stub".into())),
            password_set_at: None,
            tokens_valid_from_ms: None,
            totp_secret: None,
            mfa_preference: None,
            srp_verifier: None,
            attributes: vec![
                AttributeType {
                    name: "email".into(),
                    value: format!("U{i}@Example.test"),
                },
                AttributeType {
                    name: "family_name".into(),
                    value: family.into(),
                },
            ],
            created_at: 1,
            updated_at: 1,
            version: 0,
        }
    }

    /// Bulk-loaded users are found as `insert_user`'s are, and a prefix search pages the same
    /// whether the walk by username fills the page (a common prefix) or the index serves it (a
    /// rare one).
    #[tokio::test]
    async fn bulk_loaded_users_are_searched_by_both_prefix_plans() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqlStore::open(&url).await.unwrap();
        let pool = PoolRecord {
            id: "p".into(),
            config: UserPoolConfig {
                pool_name: "p".into(),
                ..Default::default()
            },
            created_at: 1,
            updated_at: 1,
            key_generation: 0,
            version: 0,
        };
        assert!(store.insert_pool(&pool).await.unwrap());
        // Every 3rd user is a Smith, every 700th a Rare.
        let family = |i: usize| match (i % 700, i % 3) {
            (0, _) => "Rare",
            (_, 0) => "Smith",
            _ => "Other",
        };
        let users: Vec<UserRecord> = (0..3000).map(|i| user(i, family(i))).collect();
        assert_eq!(store.insert_users_bulk(&users).await.unwrap(), 3000);
        // Taken usernames are skipped, as insert_user skips them.
        assert_eq!(store.insert_users_bulk(&users[..5]).await.unwrap(), 0);
        assert_eq!(store.count_users("p").await.unwrap(), 3000);
        let found = store
            .find_users_by_alias("p", "email", "u42@example.test")
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].username, "u00042");
        for (prefix, limit) in [
            ("Smi", 61),
            ("Ra", 3),
            ("Ra", 61),
            ("Oth", 5),
            ("Nobody", 10),
        ] {
            let filter = UserFilter {
                attribute: "family_name".into(),
                value: prefix.into(),
                prefix: true,
            };
            let mut after: Option<String> = None;
            let mut listed = Vec::new();
            loop {
                let page = store
                    .list_users("p", Some(&filter), after.as_deref(), limit)
                    .await
                    .unwrap();
                listed.extend(page.iter().map(|u| u.username.clone()));
                if (page.len() as i64) < limit {
                    break;
                }
                after = page.last().map(|u| u.username.clone());
            }
            let expected: Vec<String> = (0..3000)
                .filter(|&i| family(i).starts_with(prefix))
                .map(|i| format!("u{i:05}"))
                .collect();
            assert_eq!(listed, expected, "{prefix} by pages of {limit}");
        }
        store.close().await;
    }
}
