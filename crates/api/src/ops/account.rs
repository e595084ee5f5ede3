//! The user's own operations, authorized by their access token: `GetUser`,
//! `UpdateUserAttributes`, `DeleteUserAttributes`, `ChangePassword`, `DeleteUser`,
//! `GlobalSignOut`, `AssociateSoftwareToken`, `VerifySoftwareToken`, `SetUserMFAPreference`.
//! Which live user a token names, and every rule, is core's (`Auth::account_of`, …).

use std::sync::Arc;

use serde_json::{Value, json};
use userpool_core::auth::{CodeMessage, check_user_writes};
use userpool_core::directory::PoolView;
use userpool_core::lifecycle::totp;
use userpool_core::model::{AttributeType, MfaFactor};
use userpool_core::oauth::claims::claimed_client_id;
use userpool_core::store::{ClientRecord, UserRecord};

use super::member;
use super::sign_in::{answer, app_client};
use super::sign_up::details;
use super::user_mfa::mfa_choices;
use super::users::attributes;
use crate::{Api, ApiError};

fn invalid_token() -> ApiError {
    ApiError::new("NotAuthorizedException", "Invalid Access Token")
}

/// The pool of the token's client (read before the signature is checked, only to find the
/// keys that check it).
async fn token_pool(api: &Api, token: &str) -> Result<Arc<PoolView>, ApiError> {
    let client_id = claimed_client_id(token).ok_or_else(invalid_token)?;
    let (view, _) = app_client(api, &client_id)
        .await
        .map_err(|_| invalid_token())?;
    Ok(view)
}

/// Who calls: the pool, the live user of the request's `AccessToken`, and the token's client.
pub(super) struct Caller {
    pub(super) view: Arc<PoolView>,
    pub(super) user: UserRecord,
    pub(super) client: ClientRecord,
    /// The token's `device_key`, when a device is tracked.
    pub(super) device_key: Option<String>,
}

impl Caller {
    /// What the user may write through the token's client (core's `check_user_writes`).
    fn may_write<'a>(&self, names: impl Iterator<Item = &'a str>) -> Result<(), ApiError> {
        Ok(check_user_writes(&self.client, names)?)
    }
}

pub(super) async fn account(api: &Api, input: &Value) -> Result<Caller, ApiError> {
    let token: String = member(input, "AccessToken")?;
    let view = token_pool(api, &token).await?;
    let (user, claims) = api.auth.account_of(&view, &token).await?;
    let client = claims
        .get("client_id")
        .and_then(Value::as_str)
        .and_then(|id| view.clients.get(id))
        .cloned()
        .ok_or_else(invalid_token)?;
    let device_key = claims
        .get("device_key")
        .and_then(Value::as_str)
        .map(String::from);
    Ok(Caller {
        view,
        user,
        client,
        device_key,
    })
}

pub(super) async fn get_user(api: &Api, input: Value) -> Result<Value, ApiError> {
    let Caller { user, .. } = account(api, &input).await?;
    let mfa = user.mfa();
    let factors: Vec<&str> = mfa.enabled.iter().map(|f| f.as_str()).collect();
    Ok(json!({
        "Username": user.username,
        "UserAttributes": attributes(&user),
        "PreferredMfaSetting": mfa.preferred.map(|f| f.as_str()),
        "UserMFASettingList": (!factors.is_empty()).then_some(factors),
    }))
}

pub(super) async fn update_user_attributes(api: &Api, input: Value) -> Result<Value, ApiError> {
    let caller = account(api, &input).await?;
    let given: Vec<AttributeType> = member(&input, "UserAttributes")?;
    caller.may_write(given.iter().map(|a| a.name.as_str()))?;
    let sent_to = api
        .auth
        .update_own_attributes(
            &caller.view,
            &caller.user,
            &given,
            &caller.client,
            &super::passed(&input)?,
        )
        .await?;
    Ok(match sent_to.is_empty() {
        false => {
            json!({ "CodeDeliveryDetailsList": sent_to.iter().map(details).collect::<Vec<_>>() })
        }
        true => json!({}),
    })
}

pub(super) async fn delete_user_attributes(api: &Api, input: Value) -> Result<Value, ApiError> {
    let caller = account(api, &input).await?;
    let names: Vec<String> = member(&input, "UserAttributeNames")?;
    caller.may_write(names.iter().map(String::as_str))?;
    api.auth
        .admin_delete_attributes(&caller.view.pool, &caller.user, &names)
        .await?;
    Ok(json!({}))
}

pub(super) async fn get_user_attribute_verification_code(
    api: &Api,
    input: Value,
) -> Result<Value, ApiError> {
    let Caller {
        view, user, client, ..
    } = account(api, &input).await?;
    let attribute: String = member(&input, "AttributeName")?;
    let sent_to = api
        .auth
        .send_attribute_code(
            &view,
            &user,
            &attribute,
            CodeMessage::new(
                "CustomMessage_VerifyUserAttribute",
                Some(&client),
                &super::passed(&input)?,
            ),
        )
        .await?;
    Ok(json!({ "CodeDeliveryDetails": details(&sent_to) }))
}

