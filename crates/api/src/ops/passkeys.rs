//! Passkeys and sign-in factors: `StartWebAuthnRegistration`, `CompleteWebAuthnRegistration`,
//! `ListWebAuthnCredentials`, `DeleteWebAuthnCredential` (the user's own, by access token),
//! `GetUserAuthFactors` and `AdminGetUserAuthFactors`. The ceremonies and rules are core's
//! (`auth::passkeys`, `auth::passwordless`).

use serde_json::{Value, json};
use userpool_core::directory::PoolView;
use userpool_core::store::UserRecord;

use super::account::account;
use super::member;
use crate::{Api, ApiError};

/// Most credentials a page lists (the model's limit), and the default.
const MAX_PAGE: usize = 20;

/// The relying party ID a pool's passkeys default to when its configuration names none.
pub(super) fn default_rp_id(api: &Api, view: &PoolView) -> String {
    let domains: Vec<_> = view.domains.iter().map(|d| &d.config).collect();
    api.directory
        .settings()
        .default_rp_id(&domains, &view.region)
}

pub(super) async fn start_registration(api: &Api, input: Value) -> Result<Value, ApiError> {
    let caller = account(api, &input).await?;
    let rp = default_rp_id(api, &caller.view);
    let options = api
        .auth
        .start_passkey_registration(&caller.view, &caller.user, Some(&rp))
        .await?;
    Ok(json!({ "CredentialCreationOptions": options }))
}

pub(super) async fn complete_registration(api: &Api, input: Value) -> Result<Value, ApiError> {
    let caller = account(api, &input).await?;
    let credential: Value = member(&input, "Credential")?;
    api.auth
        .complete_passkey_registration(&caller.view, &caller.user, &credential)
        .await?;
    Ok(json!({}))
}

/// Oldest first; `NextToken` is the last credential ID of the page before.
pub(super) async fn list(api: &Api, input: Value) -> Result<Value, ApiError> {
    let caller = account(api, &input).await?;
    let max: Option<usize> = member(&input, "MaxResults")?;
    let max = match max {
        None | Some(0) => MAX_PAGE,
        Some(n) => n.min(MAX_PAGE),
    };
    let after: Option<String> = member(&input, "NextToken")?;
    let all = api
        .auth
        .passkeys(&caller.view, &caller.user.username)
        .await?;
    let start = match &after {
        None => 0,
        Some(token) => {
            all.iter()
                .position(|p| &p.credential_id == token)
                .ok_or_else(|| ApiError::invalid_parameter("Invalid NextToken"))?
                + 1
        }
    };
    let page: Vec<_> = all.iter().skip(start).take(max).collect();
    let more = start + page.len() < all.len();
    let credentials: Vec<Value> = page
        .iter()
        .map(|p| {
            json!({
                "CredentialId": p.credential_id,
                "FriendlyCredentialName": p.name,
                "RelyingPartyId": p.relying_party_id,
                "AuthenticatorAttachment": p.attachment,
                "AuthenticatorTransports": p.transports,
                "CreatedAt": p.created_at,
            })
        })
        .collect();
    let mut out = json!({ "Credentials": credentials });
    if more && let Some(last) = page.last() {
        out["NextToken"] = json!(last.credential_id);
    }
    Ok(out)
}

pub(super) async fn delete(api: &Api, input: Value) -> Result<Value, ApiError> {
    let caller = account(api, &input).await?;
    let id: String = member(&input, "CredentialId")?;
    api.auth
        .delete_passkey(&caller.view, &caller.user.username, &id)
        .await?;
    Ok(json!({}))
}

pub(super) async fn user_auth_factors(api: &Api, input: Value) -> Result<Value, ApiError> {
    let caller = account(api, &input).await?;
    auth_factors(api, &caller.view, &caller.user).await
}

pub(super) async fn admin_user_auth_factors(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (view, user) = super::users::target(api, &input).await?;
    auth_factors(api, &view, &user).await
}

/// The user's MFA settings (as `GetUser` gives them) and the first factors they have set up.
async fn auth_factors(api: &Api, view: &PoolView, user: &UserRecord) -> Result<Value, ApiError> {
    let mfa = user.mfa();
    let factors: Vec<&str> = mfa.enabled.iter().map(|f| f.as_str()).collect();
    let configured: Vec<&str> = api
        .auth
        .first_factors(view, Some(user))
        .await?
        .into_iter()
        .filter(|f| f.name() != "PASSWORD_SRP")
        .map(|f| f.name())
        .collect();
    Ok(json!({
        "Username": user.username,
        "PreferredMfaSetting": mfa.preferred.map(|f| f.as_str()),
        "UserMFASettingList": (!factors.is_empty()).then_some(factors),
        "ConfiguredUserAuthFactors": configured,
    }))
}
