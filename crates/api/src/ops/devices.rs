//! Remembered devices: `ConfirmDevice`, `GetDevice`, `ListDevices`, `ForgetDevice`,
//! `UpdateDeviceStatus` with the user's access token, and `AdminGetDevice`,
//! `AdminListDevices`, `AdminForgetDevice`, `AdminUpdateDeviceStatus`. The rules are core's
//! (`userpool_core::auth` devices).

use std::sync::Arc;

use serde_json::{Value, json};
use userpool_core::directory::PoolView;
use userpool_core::store::{DeviceRecord, UserRecord};

use super::account::account;
use super::member;
use super::users::{attribute, target};
use crate::{Api, ApiError};

/// Cognito's page limit for devices.
const MAX_DEVICES: usize = 60;

/// `DeviceType`.
fn device_type(d: &DeviceRecord) -> Value {
    let mut attributes = vec![attribute("device_status", "valid")];
    if let Some(name) = &d.name {
        attributes.push(attribute("device_name", name));
    }
    if let Some(remembered) = d.remembered {
        let status = if remembered {
            "remembered"
        } else {
            "not_remembered"
        };
        attributes.push(attribute("device_remembered_status", status));
    }
    if let Some(ip) = &d.last_ip {
        attributes.push(attribute("last_ip_used", ip));
    }
    json!({
        "DeviceKey": d.device_key,
        "DeviceAttributes": attributes,
        "DeviceCreateDate": d.created_at,
        "DeviceLastModifiedDate": d.updated_at,
        "DeviceLastAuthenticatedDate": d.last_authenticated_at,
    })
}

/// The user a request is about: the access token's, or `UserPoolId` + `Username` (admin).
async fn owner(
    api: &Api,
    input: &Value,
    admin: bool,
) -> Result<(Arc<PoolView>, UserRecord), ApiError> {
    if admin {
        target(api, input).await
    } else {
        let caller = account(api, input).await?;
        Ok((caller.view, caller.user))
    }
}

pub(super) async fn confirm(api: &Api, input: Value) -> Result<Value, ApiError> {
    let caller = account(api, &input).await?;
    let (view, user) = (&caller.view, &caller.user);
    let key: String = member(&input, "DeviceKey")?;
    let config: Option<Value> = member(&input, "DeviceSecretVerifierConfig")?;
    let field = |name: &str| {
        config
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let name: Option<String> = member(&input, "DeviceName")?;
    let necessary = api
        .auth
        .confirm_device(
            view,
            user,
            caller.device_key.as_deref(),
            &key,
            &field("PasswordVerifier"),
            &field("Salt"),
            name.as_deref(),
        )
        .await?;
    Ok(json!({ "UserConfirmationNecessary": necessary }))
}

async fn get(api: &Api, input: Value, admin: bool) -> Result<Value, ApiError> {
    let (view, user) = owner(api, &input, admin).await?;
    let key: String = member(&input, "DeviceKey")?;
    let device = api.auth.device_of(&view, &user, &key).await?;
    Ok(json!({ "Device": device_type(&device) }))
}

async fn list(api: &Api, input: Value, admin: bool) -> Result<Value, ApiError> {
    let (view, user) = owner(api, &input, admin).await?;
    let limit = member::<Option<usize>>(&input, "Limit")?
        .unwrap_or(MAX_DEVICES)
        .clamp(1, MAX_DEVICES);
    let token: Option<String> = member(&input, "PaginationToken")?;
    let devices = api
        .store
        .list_devices(&view.pool.id, &user.username)
        .await?;
    let (page, next) = super::page(devices, token.as_deref(), limit)?;
    let mut answer = json!({ "Devices": page.iter().map(device_type).collect::<Vec<_>>() });
    if let Some(next) = next {
        answer["PaginationToken"] = json!(next);
    }
    Ok(answer)
}

async fn forget(api: &Api, input: Value, admin: bool) -> Result<Value, ApiError> {
    let (view, user) = owner(api, &input, admin).await?;
    let key: String = member(&input, "DeviceKey")?;
    api.auth.forget_device(&view, &user, &key).await?;
    Ok(json!({}))
}

async fn update_status(api: &Api, input: Value, admin: bool) -> Result<Value, ApiError> {
    let (view, user) = owner(api, &input, admin).await?;
    let key: String = member(&input, "DeviceKey")?;
    let status: Option<String> = member(&input, "DeviceRememberedStatus")?;
    let remembered = status.as_deref() == Some("remembered");
    api.auth
        .set_device_remembered(&view, &user, &key, remembered)
        .await?;
    Ok(json!({}))
}

pub(super) async fn get_own(api: &Api, input: Value) -> Result<Value, ApiError> {
    get(api, input, false).await
}
pub(super) async fn admin_get(api: &Api, input: Value) -> Result<Value, ApiError> {
    get(api, input, true).await
}
pub(super) async fn list_own(api: &Api, input: Value) -> Result<Value, ApiError> {
    list(api, input, false).await
}
pub(super) async fn admin_list(api: &Api, input: Value) -> Result<Value, ApiError> {
    list(api, input, true).await
}
pub(super) async fn forget_own(api: &Api, input: Value) -> Result<Value, ApiError> {
    forget(api, input, false).await
}
pub(super) async fn admin_forget(api: &Api, input: Value) -> Result<Value, ApiError> {
    forget(api, input, true).await
}
pub(super) async fn update_own_status(api: &Api, input: Value) -> Result<Value, ApiError> {
    update_status(api, input, false).await
}
pub(super) async fn admin_update_status(api: &Api, input: Value) -> Result<Value, ApiError> {
    update_status(api, input, true).await
}
