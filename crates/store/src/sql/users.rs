//! `UserStore`: users, their group memberships, federated identity links, the last TOTP step
//! and the alias columns (email, phone number, preferred username) users are found by.

use async_trait::async_trait;
use userpool_core::model::UserStatus;
use userpool_core::password::PasswordHash;
use userpool_core::store::*;

use super::{SqlStore, begin_write};
use crate::codec::{backend, from_json, to_json};

const USER_COLUMNS: &str = "pool_id, username, sub, status, enabled, password_hash, attributes, created_at, updated_at, totp_secret, version, password_set_at, tokens_valid_from_ms";

row! {
    struct UserRow {
        pool_id: String,
        username: String,
        sub: String,
        status: String,
        enabled: bool,
        password_hash: Option<String>,
        attributes: String,
        created_at: i64,
        updated_at: i64,
        totp_secret: Option<String>,
        version: i64,
        password_set_at: Option<i64>,
        tokens_valid_from_ms: Option<i64>,
    }
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;

    fn try_from(row: UserRow) -> StoreResult<Self> {
        let status = row.status;
        Ok(UserRecord {
            status: UserStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("user status {status}")))?,
            attributes: from_json("user attributes", &row.attributes)?,
            pool_id: row.pool_id,
            username: row.username,
            sub: row.sub,
            enabled: row.enabled,
            password_hash: row.password_hash.map(PasswordHash::from_stored),
            password_set_at: row.password_set_at,
            tokens_valid_from_ms: row.tokens_valid_from_ms,
            totp_secret: row.totp_secret,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

/// What `delete_user` deletes before the user row, each statement bound to pool and username.
const USER_LEFTOVERS: &[&str] = &[
    "DELETE FROM user_codes WHERE pool_id = $1 AND username = $2",
    "DELETE FROM auth_challenges WHERE pool_id = $1 AND username = $2",
    "DELETE FROM sessions WHERE pool_id = $1 AND username = $2",
    "DELETE FROM token_families WHERE pool_id = $1 AND username = $2",
];

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, u: &UserRecord) -> StoreResult<bool> {
        u.check_writable()?;
        let sql = "INSERT INTO users (pool_id, username, sub, status, enabled, password_hash, attributes, created_at, updated_at, email, phone_number, preferred_username, totp_secret, password_set_at, tokens_valid_from_ms, name, given_name, family_name, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0) ON CONFLICT DO NOTHING";
        let alias = |name: &str| alias_of(u, name);
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&u.pool_id)
            .bind(&u.username)
            .bind(&u.sub)
            .bind(u.status.as_str())
            .bind(u.enabled)
            .bind(u.password_hash.as_ref().map(PasswordHash::as_str))
            .bind(to_json(&u.attributes))
            .bind(u.created_at)
            .bind(u.updated_at)
            .bind(alias("email"))
            .bind(alias("phone_number"))
            .bind(alias("preferred_username"))
            .bind(&u.totp_secret)
            .bind(u.password_set_at)
            .bind(u.tokens_valid_from_ms)
            .bind(attribute_of(u, "name"))
            .bind(attribute_of(u, "given_name"))
            .bind(attribute_of(u, "family_name")), db))
    }

    async fn update_user(&self, u: &UserRecord) -> StoreResult<CasOutcome> {
        u.check_writable()?;
        let sql = "UPDATE users SET status = $1, enabled = $2, password_hash = $3, attributes = $4, updated_at = $5, email = $6, phone_number = $7, preferred_username = $8, totp_secret = $9, password_set_at = $10, tokens_valid_from_ms = $11, name = $15, given_name = $16, family_name = $17, version = version + 1 WHERE pool_id = $12 AND username = $13 AND version = $14";
        let alias = |name: &str| alias_of(u, name);
        let applied = on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(u.status.as_str())
            .bind(u.enabled)
            .bind(u.password_hash.as_ref().map(PasswordHash::as_str))
            .bind(to_json(&u.attributes))
            .bind(u.updated_at)
            .bind(alias("email"))
            .bind(alias("phone_number"))
            .bind(alias("preferred_username"))
            .bind(&u.totp_secret)
            .bind(u.password_set_at)
            .bind(u.tokens_valid_from_ms)
            .bind(&u.pool_id)
            .bind(&u.username)
            .bind(u.version)
            .bind(attribute_of(u, "name"))
            .bind(attribute_of(u, "given_name"))
            .bind(attribute_of(u, "family_name")), db))?;
        Ok(CasOutcome::of(applied))
    }

    async fn link_identity(
        &self,
        pool_id: &str,
        provider: &str,
        subject: &str,
        username: &str,
    ) -> StoreResult<bool> {
        let sql = "INSERT INTO identity_links (pool_id, provider_name, provider_subject, username) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(provider)
            .bind(subject)
            .bind(username), db))
    }

    async fn find_linked_user(
        &self,
        pool_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<String>> {
        let sql = "SELECT username FROM identity_links WHERE pool_id = $1 AND provider_name = $2 AND provider_subject = $3";
        on_db!(self, db => sqlx::query_scalar(sql)
            .bind(pool_id)
            .bind(provider)
            .bind(subject)
            .fetch_optional(db)
            .await
            .map_err(backend))
    }

    async fn use_totp_step(&self, pool_id: &str, username: &str, step: i64) -> StoreResult<bool> {
        let sql = "UPDATE users SET totp_last_step = $1 WHERE pool_id = $2 AND username = $3 AND (totp_last_step IS NULL OR totp_last_step < $1)";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(step)
            .bind(pool_id)
            .bind(username), db))
    }

    async fn get_user(&self, pool_id: &str, username: &str) -> StoreResult<Option<UserRecord>> {
        let sql = select!(
            USER_COLUMNS,
            "FROM users WHERE pool_id = $1 AND username = $2"
        );
        let row: Option<UserRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(username)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(UserRecord::try_from).transpose()
    }

    async fn delete_user(&self, pool_id: &str, username: &str) -> StoreResult<bool> {
        on_db!(self, db => {
            let mut tx = begin_write(db).await.map_err(backend)?;
            // Tables keyed by user without a foreign key to it; memberships and identity links
            // go by ON DELETE CASCADE, refresh tokens with their families.
            for sql in USER_LEFTOVERS {
                sqlx::query(*sql)
                    .bind(pool_id)
                    .bind(username)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            let deleted = sqlx::query("DELETE FROM users WHERE pool_id = $1 AND username = $2")
                .bind(pool_id)
                .bind(username)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected()
                == 1;
            tx.commit().await.map_err(backend)?;
            Ok(deleted)
        })
    }

    async fn add_user_to_group(
        &self,
        pool_id: &str,
        username: &str,
        group: &str,
    ) -> StoreResult<bool> {
        let sql = "INSERT INTO user_groups (pool_id, username, group_name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(username)
            .bind(group), db))
    }

    async fn find_users_by_alias(
        &self,
        pool_id: &str,
        attribute: &str,
        value: &str,
    ) -> StoreResult<Vec<UserRecord>> {
        let sql = match attribute {
            "email" => select!(
                USER_COLUMNS,
                "FROM users WHERE pool_id = $1 AND email = $2 ORDER BY created_at, username LIMIT $3"
            ),
            "phone_number" => select!(
                USER_COLUMNS,
                "FROM users WHERE pool_id = $1 AND phone_number = $2 ORDER BY created_at, username LIMIT $3"
            ),
            "preferred_username" => select!(
                USER_COLUMNS,
                "FROM users WHERE pool_id = $1 AND preferred_username = $2 ORDER BY created_at, username LIMIT $3"
            ),
            _ => return Ok(Vec::new()),
        };
        let rows: Vec<UserRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(alias_key(attribute, value))
            .bind(ALIAS_HOLDERS)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        rows.into_iter().map(UserRecord::try_from).collect()
    }

    async fn list_user_groups(&self, pool_id: &str, username: &str) -> StoreResult<Vec<String>> {
        let sql = "SELECT group_name FROM user_groups WHERE pool_id = $1 AND username = $2 ORDER BY group_name";
        on_db!(self, db => sqlx::query_scalar(sql)
            .bind(pool_id)
            .bind(username)
            .fetch_all(db)
            .await
            .map_err(backend))
    }

    async fn remove_user_from_group(
        &self,
        pool_id: &str,
        username: &str,
        group: &str,
    ) -> StoreResult<bool> {
        let sql =
            "DELETE FROM user_groups WHERE pool_id = $1 AND username = $2 AND group_name = $3";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(username)
            .bind(group), db))
    }

    async fn list_group_users(
        &self,
        pool_id: &str,
        group: &str,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<UserRecord>> {
        let sql = select!(
            USER_COLUMNS,
            "FROM users WHERE pool_id = $1 AND username > $3 AND username IN (SELECT username FROM user_groups WHERE pool_id = $1 AND group_name = $2) ORDER BY username LIMIT $4"
        );
        let rows: Vec<UserRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(group)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        rows.into_iter().map(UserRecord::try_from).collect()
    }

    async fn list_users(
        &self,
        pool_id: &str,
        filter: Option<&UserFilter>,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<UserRecord>> {
        let sqlite = matches!(self.db, super::Db::Sqlite(_));
        let (condition, value) = match filter.map(|f| search_condition(f, sqlite)) {
            None => (String::new(), None),
            Some(Search::Nobody) => return Ok(vec![]),
            Some(Search::Where(condition, value)) => (format!(" AND {condition}"), value),
        };
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE pool_id = $1 AND username > $2{condition} ORDER BY username LIMIT $3"
        );
        let rows: Vec<UserRow> = on_db!(self, db => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(pool_id)
                .bind(after.unwrap_or(""))
                .bind(limit);
            if let Some(value) = value {
                query = query.bind(value);
            }
            query.fetch_all(db).await.map_err(backend)
        })?;
        rows.into_iter().map(UserRecord::try_from).collect()
    }
}

