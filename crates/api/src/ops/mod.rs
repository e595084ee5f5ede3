//! The operations, by family, behind one dispatch table: the name in `X-Amz-Target` to its
//! handler. Each handler takes the checked input and returns the output before projection.

mod account;
mod auth_events;
mod client_secrets;
mod clients;
mod devices;
mod domains;
mod groups;
mod identity_providers;
mod import_jobs;
mod passkeys;
mod pool_config;
mod pools;
mod resource_servers;
mod sign_in;
mod sign_up;
mod user_attributes;
mod user_links;
mod user_list;
mod user_mfa;
mod users;

use serde::de::DeserializeOwned;
use serde_json::Value;
use userpool_core::model::Problems;

use crate::{Api, ApiError};

/// How often a read-modify-write is tried again when another writer came first.
const CAS_ATTEMPTS: usize = 8;

/// Runs operation `name` on `input` (already checked against its shape). `fixed_id` names the
/// pool or client a create makes, for the seed file (`Api::invoke`); requests never give one.
pub(crate) async fn call(
    api: &Api,
    name: &str,
    input: Value,
    fixed_id: Option<&str>,
) -> Result<Value, ApiError> {
    match name {
        "CreateUserPool" => pools::create(api, input, fixed_id).await,
        "DescribeUserPool" => pools::describe(api, input).await,
        "ListUserPools" => pools::list(api, input).await,
        "UpdateUserPool" => pools::update(api, input).await,
        "DeleteUserPool" => pools::delete(api, input).await,
        "CreateUserPoolClient" => clients::create(api, input, fixed_id).await,
        "DescribeUserPoolClient" => clients::describe(api, input).await,
        "ListUserPoolClients" => clients::list(api, input).await,
        "DeleteUserPoolClient" => clients::delete(api, input).await,
        "UpdateUserPoolClient" => clients::update(api, input).await,
        "AddUserPoolClientSecret" => client_secrets::add(api, input).await,
        "ListUserPoolClientSecrets" => client_secrets::list(api, input).await,
        "DeleteUserPoolClientSecret" => client_secrets::delete(api, input).await,
        "CreateUserPoolDomain" => domains::create(api, input).await,
        "DescribeUserPoolDomain" => domains::describe(api, input).await,
        "UpdateUserPoolDomain" => domains::update(api, input).await,
        "DeleteUserPoolDomain" => domains::delete(api, input).await,
        "CreateGroup" => groups::create(api, input).await,
        "GetGroup" => groups::get(api, input).await,
        "UpdateGroup" => groups::update(api, input).await,
        "DeleteGroup" => groups::delete(api, input).await,
        "ListGroups" => groups::list(api, input).await,
        "AdminAddUserToGroup" => groups::add_user(api, input).await,
        "AdminRemoveUserFromGroup" => groups::remove_user(api, input).await,
        "AdminListGroupsForUser" => groups::list_for_user(api, input).await,
        "ListUsersInGroup" => groups::list_users(api, input).await,
        "AdminCreateUser" => users::admin_create(api, input).await,
        "AdminGetUser" => users::admin_get(api, input).await,
        "AdminDeleteUser" => users::admin_delete(api, input).await,
        "AdminDisableUser" => users::admin_disable(api, input).await,
        "AdminEnableUser" => users::admin_enable(api, input).await,
        "AdminSetUserPassword" => users::admin_set_password(api, input).await,
        "AdminConfirmSignUp" => users::admin_confirm_sign_up(api, input).await,
        "AdminUserGlobalSignOut" => users::admin_global_sign_out(api, input).await,
        "AdminResetUserPassword" => users::admin_reset_password(api, input).await,
        "ListUsers" => user_list::list(api, input).await,
        "AdminLinkProviderForUser" => user_links::link(api, input).await,
        "AdminDisableProviderForUser" => user_links::disable(api, input).await,
        "AdminUpdateUserAttributes" => user_attributes::update(api, input).await,
        "AdminDeleteUserAttributes" => user_attributes::delete(api, input).await,
        "CreateIdentityProvider" => identity_providers::create(api, input).await,
        "DescribeIdentityProvider" => identity_providers::describe(api, input).await,
        "UpdateIdentityProvider" => identity_providers::update(api, input).await,
        "DeleteIdentityProvider" => identity_providers::delete(api, input).await,
        "ListIdentityProviders" => identity_providers::list(api, input).await,
        "GetIdentityProviderByIdentifier" => {
            identity_providers::get_by_identifier(api, input).await
        }
        "CreateResourceServer" => resource_servers::create(api, input).await,
        "DescribeResourceServer" => resource_servers::describe(api, input).await,
        "UpdateResourceServer" => resource_servers::update(api, input).await,
        "DeleteResourceServer" => resource_servers::delete(api, input).await,
        "ListResourceServers" => resource_servers::list(api, input).await,
        "GetUserPoolMfaConfig" => pool_config::get_mfa(api, input).await,
        "SetUserPoolMfaConfig" => pool_config::set_mfa(api, input).await,
        "TagResource" => pool_config::tag(api, input).await,
        "UntagResource" => pool_config::untag(api, input).await,
        "ListTagsForResource" => pool_config::list_tags(api, input).await,
        "AddCustomAttributes" => pool_config::add_custom_attributes(api, input).await,
        "GetSigningCertificate" => pool_config::signing_certificate(api, input).await,
        "AdminSetUserMFAPreference" => user_mfa::admin_set_preference(api, input).await,
        "InitiateAuth" => sign_in::initiate(api, input).await,
        "AdminInitiateAuth" => sign_in::admin_initiate(api, input).await,
        "RespondToAuthChallenge" => sign_in::respond(api, input).await,
        "AdminRespondToAuthChallenge" => sign_in::admin_respond(api, input).await,
        "GetTokensFromRefreshToken" => sign_in::get_tokens_from_refresh_token(api, input).await,
        "RevokeToken" => sign_in::revoke_token(api, input).await,
        "SignUp" => sign_up::sign_up(api, input).await,
        "ConfirmSignUp" => sign_up::confirm_sign_up(api, input).await,
        "ResendConfirmationCode" => sign_up::resend_confirmation_code(api, input).await,
        "ForgotPassword" => sign_up::forgot_password(api, input).await,
        "ConfirmForgotPassword" => sign_up::confirm_forgot_password(api, input).await,
        "GetUser" => account::get_user(api, input).await,
        "UpdateUserAttributes" => account::update_user_attributes(api, input).await,
        "DeleteUserAttributes" => account::delete_user_attributes(api, input).await,
        "ChangePassword" => account::change_password(api, input).await,
        "GetUserAttributeVerificationCode" => {
            account::get_user_attribute_verification_code(api, input).await
        }
        "VerifyUserAttribute" => account::verify_user_attribute(api, input).await,
        "DeleteUser" => account::delete_user(api, input).await,
        "GlobalSignOut" => account::global_sign_out(api, input).await,
        "AssociateSoftwareToken" => account::associate_software_token(api, input).await,
        "VerifySoftwareToken" => account::verify_software_token(api, input).await,
        "SetUserMFAPreference" => account::set_user_mfa_preference(api, input).await,
        "ConfirmDevice" => devices::confirm(api, input).await,
        "GetDevice" => devices::get_own(api, input).await,
        "ListDevices" => devices::list_own(api, input).await,
        "ForgetDevice" => devices::forget_own(api, input).await,
        "UpdateDeviceStatus" => devices::update_own_status(api, input).await,
        "AdminGetDevice" => devices::admin_get(api, input).await,
        "AdminListDevices" => devices::admin_list(api, input).await,
        "AdminForgetDevice" => devices::admin_forget(api, input).await,
        "AdminUpdateDeviceStatus" => devices::admin_update_status(api, input).await,
        "GetCSVHeader" => import_jobs::get_csv_header(api, input).await,
        "CreateUserImportJob" => import_jobs::create(api, input).await,
        "StartUserImportJob" => import_jobs::start(api, input).await,
        "StopUserImportJob" => import_jobs::stop(api, input).await,
        "DescribeUserImportJob" => import_jobs::describe(api, input).await,
        "ListUserImportJobs" => import_jobs::list(api, input).await,
        "AdminListUserAuthEvents" => auth_events::list(api, input).await,
        "AdminUpdateAuthEventFeedback" => auth_events::update_feedback(api, input).await,
        "StartWebAuthnRegistration" => passkeys::start_registration(api, input).await,
        "CompleteWebAuthnRegistration" => passkeys::complete_registration(api, input).await,
        "ListWebAuthnCredentials" => passkeys::list(api, input).await,
        "DeleteWebAuthnCredential" => passkeys::delete(api, input).await,
        "GetUserAuthFactors" => passkeys::user_auth_factors(api, input).await,
        "AdminGetUserAuthFactors" => passkeys::admin_user_auth_factors(api, input).await,
        // An operation of the model this server does not serve yet: said plainly, in the
        // model's own exception.
        _ => Err(ApiError::new(
            "UnsupportedOperationException",
            format!("userpool does not serve {name} yet"),
        )),
    }
}

