//! Users as the Admin operations see them: the lookup by name or alias and `UserType`; and
//! `AdminCreateUser`, `AdminGetUser`, `AdminDeleteUser`, `AdminDisableUser`, `AdminEnableUser`,
//! `AdminSetUserPassword`, `AdminConfirmSignUp`, `AdminUserGlobalSignOut`,
//! `AdminResetUserPassword`, whose rules are core's (`userpool_core::auth`).

use std::sync::Arc;

use serde_json::{Value, json};
use userpool_core::auth::{AdminNewUser, MessageAction, find_user};
use userpool_core::directory::PoolView;
use userpool_core::model::AttributeType;
use userpool_core::store::{PoolRecord, UserRecord};

use super::member;
use super::pools::existing;
use crate::{Api, ApiError};

/// The user `name` names: the username as the pool stores it (lowercased in
/// case-insensitive pools), else an alias the pool signs in with, as Admin calls accept.
pub(super) async fn existing_user(
    api: &Api,
    pool: &PoolRecord,
    name: &str,
) -> Result<UserRecord, ApiError> {
    let username = if pool.config.case_sensitive() {
        name.to_string()
    } else {
        name.to_lowercase()
    };
    if let Some(u) = api.store.get_user(&pool.id, &username).await? {
        return Ok(u);
    }
    if let Some(view) = api.directory.snapshot().by_id(&pool.id)
        && let Some(u) = find_user(&*api.store, &view, name).await?
    {
        return Ok(u);
    }
    Err(user_not_found())
}

/// `UserNotFoundException` as the service words it.
pub(super) fn user_not_found() -> ApiError {
    ApiError::new("UserNotFoundException", "User does not exist.")
}

/// `UserType`: the attributes with `sub` first, as the service lists them.
pub(super) fn user_type(user: &UserRecord) -> Value {
    json!({
        "Username": user.username,
        "Attributes": attributes(user),
        "UserCreateDate": user.created_at,
        "UserLastModifiedDate": user.updated_at,
        "Enabled": user.enabled,
        "UserStatus": user.status.as_str(),
    })
}

/// The user's attributes as `AttributeType`s, `sub` first.
pub(super) fn attributes(user: &UserRecord) -> Vec<Value> {
    let mut attributes = Vec::with_capacity(user.attributes.len() + 1);
    attributes.push(attribute("sub", &user.sub));
    attributes.extend(
        user.attributes
            .iter()
            .filter(|a| a.name != "sub")
            .map(|a| attribute(&a.name, &a.value)),
    );
    attributes
}

/// `{"Name": name, "Value": value}`, built directly (a page of users has hundreds).
pub(super) fn attribute(name: &str, value: &str) -> Value {
    let mut pair = serde_json::Map::new();
    pair.insert("Name".to_owned(), Value::String(name.to_owned()));
    pair.insert("Value".to_owned(), Value::String(value.to_owned()));
    Value::Object(pair)
}

/// The pool `UserPoolId` names, as this node sees it, and the user `Username` names.
pub(super) async fn target(
    api: &Api,
    input: &Value,
) -> Result<(Arc<PoolView>, UserRecord), ApiError> {
    let view = pool_view(api, input).await?;
    let user = existing_user(api, &view.pool, &member::<String>(input, "Username")?).await?;
    Ok((view, user))
}

/// The pool `UserPoolId` names, as this node sees it (reloaded if it is newer than the view).
pub(super) async fn pool_view(api: &Api, input: &Value) -> Result<Arc<PoolView>, ApiError> {
    let id: String = member(input, "UserPoolId")?;
    if let Some(view) = api.directory.snapshot().by_id(&id) {
        return Ok(view);
    }
    existing(api, &id).await?;
    api.reload().await;
    api.directory
        .snapshot()
        .by_id(&id)
        .ok_or_else(ApiError::internal)
}

pub(super) async fn admin_create(api: &Api, input: Value) -> Result<Value, ApiError> {
    let view = pool_view(api, &input).await?;
    let action = match member::<Option<String>>(&input, "MessageAction")?.as_deref() {
        None => MessageAction::Send,
        Some("SUPPRESS") => MessageAction::Suppress,
        Some("RESEND") => MessageAction::Resend,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "MessageAction: '{other}' is not RESEND or SUPPRESS"
            )));
        }
    };
    // Without `DesiredDeliveryMediums`, email [I: Cognito's default is SMS].
    let mediums = member::<Option<Vec<String>>>(&input, "DesiredDeliveryMediums")?;
    let asks = |medium: &str| {
        mediums
            .as_ref()
            .is_some_and(|m| m.iter().any(|m| m == medium))
    };
    let by_email = mediums.as_ref().is_none_or(|m| m.is_empty()) || asks("EMAIL");
    let request = AdminNewUser {
        username: member(&input, "Username")?,
        attributes: member::<Option<Vec<AttributeType>>>(&input, "UserAttributes")?
            .unwrap_or_default(),
        temporary_password: member(&input, "TemporaryPassword")?,
        action,
        by_email,
        by_sms: asks("SMS"),
        force_alias_creation: member::<Option<bool>>(&input, "ForceAliasCreation")?
            .unwrap_or(false),
        passed: super::passed(&input)?,
    };
    let user = api.auth.admin_create_user(&view, &request).await?;
    Ok(json!({ "User": user_type(&user) }))
}

pub(super) async fn admin_get(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (_, user) = target(api, &input).await?;
    // The factors turned on and the preferred one (`MFAOptions` is SMS's, so it stays absent).
    let mfa = user.mfa();
    let factors: Vec<&str> = mfa.enabled.iter().map(|f| f.as_str()).collect();
    Ok(json!({
        "Username": user.username,
        "UserAttributes": attributes(&user),
        "UserCreateDate": user.created_at,
        "UserLastModifiedDate": user.updated_at,
        "Enabled": user.enabled,
        "UserStatus": user.status.as_str(),
        "PreferredMfaSetting": mfa.preferred.map(|f| f.as_str()),
        "UserMFASettingList": (!factors.is_empty()).then_some(factors),
    }))
}

pub(super) async fn admin_delete(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, user) = target(api, &input).await?;
    api.auth.admin_delete_user(&view, &user).await?;
    Ok(json!({}))
}

pub(super) async fn admin_disable(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, user) = target(api, &input).await?;
    api.auth.admin_set_enabled(&view, &user, false).await?;
    Ok(json!({}))
}

pub(super) async fn admin_enable(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, user) = target(api, &input).await?;
    api.auth.admin_set_enabled(&view, &user, true).await?;
    Ok(json!({}))
}

pub(super) async fn admin_set_password(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, user) = target(api, &input).await?;
    let password: String = member(&input, "Password")?;
    let permanent = member::<Option<bool>>(&input, "Permanent")?.unwrap_or(false);
    api.auth
        .admin_set_user_password(&view, &user, &password, permanent)
        .await?;
    Ok(json!({}))
}

pub(super) async fn admin_confirm_sign_up(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, user) = target(api, &input).await?;
    api.auth
        .admin_confirm_sign_up(&view, &user, &super::passed(&input)?)
        .await?;
    Ok(json!({}))
}

pub(super) async fn admin_global_sign_out(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, user) = target(api, &input).await?;
    api.auth.admin_global_sign_out(&view, &user).await?;
    Ok(json!({}))
}

pub(super) async fn admin_reset_password(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, user) = target(api, &input).await?;
    api.auth
        .admin_reset_user_password(&view, &user, &super::passed(&input)?)
        .await?;
    Ok(json!({}))
}
