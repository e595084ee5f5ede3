//! The user migration trigger: a name that matches no user, signing in with a password
//! (`UserMigration_Authentication`) or asking for a reset (`UserMigration_ForgotPassword`), is
//! looked up in the app's old system; the user it returns is created here, with the password
//! it signed in with, and the sign-in or reset goes on as for any user.

use serde_json::{Value, json};

use super::{Auth, AuthError, AuthResult, ErrorKind, NewPassword};
use crate::crypto::random_token;
use crate::directory::PoolView;
use crate::model::{AttributeType, UserStatus};
use crate::store::{ClientRecord, UserRecord};
use crate::triggers::{Call, Trigger, TriggerInput, invalid_response};

/// What a migration answer makes of a new user.
struct Migrated {
    attributes: Vec<AttributeType>,
    status: UserStatus,
}

/// Reads `userAttributes` (required; string values) and `finalUserStatus` (`CONFIRMED`, else
/// `RESET_REQUIRED`). Attributes Cognito keeps for itself are dropped.
fn read_answer(response: &serde_json::Map<String, Value>) -> AuthResult<Migrated> {
    let Some(Value::Object(given)) = response.get("userAttributes") else {
        return Err(invalid_response());
    };
    let mut attributes = Vec::new();
    for (name, value) in given {
        if name == "sub" || name == "username" || name.starts_with("cognito:") {
            continue;
        }
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => return Err(invalid_response()),
        };
        attributes.push(AttributeType {
            name: name.clone(),
            value,
        });
    }
    let status = match response.get("finalUserStatus").and_then(Value::as_str) {
        Some("CONFIRMED") => UserStatus::Confirmed,
        _ => UserStatus::ResetRequired,
    };
    Ok(Migrated { attributes, status })
}

impl Auth {
    /// `UserMigration_Authentication`: the user the trigger vouches for with this password,
    /// now stored; none when the pool has no trigger. The trigger's refusal is the sign-in's.
    pub(super) async fn migrate_on_sign_in(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        password: &str,
        passed: &TriggerInput,
    ) -> AuthResult<Option<UserRecord>> {
        if !view.triggers.has(Trigger::UserMigration) {
            return Ok(None);
        }
        // Guesses at the old system's passwords meet this name's lock, as guesses here do.
        let pool_id = &view.pool.id;
        let key = super::lockout::name_key(typed);
        let now = self.clock.now();
        let failures = self.store.get_sign_in_failures(pool_id, &key).await?;
        if super::lockout::is_locked(failures.as_ref(), now) {
            return Err(AuthError::new(
                ErrorKind::NotAuthorized,
                "Password attempts exceeded",
            ));
        }
        let mut request = json!({ "password": password });
        let validation = TriggerInput {
            client_metadata: None,
            validation_data: passed.client_metadata.clone(),
        };
        validation.add_to(&mut request, true);
        let source = "UserMigration_Authentication";
        let migrated = self
            .migrate(view, client, typed, source, request, Some(password))
            .await;
        let refused =
            |e: &AuthError| matches!(e.kind, ErrorKind::NotAuthorized | ErrorKind::UserNotFound);
        if matches!(&migrated, Err(e) if refused(e)) {
            self.store
                .record_sign_in_failure(pool_id, &key, now, super::lockout::MAX_LOCK)
                .await?;
        }
        migrated
    }

    /// `UserMigration_ForgotPassword`: the user the trigger knows by this name, stored with
    /// no usable password (a reset code then goes to them); none when the pool has no trigger.
    pub(super) async fn migrate_for_reset(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        passed: &TriggerInput,
    ) -> AuthResult<Option<UserRecord>> {
        let mut request = json!({});
        passed.add_to(&mut request, false);
        let migrated = self
            .migrate(
                view,
                client,
                typed,
                "UserMigration_ForgotPassword",
                request,
                None,
            )
            .await?;
        Ok(migrated.map(|mut u| {
            // The reset is the point: the account waits for its new password.
            u.status = UserStatus::ResetRequired;
            u
        }))
    }

