//! Self-service sign-up and password reset: `SignUp`, `ConfirmSignUp`,
//! `ResendConfirmationCode`, `ForgotPassword`, `ConfirmForgotPassword`. The app client and its
//! `SecretHash` identify the caller; the rules (codes, lockout, unknown names) are core's, shared
//! with the managed-login pages.

use serde_json::{Value, json};
use userpool_core::auth::Delivery;
use userpool_core::lifecycle::SignUpInput;
use userpool_core::model::AttributeType;

use super::member;
use super::sign_in::{app_client, check_secret_hash};
use crate::{Api, ApiError};

/// The client of a self-service request, its `SecretHash` checked over `Username`.
async fn caller(
    api: &Api,
    input: &Value,
) -> Result<
    (
        std::sync::Arc<userpool_core::directory::PoolView>,
        userpool_core::store::ClientRecord,
        String,
    ),
    ApiError,
> {
    let (view, client) = app_client(api, &member::<String>(input, "ClientId")?).await?;
    let username: String = member(input, "Username")?;
    let hash: Option<String> = member(input, "SecretHash")?;
    check_secret_hash(api, &client, &username, hash.as_deref())?;
    Ok((view, client, username))
}

/// `CodeDeliveryDetailsType` of a code sent to `to`.
pub(super) fn details(to: &Delivery) -> Value {
    json!({ "Destination": to.masked(), "DeliveryMedium": to.medium(), "AttributeName": to.attribute() })
}

pub(super) async fn sign_up(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, client, username) = caller(api, &input).await?;
    let password: Option<String> = member(&input, "Password")?;
    let password = password
        .ok_or_else(|| ApiError::invalid_parameter("Missing required parameter PASSWORD"))?;
    let attributes: Vec<AttributeType> =
        member::<Option<Vec<AttributeType>>>(&input, "UserAttributes")?.unwrap_or_default();
    let request = SignUpInput {
        username: &username,
        email: None,
        password: &password,
        attributes: &attributes,
    };
    let (user, sent_to) = api
        .auth
        .sign_up(&view, &client, &request, &super::passed(&input)?)
        .await?;
    let confirmed = user.status == userpool_core::model::UserStatus::Confirmed;
    let mut answer = json!({ "UserConfirmed": confirmed, "UserSub": user.sub });
    if let Some(to) = sent_to.filter(|_| !confirmed) {
        answer["CodeDeliveryDetails"] = details(&to);
    }
    Ok(answer)
}

pub(super) async fn confirm_sign_up(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, client, username) = caller(api, &input).await?;
    let code: String = member(&input, "ConfirmationCode")?;
    api.auth
        .confirm_sign_up(&view, &client, &username, &code, &super::passed(&input)?)
        .await?;
    Ok(json!({}))
}

pub(super) async fn resend_confirmation_code(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, client, username) = caller(api, &input).await?;
    let sent_to = api
        .auth
        .resend_confirmation(&view, &client, &username, &super::passed(&input)?)
        .await?;
    Ok(json!({ "CodeDeliveryDetails": details(&sent_to) }))
}

pub(super) async fn forgot_password(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, client, username) = caller(api, &input).await?;
    let sent_to = api
        .auth
        .forgot_password(&view, &client, &username, &super::passed(&input)?)
        .await?;
    Ok(json!({ "CodeDeliveryDetails": details(&sent_to) }))
}

pub(super) async fn confirm_forgot_password(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, client, username) = caller(api, &input).await?;
    let code: String = member(&input, "ConfirmationCode")?;
    let password: String = member(&input, "Password")?;
    api.auth
        .confirm_forgot_password(
            &view,
            &client,
            &username,
            &code,
            &password,
            &super::passed(&input)?,
        )
        .await?;
    Ok(json!({}))
}
