//! Users moved in from elsewhere with their passwords (`userpool users import`) and out again
//! (`userpool users export`): the record of our JSON Lines format, Firebase's export and
//! Cognito's import CSV read into it, and each record checked against the pool and built into a
//! stored user. Hashes made elsewhere are kept as they are, verify at sign-in and are replaced
//! by our Argon2id hash then (`password::imported`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::admin::check_new_user;
use crate::model::{AttributeType, UserPoolConfig, UserStatus};
use crate::password::PasswordHash;
use crate::store::UserRecord;
use crate::time::Timestamp;

/// One user of our JSON Lines format (one object a line), in Cognito's member names where it
/// has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UserLine {
    /// Absent in pools that sign in by email or phone (the user is named by `Sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_status: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_create_date: Option<Timestamp>,
    #[serde(default)]
    pub attributes: Vec<AttributeType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// A PHC-style hash (Argon2, bcrypt, scrypt, Firebase scrypt, PBKDF2-SHA256) or Django's
    /// PBKDF2 form; absent, the user must reset their password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
}

fn yes() -> bool {
    true
}

impl UserLine {
    /// The line a stored user exports as.
    pub fn of(user: &UserRecord, groups: Vec<String>) -> Self {
        UserLine {
            username: Some(user.username.clone()),
            sub: Some(user.sub.clone()),
            user_status: Some(user.status.as_str().to_string()),
            enabled: user.enabled,
            user_create_date: Some(user.created_at),
            attributes: user.attributes.clone(),
            groups,
            password_hash: user
                .password_hash
                .as_ref()
                .filter(|h| !h.is_unusable())
                .map(|h| h.as_str().to_string()),
        }
    }

    /// Checks the line against the pool and builds the user it stores. Users without a hash,
    /// or with a status that needs none, wait for a password reset (`RESET_REQUIRED`).
    pub fn user(
        &self,
        pool_id: &str,
        config: &UserPoolConfig,
        now: Timestamp,
    ) -> Result<UserRecord, String> {
        let sub = match &self.sub {
            Some(s) => uuid::Uuid::parse_str(s)
                .map(|u| u.to_string())
                .map_err(|_| format!("Sub '{s}' is not a UUID"))?,
            None => crate::oauth::grant::new_uuid(),
        };
        let by_attribute = !config.username_attributes.is_empty();
        let typed = match (&self.username, by_attribute) {
            (Some(u), false) => u.trim().to_string(),
            (None, false) => return Err("Username is required in this pool".into()),
            // Named by the `sub`; the attribute it signs in with must be among the attributes.
            (_, true) => {
                let attr = config
                    .username_attributes
                    .iter()
                    .find(|a| self.attributes.iter().any(|x| &x.name == *a))
                    .ok_or("the pool signs in by email or phone: the user needs one")?;
                self.attributes
                    .iter()
                    .find(|x| &x.name == attr)
                    .map(|x| x.value.clone())
                    .unwrap_or_default()
            }
        };
        let attributes: Vec<AttributeType> = self
            .attributes
            .iter()
            .filter(|a| a.name != "sub")
            .cloned()
            .collect();
        check_new_user(config, &typed, None, &attributes).map_err(|e| e.message)?;
        let username = match by_attribute {
            true => sub.clone(),
            false if config.case_sensitive() => typed,
            false => typed.to_lowercase(),
        };
        let mut status = match self.user_status.as_deref() {
            None => UserStatus::Confirmed,
            Some(s) => match UserStatus::parse(s) {
                Some(UserStatus::ExternalProvider) | None => {
                    return Err(format!("UserStatus '{s}' cannot be imported"));
                }
                Some(status) => status,
            },
        };
        let hash = match &self.password_hash {
            Some(h) => PasswordHash::imported(h).map_err(|e| format!("PasswordHash: {e}"))?,
            None => {
                status = UserStatus::ResetRequired;
                PasswordHash::unusable()
            }
        };
        let created = self.user_create_date.unwrap_or(now);
        let mut user = UserRecord::new(pool_id, username, sub, status, attributes, created);
        user.enabled = self.enabled;
        user.password_hash = Some(hash);
        user.password_set_at = Some(created);
        user.updated_at = now;
        Ok(user)
    }
}

/// Why a user built from a line cannot be stored beside the pool's users and the lines before
/// it: a name of the pool's outside providers' users, an address-shaped name in a pool with
/// aliases, or an email, phone or alias that someone holds (in the pool or earlier in the
/// file). `seen` carries the file's values from line to line.
pub async fn conflict(
    store: &dyn crate::store::Store,
    config: &UserPoolConfig,
    providers: &[String],
    user: &UserRecord,
    seen: &mut std::collections::HashSet<String>,
) -> crate::store::StoreResult<Option<String>> {
    let name = user.username.to_lowercase();
    if providers
        .iter()
        .any(|p| name.starts_with(&format!("{}_", p.to_lowercase())))
    {
        return Ok(Some("This username is not available.".into()));
    }
    if !config.alias_attributes.is_empty() && (name.contains('@') || name.starts_with('+')) {
        return Ok(Some(
            "Username should be neither an email nor a phone number.".into(),
        ));
    }
    let value = |attr: &str| {
        user.attributes
            .iter()
            .find(|a| a.name == attr)
            .map(|a| a.value.as_str())
    };
    for attr in config
        .username_attributes
        .iter()
        .chain(config.alias_attributes.iter())
    {
        let Some(v) = value(attr) else { continue };
        // An alias counts once verified (a preferred username always); a username attribute always.
        let counts = config.username_attributes.contains(attr)
            || attr == "preferred_username"
            || value(&format!("{attr}_verified")) == Some("true");
        if !counts {
            continue;
        }
        let taken = !seen.insert(format!("{attr}\u{0}{}", v.to_lowercase()))
            || !store
                .find_users_by_alias(&user.pool_id, attr, v)
                .await?
                .is_empty();
        if taken {
            return Ok(Some(format!(
                "An account with the given {attr} already exists."
            )));
        }
    }
    Ok(None)
}

