//! `AdminSetUserMFAPreference` (and the settings `SetUserMFAPreference` shares): the rules and the compare-and-swap write are core's
//! (`Auth::set_mfa_preference`, shared with `SetUserMFAPreference`).

use serde::Deserialize;
use serde_json::{Value, json};
use userpool_core::auth::{FactorChoice, MfaChoices};

use super::member;
use super::pools::existing;
use super::users::existing_user;
use crate::{Api, ApiError};

/// `SMSMfaSettingsType`, `SoftwareTokenMfaSettingsType`, `EmailMfaSettingsType`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Settings {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    preferred_mfa: Option<bool>,
}

fn choice(input: &Value, name: &str) -> Result<Option<FactorChoice>, ApiError> {
    Ok(
        member::<Option<Settings>>(input, name)?.map(|s| FactorChoice {
            enabled: s.enabled.unwrap_or(false),
            preferred: s.preferred_mfa.unwrap_or(false),
        }),
    )
}

/// The factor settings of a request (`SetUserMFAPreference` and the admin one alike).
pub(super) fn mfa_choices(input: &Value) -> Result<MfaChoices, ApiError> {
    Ok(MfaChoices {
        sms: choice(input, "SMSMfaSettings")?,
        software_token: choice(input, "SoftwareTokenMfaSettings")?,
        email: choice(input, "EmailMfaSettings")?,
    })
}

pub(super) async fn admin_set_preference(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let user = existing_user(api, &pool, &member::<String>(&input, "Username")?).await?;
    let choices = mfa_choices(&input)?;
    api.auth.set_mfa_preference(&pool, &user, &choices).await?;
    Ok(json!({}))
}