/// The pool and user an administrator's change names (a signed `Admin*` operation that
/// changes a user named by `Username`), found before the change, so a deleted user or one
/// named by an alias is still filed under their username.
pub(crate) async fn admin_change_target(
    api: &Api,
    name: &str,
    input: &Value,
) -> Option<(String, String)> {
    use userpool_core::limits::Category;
    let changes_a_user = matches!(
        crate::quota::category(name, input),
        Category::UserUpdate | Category::UserCreation | Category::UserAccountRecovery
    );
    if !name.starts_with("Admin") || !changes_a_user {
        return None;
    }
    let pool_id = input.get("UserPoolId").and_then(Value::as_str)?;
    let typed = input.get("Username").and_then(Value::as_str)?;
    let view = api.directory.snapshot().by_id(pool_id)?;
    // A user made by this call (`AdminCreateUser`) is found after it.
    let username = match users::existing_user(api, &view.pool, typed).await {
        Ok(u) => u.username,
        Err(_) => typed.to_string(),
    };
    Some((pool_id.to_string(), username))
}

/// Records an administrator's change (operation `name`) in the user's audit trail.
pub(crate) fn audit_admin(api: &Api, name: &str, (pool_id, username): &(String, String)) {
    use userpool_core::auth::audit::{Event, EventKind, Outcome};
    let event = Event::new(pool_id, username, EventKind::Admin, Outcome::Pass);
    api.auth.audit(event.detail(name));
}