/// Firebase's hash parameters of a project (its console's "password hash parameters").
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirebaseParams {
    pub signer_key: String,
    pub salt_separator: String,
    pub rounds: u32,
    pub mem_cost: u32,
}

/// The users of a Firebase `auth:export` JSON file as lines: `localId` as the username (or the
/// `sub` in pools that sign in by email), email, phone and display name as attributes, the
/// scrypt hash in our `$firebase-scrypt$` form.
pub fn firebase_lines(export: &Value, params: &FirebaseParams) -> Result<Vec<UserLine>, String> {
    let users = export
        .get("users")
        .and_then(Value::as_array)
        .ok_or("not a Firebase export: no \"users\" array")?;
    let text = |u: &Value, k: &str| u.get(k).and_then(Value::as_str).map(String::from);
    users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let local_id = text(u, "localId").ok_or(format!("users[{i}]: no localId"))?;
            let mut attributes = Vec::new();
            let mut add = |name: &str, value: Option<String>| {
                if let Some(value) = value {
                    attributes.push(AttributeType {
                        name: name.into(),
                        value,
                    });
                }
            };
            add("email", text(u, "email"));
            if u.get("email").is_some() {
                let verified = u
                    .get("emailVerified")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                add("email_verified", Some(verified.to_string()));
            }
            add("name", text(u, "displayName"));
            add("phone_number", text(u, "phoneNumber"));
            let password_hash = match (text(u, "passwordHash"), text(u, "salt")) {
                (Some(hash), Some(salt)) => Some(format!(
                    "$firebase-scrypt$ln={},r={}${salt}${}${}${hash}",
                    params.mem_cost, params.rounds, params.salt_separator, params.signer_key
                )),
                _ => None,
            };
            let created = text(u, "createdAt")
                .and_then(|ms| ms.parse::<i64>().ok())
                .map(|ms| ms / 1000);
            Ok(UserLine {
                username: Some(local_id),
                sub: None,
                user_status: None,
                enabled: !u.get("disabled").and_then(Value::as_bool).unwrap_or(false),
                user_create_date: created,
                attributes,
                groups: Vec::new(),
                password_hash,
            })
        })
        .collect()
}

/// The users of Cognito's import CSV (the columns `GetCSVHeader` names). Without a password
/// hash (column `cognito:password_hash` [I]) a user waits for a reset, as Cognito's imported
/// users do; with one, the user is confirmed and signs in with their password.
pub fn cognito_csv_lines(csv: &str) -> Result<Vec<UserLine>, String> {
    let mut rows = csv_rows(csv).into_iter();
    let header = rows.next().ok_or("the CSV is empty")?;
    let column = |name: &str| header.iter().position(|h| h == name);
    let username_at = column("cognito:username").ok_or("the CSV has no cognito:username column")?;
    let mut lines = Vec::new();
    for (n, row) in rows.enumerate() {
        if row.iter().all(|c| c.is_empty()) {
            continue;
        }
        if row.len() != header.len() {
            return Err(format!(
                "row {}: {} fields, the header has {}",
                n + 2,
                row.len(),
                header.len()
            ));
        }
        let mut attributes = Vec::new();
        for (name, value) in header.iter().zip(&row) {
            if value.is_empty() || name.starts_with("cognito:") {
                continue;
            }
            let value = match name.as_str() {
                "email_verified" | "phone_number_verified" => value.to_lowercase(),
                _ => value.clone(),
            };
            attributes.push(AttributeType {
                name: name.clone(),
                value,
            });
        }
        let password_hash = column(super::import_jobs::HASH_COLUMN)
            .map(|i| row[i].clone())
            .filter(|h| !h.is_empty());
        lines.push(UserLine {
            username: Some(row[username_at].clone()),
            sub: None,
            user_status: Some(
                if password_hash.is_some() {
                    "CONFIRMED"
                } else {
                    "RESET_REQUIRED"
                }
                .into(),
            ),
            enabled: true,
            user_create_date: None,
            attributes,
            groups: Vec::new(),
            password_hash,
        });
    }
    Ok(lines)
}

/// RFC 4180 rows: fields separated by commas, quoted with `"` (doubled inside), rows by CRLF
/// or LF.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted() {
        let rows = csv_rows("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\n");
        assert_eq!(
            rows,
            vec![vec!["a", "b", "c"], vec!["x, y", "say \"hi\"", ""]]
        );
    }

    #[test]
    fn a_cognito_csv_row_becomes_a_user_awaiting_reset() {
        let csv = "name,email,email_verified,cognito:mfa_enabled,cognito:username\nAda,ada@x.test,TRUE,FALSE,ada\n";
        let lines = cognito_csv_lines(csv).unwrap();
        assert_eq!(lines[0].username.as_deref(), Some("ada"));
        assert!(lines[0].attributes.contains(&AttributeType {
            name: "email_verified".into(),
            value: "true".into()
        }));
        let config = UserPoolConfig {
            pool_name: "p".into(),
            ..Default::default()
        };
        let user = lines[0].user("us-east-1_x", &config, 100).unwrap();
        assert_eq!(user.status, UserStatus::ResetRequired);
        assert!(user.password_hash.is_some());
    }
}
