//! `UserStore`: users, their group memberships, federated identity links, the last TOTP step
//! and the alias columns (email, phone number, preferred username) users are found by.

use async_trait::async_trait;
use userpool_core::model::UserStatus;
use userpool_core::password::PasswordHash;
use userpool_core::store::*;

use super::{SqlStore, begin_write};
use crate::codec::{backend, from_json, to_json};

const USER_COLUMNS: &str = "pool_id, username, sub, status, enabled, password_hash, attributes, created_at, updated_at, totp_secret, version, password_set_at, tokens_valid_from_ms, mfa_preference, srp_verifier";

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
        mfa_preference: Option<String>,
        srp_verifier: Option<String>,
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
            mfa_preference: row
                .mfa_preference
                .map(|p| from_json("user MFA preference", &p))
                .transpose()?,
            srp_verifier: row.srp_verifier,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

/// The columns a new user's row is written with, in the order `bind_new_user!` binds them;
/// `version` starts at 0.
const INSERT_COLUMNS: &str = "pool_id, username, sub, status, enabled, password_hash, attributes, created_at, updated_at, email, phone_number, preferred_username, totp_secret, password_set_at, tokens_valid_from_ms, name, given_name, family_name, mfa_preference, srp_verifier, version";

/// The parameters `bind_new_user!` binds per user.
pub(super) const INSERT_PARAMETERS: usize = 20;

/// `INSERT INTO users … VALUES (…), (…) ON CONFLICT DO NOTHING` for `rows` new users (one for
/// `insert_user`, many for the bulk load): each row's parameters are bound by `bind_new_user!`.
pub(super) fn insert_users_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO users ({INSERT_COLUMNS}) VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for i in 1..=INSERT_PARAMETERS {
            sql.push_str(&format!("${}, ", row * INSERT_PARAMETERS + i));
        }
        sql.push_str("0)");
    }
    sql.push_str(" ON CONFLICT DO NOTHING");
    sql
}

/// Binds a new user's row (the `INSERT_PARAMETERS` values of `INSERT_COLUMNS`) to `$query`:
/// the alias columns (`alias_of`) and the searchable name columns (`attribute_of`) come from
/// the attributes, so a user is found by them however it was written.
macro_rules! bind_new_user {
    ($query:expr, $user:expr) => {{
        let u: &UserRecord = $user;
        let alias = |name: &str| $crate::sql::users::alias_of(u, name);
        let attribute = |name: &str| $crate::sql::users::attribute_of(u, name);
        $query
            .bind(&u.pool_id)
            .bind(&u.username)
            .bind(&u.sub)
            .bind(u.status.as_str())
            .bind(u.enabled)
            .bind(
                u.password_hash
                    .as_ref()
                    .map(userpool_core::password::PasswordHash::as_str),
            )
            .bind($crate::codec::to_json(&u.attributes))
            .bind(u.created_at)
            .bind(u.updated_at)
            .bind(alias("email"))
            .bind(alias("phone_number"))
            .bind(alias("preferred_username"))
            .bind(&u.totp_secret)
            .bind(u.password_set_at)
            .bind(u.tokens_valid_from_ms)
            .bind(attribute("name"))
            .bind(attribute("given_name"))
            .bind(attribute("family_name"))
            .bind(u.mfa_preference.as_ref().map($crate::codec::to_json))
            .bind(&u.srp_verifier)
    }};
}
pub(super) use bind_new_user;

/// What `delete_user` deletes before the user row, each statement bound to pool and username.
const USER_LEFTOVERS: &[&str] = &[
    "DELETE FROM user_codes WHERE pool_id = $1 AND username = $2",
    "DELETE FROM auth_challenges WHERE pool_id = $1 AND username = $2",
    "DELETE FROM sessions WHERE pool_id = $1 AND username = $2",
    "DELETE FROM token_families WHERE pool_id = $1 AND username = $2",
    "DELETE FROM devices WHERE pool_id = $1 AND username = $2",
    "DELETE FROM passkeys WHERE pool_id = $1 AND username = $2",
];

