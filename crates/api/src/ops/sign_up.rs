//! Self-service sign-up and password reset: `SignUp`, `ConfirmSignUp`,
//! `ResendConfirmationCode`, `ForgotPassword`, `ConfirmForgotPassword`. The app client and its
//! `SecretHash` identify the caller; the rules (codes, lockout, unknown names) are core's, shared
//! with the managed-login pages.

use serde_json::{Value, json};
use userpool_core::auth::Delivery;
use userpool_core::crypto::sha256;
use userpool_core::lifecycle::SignUpInput;
use userpool_core::model::{AttributeType, UserPoolConfig};

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

/// `CodeDeliveryDetailsType` of a code: where it went, masked as Cognito masks it. A name
/// without an address (unknown, when the client hides unknown names) gets a stand-in of the
/// shape a real user of the pool would get, stable for the name.
pub(super) fn delivery(sent: Option<&Delivery>, typed: &str, pool: &UserPoolConfig) -> Value {
    let to = sent.cloned().unwrap_or_else(|| stand_in(typed, pool));
    details(&to)
}

/// `CodeDeliveryDetailsType` of a code sent to `to`.
pub(super) fn details(to: &Delivery) -> Value {
    json!({ "Destination": to.masked(), "DeliveryMedium": to.medium(), "AttributeName": to.attribute() })
}

/// Where a code to a user named `typed` would plausibly go: what was typed, when it is an
/// address; else a phone in pools that verify phones, an email otherwise.
fn stand_in(typed: &str, pool: &UserPoolConfig) -> Delivery {
    let typed = typed.trim();
    let h = sha256(typed.as_bytes());
    if typed.starts_with('+') {
        return Delivery::Sms(typed.to_string());
    }
    if typed.contains('@') {
        return Delivery::Email(typed.to_string());
    }
    if pool
        .auto_verified_attributes
        .iter()
        .any(|a| a == "phone_number")
    {
        let digits = u16::from_be_bytes([h[0], h[1]]) % 10_000;
        return Delivery::Sms(format!("+1555555{digits:04}"));
    }
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    let first = typed.chars().next().unwrap_or('u');
    let domain = letters[usize::from(h[0]) % letters.len()] as char;
    Delivery::Email(format!("{first}@{domain}"))
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
    Ok(json!({ "CodeDeliveryDetails": delivery(sent_to.as_ref(), &username, &view.pool.config) }))
}

pub(super) async fn forgot_password(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, client, username) = caller(api, &input).await?;
    let sent_to = api
        .auth
        .forgot_password(&view, &client, &username, &super::passed(&input)?)
        .await?;
    Ok(json!({ "CodeDeliveryDetails": delivery(sent_to.as_ref(), &username, &view.pool.config) }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_get_a_stable_stand_in_of_the_pools_shape() {
        let mut pool = UserPoolConfig::default();
        let stand_in = delivery(None, "nobody", &pool);
        assert_eq!(stand_in, delivery(None, "nobody", &pool));
        let shown = stand_in["Destination"].as_str().unwrap();
        assert!(
            shown.starts_with("n***@") && shown.ends_with("***"),
            "{shown}"
        );
        assert_eq!(
            delivery(None, "+15555550123", &pool)["Destination"],
            "+*******0123"
        );
        pool.auto_verified_attributes = vec!["phone_number".into()];
        let by_text = delivery(None, "nobody", &pool);
        assert_eq!(by_text["DeliveryMedium"], "SMS");
        assert_eq!(by_text["AttributeName"], "phone_number");
    }
}
