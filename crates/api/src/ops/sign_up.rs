//! Self-service sign-up and password reset: `SignUp`, `ConfirmSignUp`,
//! `ResendConfirmationCode`, `ForgotPassword`, `ConfirmForgotPassword`. The app client and its
//! `SecretHash` identify the caller; the rules (codes, lockout, unknown names) are core's, shared
//! with the managed-login pages.

use serde_json::{Value, json};
use userpool_core::crypto::sha256;
use userpool_core::lifecycle::{SignUpInput, email_of};
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

/// `CodeDeliveryDetailsType` of a code sent by email: the address masked as Cognito masks it
/// (`a***@e***`). A name without an address (unknown, when the client hides unknown names)
/// gets a stand-in of the same shape, stable for the name.
pub(super) fn delivery(email: Option<&str>, typed: &str) -> Value {
    let masked = match email {
        Some(e) => mask(e),
        // A name typed as an address is masked as a real one would be.
        None if typed.contains('@') => mask(typed.trim()),
        None => {
            let letters = b"abcdefghijklmnopqrstuvwxyz";
            let h = sha256(typed.as_bytes());
            let first = typed.chars().next().unwrap_or('u');
            let domain = letters[usize::from(h[0]) % letters.len()] as char;
            format!("{first}***@{domain}***")
        }
    };
    json!({ "Destination": masked, "DeliveryMedium": "EMAIL", "AttributeName": "email" })
}

pub(super) fn mask(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    format!("{}***@{}***", first(local), first(domain))
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
    let user = api
        .auth
        .sign_up(&view, &client, &request, &super::passed(&input)?)
        .await?;
    let confirmed = user.status == userpool_core::model::UserStatus::Confirmed;
    let mut answer = json!({ "UserConfirmed": confirmed, "UserSub": user.sub });
    if let Some(email) = email_of(&user).filter(|_| !confirmed) {
        answer["CodeDeliveryDetails"] = delivery(Some(email), &username);
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
    Ok(json!({ "CodeDeliveryDetails": delivery(sent_to.as_deref(), &username) }))
}

pub(super) async fn forgot_password(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, client, username) = caller(api, &input).await?;
    let sent_to = api
        .auth
        .forgot_password(&view, &client, &username, &super::passed(&input)?)
        .await?;
    Ok(json!({ "CodeDeliveryDetails": delivery(sent_to.as_deref(), &username) }))
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
    fn addresses_are_masked_as_cognito_masks_them() {
        assert_eq!(mask("alice@example.test"), "a***@e***");
        let stand_in = delivery(None, "nobody");
        assert_eq!(stand_in, delivery(None, "nobody"));
        let shown = stand_in["Destination"].as_str().unwrap();
        assert!(
            shown.starts_with("n***@") && shown.ends_with("***"),
            "{shown}"
        );
    }
}