#[async_trait]
impl UserStore for SqlStore {
    async fn insert_user(&self, u: &UserRecord) -> StoreResult<bool> {
        u.check_writable()?;
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| insert_users_sql(1)).as_str();
        on_db!(self, db => changed_one!(bind_new_user!(sqlx::query(sqlx::AssertSqlSafe(sql)), u), db))
    }

    async fn update_user(&self, u: &UserRecord) -> StoreResult<CasOutcome> {
        u.check_writable()?;
        let sql = "UPDATE users SET status = $1, enabled = $2, password_hash = $3, attributes = $4, updated_at = $5, email = $6, phone_number = $7, preferred_username = $8, totp_secret = $9, password_set_at = $10, tokens_valid_from_ms = $11, name = $15, given_name = $16, family_name = $17, mfa_preference = $18, srp_verifier = $19, version = version + 1 WHERE pool_id = $12 AND username = $13 AND version = $14";
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
            .bind(attribute_of(u, "family_name"))
            .bind(u.mfa_preference.as_ref().map(to_json))
            .bind(&u.srp_verifier), db))?;
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

    async fn unlink_identity(
        &self,
        pool_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<bool> {
        let sql = "DELETE FROM identity_links WHERE pool_id = $1 AND provider_name = $2 AND provider_subject = $3";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(provider)
            .bind(subject), db))
    }

    async fn count_links(&self, pool_id: &str, username: &str) -> StoreResult<i64> {
        let sql = "SELECT COUNT(*) FROM identity_links WHERE pool_id = $1 AND username = $2";
        on_db!(self, db => sqlx::query_scalar(sql)
            .bind(pool_id)
            .bind(username)
            .fetch_one(db)
            .await
            .map_err(backend))
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

    async fn get_user_with_groups(
        &self,
        pool_id: &str,
        username: &str,
    ) -> StoreResult<Option<(UserRecord, Vec<String>)>> {
        use sqlx::{FromRow as _, Row as _};
        // The group names joined by U+001F, which Cognito's group names cannot hold.
        let sql = match &self.db {
            super::Db::Sqlite(_) => select!(
                USER_COLUMNS,
                ", (SELECT group_concat(group_name, char(31)) FROM user_groups g WHERE g.pool_id = $1 AND g.username = $2) AS group_names FROM users WHERE pool_id = $1 AND username = $2"
            ),
            super::Db::Postgres(_) => select!(
                USER_COLUMNS,
                ", (SELECT string_agg(group_name, chr(31)) FROM user_groups g WHERE g.pool_id = $1 AND g.username = $2) AS group_names FROM users WHERE pool_id = $1 AND username = $2"
            ),
        };
        let found = on_db!(self, db => {
            let row = sqlx::query(sql)
                .bind(pool_id)
                .bind(username)
                .fetch_optional(db)
                .await
                .map_err(backend)?;
            row.map(|r| {
                let names: Option<String> = r.try_get("group_names").map_err(backend)?;
                Ok::<_, StoreError>((UserRow::from_row(&r).map_err(backend)?, names))
            })
            .transpose()?
        });
        let Some((row, names)) = found else {
            return Ok(None);
        };
        let mut groups: Vec<String> = names
            .iter()
            .flat_map(|n| n.split('\u{1f}'))
            .map(String::from)
            .collect();
        groups.sort();
        Ok(Some((UserRecord::try_from(row)?, groups)))
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
        if let Some(index) = filter
            .filter(|f| sqlite && f.prefix)
            .and_then(|f| sqlite_search_index(&f.attribute))
        {
            // SQLite has no statistics to choose between walking the pool by username (cheap
            // when many users match: the page fills early) and reading the matches from the
            // attribute's index (cheap when few do; the walk would read the whole pool). So:
            // the walk, over the next PREFIX_WALK users per row of the page at most; if it fills
            // the page, that is the page. Else the index: every match's username from it alone
            // (it ends with the username), sorted, and only the page's rows read.
            let walk = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE pool_id = $1 AND username > $2 AND username <= COALESCE((SELECT username FROM users WHERE pool_id = $1 AND username > $2 ORDER BY username LIMIT 1 OFFSET {}), x''){condition} ORDER BY username LIMIT $3",
                PREFIX_WALK * limit.max(1) - 1
            );
            let page = self
                .users_where(walk, pool_id, after, limit, value.clone())
                .await?;
            if page.len() as i64 >= limit {
                return Ok(page);
            }
            let by_index = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE pool_id = $1 AND username IN (SELECT username FROM users INDEXED BY {index} WHERE pool_id = $1 AND username > $2{condition} ORDER BY username LIMIT $3) ORDER BY username LIMIT $3"
            );
            return self
                .users_where(by_index, pool_id, after, limit, value)
                .await;
        }
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE pool_id = $1 AND username > $2{condition} ORDER BY username LIMIT $3"
        );
        self.users_where(sql, pool_id, after, limit, value).await
    }
}

/// Users per row of the page the SQLite prefix search walks by username before it turns to the
/// attribute's index: the walk serves prefixes one user in 100 has, or more (it stops when the
/// page is full); rarer ones cost a walk of 100 users per row and the index.
const PREFIX_WALK: i64 = 100;

/// The SQLite index of a searchable column whose prefix search may go by it (each ends with the
/// username: migration 0013).
fn sqlite_search_index(attribute: &str) -> Option<&'static str> {
    Some(match attribute {
        "email" => "users_by_email",
        "phone_number" => "users_by_phone",
        "preferred_username" => "users_by_preferred_username",
        "name" => "users_by_name",
        "given_name" => "users_by_given_name",
        "family_name" => "users_by_family_name",
        "cognito:user_status" => "users_by_status",
        _ => return None,
    })
}

impl SqlStore {
    /// The users of a `list_users` query: `$1` the pool, `$2` the username to start after,
    /// `$3` the limit, `$4` the search value if any.
    async fn users_where(
        &self,
        sql: String,
        pool_id: &str,
        after: Option<&str>,
        limit: i64,
        value: Option<String>,
    ) -> StoreResult<Vec<UserRecord>> {
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
pub(super) fn attribute_of(u: &UserRecord, name: &str) -> Option<String> {
    u.attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.value.clone())
}

/// The alias column value of a user's attribute.
pub(super) fn alias_of(u: &UserRecord, name: &str) -> Option<String> {
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
