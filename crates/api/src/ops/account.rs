//! The user's own operations, authorized by their access token: `GetUser`,
//! `UpdateUserAttributes`, `DeleteUserAttributes`, `ChangePassword`, `DeleteUser`,
//! `GlobalSignOut`, `AssociateSoftwareToken`, `VerifySoftwareToken`, `SetUserMFAPreference`.
//! Which live user a token names, and every rule, is core's (`Auth::account_of`, …).

use std::sync::Arc;

use serde_json::{Value, json};
use userpool_core::directory::PoolView;
use userpool_core::lifecycle::totp;
use userpool_core::model::AttributeType;
use userpool_core::oauth::claims::claimed_client_id;
use userpool_core::store::{ClientRecord, UserRecord};

use super::member;
use super::sign_in::{answer, app_client};
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
struct Caller {
    view: Arc<PoolView>,
    user: UserRecord,
    client: Option<ClientRecord>,
}

impl Caller {
    /// A client may write only its `WriteAttributes` (any, when it lists none); users cannot
    /// vouch for their own addresses (`*_verified`): only a code proves them.
    fn may_write<'a>(&self, mut names: impl Iterator<Item = &'a str>) -> Result<(), ApiError> {
        let allowed = self
            .client
            .as_ref()
            .and_then(|c| c.config.write_attributes.as_ref());
        let ok = names
            .all(|n| !n.ends_with("_verified") && allowed.is_none_or(|a| a.iter().any(|x| x == n)));
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                "NotAuthorizedException",
                "A client attempted to write unauthorized attribute",
            ))
        }
    }
}

async fn account(api: &Api, input: &Value) -> Result<Caller, ApiError> {
    let token: String = member(input, "AccessToken")?;
    let view = token_pool(api, &token).await?;
    let (user, claims) = api.auth.account_of(&view, &token).await?;
    let client = claims
        .get("client_id")
        .and_then(Value::as_str)
        .and_then(|id| view.clients.get(id))
        .cloned();
    Ok(Caller { view, user, client })
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
    api.auth
        .admin_update_attributes(&caller.view.pool, &caller.user, &given)
        .await?;
    Ok(json!({}))
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
        api.auth.verify_software_token(&view, &user, &code).await?;
        return Ok(json!({ "Status": "SUCCESS" }));
    }
    let session: String = member::<Option<String>>(&input, "Session")?.ok_or_else(|| {
        ApiError::invalid_parameter("Either AccessToken or Session must be given")
    })?;
    let (view, client) = setup_client(api, &session).await?;
    let next = api
        .auth
        .verify_totp(&view, &client, &session, &code)
        .await?;
    let userpool_core::auth::Next::Done(signed_in) = next else {
        // A set-up step ends the sign-in's checks.
        return answer(api, &view, &client, next).await;
    };
    let held = api.auth.hold_signed_in(&view, &client, signed_in).await?;
    Ok(json!({ "Status": "SUCCESS", "Session": held.session }))
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
