//! `AdminUpdateUserAttributes` and `AdminDeleteUserAttributes`: the checks and the
//! compare-and-swap write are core's (`Auth::admin_update_attributes`,
//! `Auth::admin_delete_attributes`).

use serde_json::{Value, json};
use userpool_core::model::AttributeType;

use super::member;
use super::pools::existing;
use super::users::existing_user;
use crate::{Api, ApiError};

pub(super) async fn update(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let user = existing_user(api, &pool, &member::<String>(&input, "Username")?).await?;
    let attributes: Vec<AttributeType> = member(&input, "UserAttributes")?;
    api.auth
        .admin_update_attributes(&pool, &user, &attributes)
        .await?;
    // `CodeDeliveryDetailsList` stays absent: no verification message is sent [I].
    Ok(json!({}))
}

pub(super) async fn delete(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let user = existing_user(api, &pool, &member::<String>(&input, "Username")?).await?;
    let names: Vec<String> = member(&input, "UserAttributeNames")?;
    api.auth
        .admin_delete_attributes(&pool, &user, &names)
        .await?;
    Ok(json!({}))
}