    async fn migrate(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        source: &str,
        request: Value,
        password: Option<&str>,
    ) -> AuthResult<Option<UserRecord>> {
        let typed = typed.trim();
        if typed.is_empty() || !view.triggers.has(Trigger::UserMigration) {
            return Ok(None);
        }
        let call = Call {
            view,
            trigger: Trigger::UserMigration,
            source,
            user_name: typed,
            client_id: Some(&client.client_id),
        };
        let response =
            json!({ "userAttributes": null, "finalUserStatus": null, "messageAction": null });
        let answer = match self.triggers.run(&call, request, response).await {
            Ok(Some(answer)) => answer,
            Ok(None) => return Ok(None),
            // The old system does not know the name (or the password): the answer to an
            // unknown user's sign-in, which names the trigger's reason only to clients that
            // reveal unknown users [I].
            Err(e) if e.kind == ErrorKind::UserLambdaValidation => {
                return Err(if super::reveals_unknown_users(client) {
                    AuthError::new(ErrorKind::UserNotFound, e.message)
                } else if password.is_some() {
                    super::signin::incorrect()
                } else {
                    return Ok(None);
                });
            }
            Err(e) => return Err(e),
        };
        let migrated = read_answer(&answer)?;
        let config = &view.pool.config;
        let sub = crate::oauth::grant::new_uuid();
        let mut attributes = migrated.attributes;
        let username = if config.username_attributes.is_empty() {
            if typed.chars().any(char::is_whitespace) || typed.chars().count() > 128 {
                return Err(AuthError::new(
                    ErrorKind::InvalidParameter,
                    "Username must be 1–128 characters without spaces.",
                ));
            }
            if config.case_sensitive() {
                typed.to_string()
            } else {
                typed.to_lowercase()
            }
        } else {
            // Pools that sign in by email or phone: named by the `sub`, signing in with the
            // attribute the name was typed as.
            let attr = if typed.contains('@') {
                "email"
            } else {
                "phone_number"
            };
            match attributes.iter().find(|a| a.name == attr) {
                // The user signs in with what was typed: the old system must agree.
                Some(a) if !a.value.eq_ignore_ascii_case(typed) => return Err(invalid_response()),
                Some(_) => {}
                None => attributes.push(AttributeType {
                    name: attr.into(),
                    value: typed.to_string(),
                }),
            }
            sub.clone()
        };
        // The rules of any new user: the name's, the pool's attributes and schema.
        super::admin::check_new_user(config, typed, None, &attributes)?;
        // An address or alias another user holds is not taken over [I].
        for attr in config
            .username_attributes
            .iter()
            .chain(config.alias_attributes.iter())
        {
            if let Some(value) = attributes.iter().find(|a| &a.name == attr)
                && !self
                    .store
                    .find_users_by_alias(&view.pool.id, attr, &value.value)
                    .await?
                    .is_empty()
            {
                return Err(AuthError::new(
                    ErrorKind::AliasExists,
                    format!("An account with the given {attr} already exists."),
                ));
            }
        }
        let now = self.clock.now();
        let mut user = UserRecord::new(
            &view.pool.id,
            username,
            sub,
            migrated.status,
            attributes,
            now,
        );
        // The password it signed in with (Cognito does not hold it to the policy), else one
        // nobody knows until the reset.
        let unknown = random_token();
        let new_password: NewPassword = self
            .new_password(&view.pool.id, &user.username, password.unwrap_or(&unknown))
            .await?;
        new_password.set_on(&mut user, now);
        if password.is_none() {
            user.status = UserStatus::ResetRequired;
        }
        if !self.store.insert_user(&user).await? {
            // Made by a racing request a moment ago: that user stands.
            return Ok(self.store.get_user(&view.pool.id, &user.username).await?);
        }
        tracing::info!(pool = %view.pool.id, source, "user migrated");
        Ok(Some(user))
    }
}