pub(super) async fn verify_user_attribute(api: &Api, input: Value) -> Result<Value, ApiError> {
    let Caller { view, user, .. } = account(api, &input).await?;
    let attribute: String = member(&input, "AttributeName")?;
    let code: String = member(&input, "Code")?;
    api.auth
        .verify_attribute(&view, &user, &attribute, &code)
        .await?;
    Ok(json!({}))
}

pub(super) async fn change_password(api: &Api, input: Value) -> Result<Value, ApiError> {
    let Caller { view, user, .. } = account(api, &input).await?;
    let previous: Option<String> = member(&input, "PreviousPassword")?;
    let proposed: String = member(&input, "ProposedPassword")?;
    let previous = previous.ok_or_else(|| {
        ApiError::invalid_parameter("Missing required parameter PreviousPassword")
    })?;
    api.auth
        .change_password(&view, &user, &previous, &proposed)
        .await?;
    Ok(json!({}))
}

pub(super) async fn delete_user(api: &Api, input: Value) -> Result<Value, ApiError> {
    let Caller { view, user, .. } = account(api, &input).await?;
    api.auth.admin_delete_user(&view, &user).await?;
    Ok(json!({}))
}

pub(super) async fn global_sign_out(api: &Api, input: Value) -> Result<Value, ApiError> {
    let Caller { view, user, .. } = account(api, &input).await?;
    api.auth.admin_global_sign_out(&view, &user).await?;
    Ok(json!({}))
}

/// With an access token: a new secret for the signed-in user. With a sign-in's `Session`
/// (its `MFA_SETUP` challenge): that step's secret, and the session to verify it with.
pub(super) async fn associate_software_token(api: &Api, input: Value) -> Result<Value, ApiError> {
    let session: Option<String> = member(&input, "Session")?;
    if member::<Option<String>>(&input, "AccessToken")?.is_some() {
        let Caller { view, user, .. } = account(api, &input).await?;
        let secret = api.auth.associate_software_token(&view, &user).await?;
        return Ok(json!({ "SecretCode": totp::base32(&secret) }));
    }
    let session = session.ok_or_else(|| {
        ApiError::invalid_parameter("Either AccessToken or Session must be given")
    })?;
    let (view, client) = setup_client(api, &session).await?;
    let secret = api.auth.setup_step_secret(&view, &client, &session).await?;
    Ok(json!({ "SecretCode": secret, "Session": session }))
}

/// With an access token: the code keeps the secret associated. With a session: the code
/// finishes the sign-in's TOTP set-up, and the new `Session` answers `MFA_SETUP`.
pub(super) async fn verify_software_token(api: &Api, input: Value) -> Result<Value, ApiError> {
    let code: String = member(&input, "UserCode")?;
    if member::<Option<String>>(&input, "AccessToken")?.is_some() {
        let Caller { view, user, .. } = account(api, &input).await?;
        api.auth
            .verify_software_token(&view, &user, &code)
            .await
            .map_err(enable_mismatch)?;
        return Ok(json!({ "Status": "SUCCESS" }));
    }
    let session: String = member::<Option<String>>(&input, "Session")?.ok_or_else(|| {
        ApiError::invalid_parameter("Either AccessToken or Session must be given")
    })?;
    let (view, client) = setup_client(api, &session).await?;
    let next = api
        .auth
        .verify_mfa(
            &view,
            &client,
            &session,
            &code,
            Some(MfaFactor::SoftwareToken),
        )
        .await
        .map_err(enable_mismatch)?;
    let userpool_core::auth::Next::Done(signed_in) = next else {
        // A set-up step ends the sign-in's checks.
        let source = userpool_core::triggers::TokenSource::Authentication;
        return answer(api, &view, &client, next, source, &Default::default()).await;
    };
    let held = api.auth.hold_signed_in(&view, &client, signed_in).await?;
    Ok(json!({ "Status": "SUCCESS", "Session": held.session }))
}

/// A wrong code while TOTP is being set up, in the service's words for it.
fn enable_mismatch(e: userpool_core::auth::AuthError) -> ApiError {
    match e.kind {
        userpool_core::auth::ErrorKind::CodeMismatch => ApiError::new(
            "EnableSoftwareTokenMFAException",
            "Code mismatch and fail enable Software Token MFA",
        ),
        _ => e.into(),
    }
}

/// The pool and client of a sign-in's pending step (the session names the client).
async fn setup_client(api: &Api, session: &str) -> Result<(Arc<PoolView>, ClientRecord), ApiError> {
    let client_id = api.auth.step_client(session).await?.ok_or_else(|| {
        ApiError::new(
            "NotAuthorizedException",
            "Invalid session for the user, session is expired.",
        )
    })?;
    app_client(api, &client_id).await
}

pub(super) async fn set_user_mfa_preference(api: &Api, input: Value) -> Result<Value, ApiError> {
    let Caller { view, user, .. } = account(api, &input).await?;
    let choices = mfa_choices(&input)?;
    api.auth
        .set_mfa_preference(&view.pool, &user, &choices)
        .await?;
    Ok(json!({}))
}