/// The SQL condition of a `ListUsers` filter: a column (from a fixed list, never from the
/// request) against `$4`.
enum Search {
    /// No user can match (an attribute that is not searchable, a status nobody has).
    Nobody,
    Where(String, Option<String>),
}

fn search_condition(f: &UserFilter, sqlite: bool) -> Search {
    let (column, value) = match f.attribute.as_str() {
        "username" | "sub" | "phone_number" | "name" | "given_name" | "family_name" => {
            (f.attribute.as_str(), f.value.clone())
        }
        "email" | "preferred_username" => (f.attribute.as_str(), alias_key(&f.attribute, &f.value)),
        "cognito:user_status" => ("status", f.value.to_uppercase()),
        "status" => {
            // `Enabled` or `Disabled`, compared as the words they are.
            let matches = |word: &str| {
                if f.prefix {
                    word.starts_with(&f.value)
                } else {
                    word == f.value
                }
            };
            return match (matches("Enabled"), matches("Disabled")) {
                (true, true) => Search::Where("TRUE".into(), None),
                (true, false) => Search::Where("enabled = TRUE".into(), None),
                (false, true) => Search::Where("enabled = FALSE".into(), None),
                (false, false) => Search::Nobody,
            };
        }
        _ => return Search::Nobody,
    };
    if !f.prefix {
        return Search::Where(format!("{column} = $4"), Some(value));
    }
    if sqlite {
        // GLOB is case-sensitive and uses the column's index; its wildcards are escaped as
        // one-character classes.
        let mut pattern = String::new();
        for c in value.chars() {
            match c {
                '*' | '?' | '[' => {
                    pattern.push('[');
                    pattern.push(c);
                    pattern.push(']');
                }
                c => pattern.push(c),
            }
        }
        pattern.push('*');
        Search::Where(format!("{column} GLOB $4"), Some(pattern))
    } else {
        // LIKE is case-sensitive on PostgreSQL and uses the text_pattern_ops index.
        let mut pattern = String::new();
        for c in value.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        Search::Where(format!("{column} LIKE $4 ESCAPE '\\'"), Some(pattern))
    }
}

/// The value of a user's attribute, if it has one.
fn attribute_of(u: &UserRecord, name: &str) -> Option<String> {
    u.attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.value.clone())
}

/// The alias column value of a user's attribute.
fn alias_of(u: &UserRecord, name: &str) -> Option<String> {
    u.attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| alias_key(name, &a.value))
}

/// How an alias is compared: emails and preferred usernames case-insensitively.
fn alias_key(attribute: &str, value: &str) -> String {
    match attribute {
        "phone_number" => value.to_string(),
        _ => value.to_lowercase(),
    }
}