/// A member of the input as a typed value (the input passed the shape check).
fn member<T: DeserializeOwned>(input: &Value, name: &str) -> Result<T, ApiError> {
    serde_json::from_value(input.get(name).cloned().unwrap_or(Value::Null))
        .map_err(|e| ApiError::invalid_parameter(format!("{name}: {e}")))
}

/// What a request passes on to the pool's triggers: `ClientMetadata`, and `ValidationData`
/// (a list of name–value pairs) as a map.
fn passed(input: &Value) -> Result<userpool_core::triggers::TriggerInput, ApiError> {
    let metadata: Option<serde_json::Map<String, Value>> = member(input, "ClientMetadata")?;
    let validation: Option<Vec<userpool_core::model::AttributeType>> =
        member(input, "ValidationData")?;
    Ok(userpool_core::triggers::TriggerInput {
        client_metadata: metadata,
        validation_data: validation.map(|pairs| {
            pairs
                .into_iter()
                .map(|a| (a.name, Value::String(a.value)))
                .collect()
        }),
    })
}

/// The request as the configuration its members spell (they are its fields, under Cognito's
/// names), without `UserPoolId` and null members.
fn config_of<T: DeserializeOwned>(mut input: Value) -> Result<T, ApiError> {
    if let Value::Object(m) = &mut input {
        m.retain(|k, v| !v.is_null() && k != "UserPoolId");
    }
    serde_json::from_value(input).map_err(|e| ApiError::invalid_parameter(e.to_string()))
}

/// The first problem of a configuration, as the exception its rule names.
fn refuse(p: Problems) -> Result<(), ApiError> {
    match p.errors.into_iter().next() {
        Some(e) => Err(ApiError::new(e.kind, format!("{}: {}", e.path, e.message))),
        None => Ok(()),
    }
}

/// A page of `items` after the position `token` names (an opaque index), at most `max` long,
/// and the token of the next page.
fn page<T>(
    items: Vec<T>,
    token: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let start = match token {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= items.len())
            .ok_or_else(|| ApiError::invalid_parameter("Invalid pagination token"))?,
    };
    let end = (start + max).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items.into_iter().skip(start).take(max).collect(), next))
}

/// The username a page of users starts after, from the previous page's token: the last
/// username of that page in hex (any username fits the token's pattern; users are listed in
/// username order).
fn after_username(token: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let invalid = || ApiError::invalid_parameter("Invalid pagination token");
    if !token.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    String::from_utf8(bytes).map(Some).map_err(|_| invalid())
}

/// Cuts `users` (read one beyond the page) to `limit`, and the token of the next page if
/// there is one.
fn next_username(
    users: &mut Vec<userpool_core::store::UserRecord>,
    limit: usize,
) -> Option<String> {
    if users.len() <= limit {
        return None;
    }
    users.truncate(limit);
    users
        .last()
        .map(|u| userpool_core::crypto::hex(u.username.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_tokens_round_trip_and_refuse_garbage() {
        for name in ["alice", "Zoë@example.test"] {
            let token = userpool_core::crypto::hex(name.as_bytes());
            assert_eq!(after_username(Some(token)).unwrap().as_deref(), Some(name));
        }
        for bad in ["abc", "zz", "ff"] {
            assert!(after_username(Some(bad.into())).is_err(), "{bad}");
        }
        assert_eq!(after_username(None).unwrap(), None);
    }
}
