//! A pool's settings that have operations of their own: `GetUserPoolMfaConfig`,
//! `SetUserPoolMfaConfig`, `AddCustomAttributes`, the tags of its ARN (`TagResource`,
//! `UntagResource`, `ListTagsForResource`), kept in the configuration's `UserPoolTags`, and
//! `GetSigningCertificate`. Written by compare-and-swap on the pool, re-read on a race.

use serde_json::{Map, Value, json};
use userpool_core::auth::saml_cert_base64;
use userpool_core::ids;
use userpool_core::model::{MfaConfiguration, Problems, SchemaAttribute, WebAuthnConfiguration};
use userpool_core::store::{CasOutcome, PoolRecord};

use super::pools::{ACCOUNT, existing};
use super::{CAS_ATTEMPTS, member, refuse};
use crate::{Api, ApiError};

/// The most tags a resource carries, as the service allows.
const MAX_TAGS: usize = 50;

pub(super) async fn get_mfa(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    Ok(mfa_of(&pool))
}

/// TOTP is on exactly when `MfaConfiguration` is `ON` or `OPTIONAL`. `SmsMfaConfiguration`
/// and `EmailMfaConfiguration` offer codes by SMS and email (their messages must hold
/// `{####}`); given empty (`{}`), they turn that factor off [I]; a member not given leaves that
/// part as it was. `WebAuthnConfiguration`, given, replaces the passkey settings.
pub(super) async fn set_mfa(api: &Api, input: Value) -> Result<Value, ApiError> {
    let id: String = member(&input, "UserPoolId")?;
    let webauthn: Option<WebAuthnConfiguration> = member(&input, "WebAuthnConfiguration")?;
    // Given: set (or, empty, turned off); not given: unchanged. Checked by the pool's rules.
    let factor_setting = |name: &str| -> Result<Option<Option<Value>>, ApiError> {
        let given: Option<Map<String, Value>> = member(&input, name)?;
        let Some(mut given) = given else {
            return Ok(None);
        };
        given.retain(|_, v| !v.is_null());
        Ok(Some((!given.is_empty()).then_some(Value::Object(given))))
    };
    let sms = factor_setting("SmsMfaConfiguration")?;
    if matches!(sms, Some(Some(_))) && !api.auth.mailer.sends_sms() {
        return Err(ApiError::invalid_parameter(
            "SMS_MFA cannot be offered: this server has no SMS provider (text messages go only \
             to the development outbox, which is off here)",
        ));
    }
    let email = factor_setting("EmailMfaConfiguration")?;
    let wanted: Option<MfaConfiguration> = member(&input, "MfaConfiguration")?;
    let totp: Option<bool> = input
        .pointer("/SoftwareTokenMfaConfiguration/Enabled")
        .and_then(Value::as_bool);
    let out = with_pool(api, &id, |pool| {
        let mfa = wanted.unwrap_or(pool.config.mfa_configuration);
        match (mfa, totp) {
            (MfaConfiguration::Off, Some(true)) => Err(ApiError::invalid_parameter(
                "userpool serves TOTP only while MfaConfiguration is ON or OPTIONAL: \
                 SoftwareTokenMfaConfiguration cannot be enabled with MFA OFF",
            )),
            (MfaConfiguration::On | MfaConfiguration::Optional, Some(false)) => {
                Err(ApiError::invalid_parameter(
                    "userpool always offers TOTP while MFA is on: MfaConfiguration ON or \
                     OPTIONAL needs SoftwareTokenMfaConfiguration enabled",
                ))
            }
            _ => {
                pool.config.mfa_configuration = mfa;
                if let Some(sms) = &sms {
                    pool.config.sms_mfa_configuration = sms.clone();
                }
                if let Some(email) = &email {
                    pool.config.email_mfa_configuration = email.clone();
                }
                if let Some(webauthn) = &webauthn {
                    pool.config.web_authn_configuration = Some(webauthn.clone());
                }
                let mut p = Problems::new("");
                pool.config.validate(&mut p);
                refuse(p)
            }
        }
    })
    .await?;
    Ok(mfa_of(&out))
}

/// `AddCustomAttributes`: the rules are the pool model's (`UserPoolConfig::add_custom_attributes`);
/// the new attributes are in `DescribeUserPool` and writable on users at once.
pub(super) async fn add_custom_attributes(api: &Api, input: Value) -> Result<Value, ApiError> {
    let id: String = member(&input, "UserPoolId")?;
    let added: Vec<SchemaAttribute> = member(&input, "CustomAttributes")?;
    with_pool(api, &id, |pool| {
        pool.config
            .add_custom_attributes(&added)
            .map_err(ApiError::invalid_parameter)
    })
    .await?;
    Ok(json!({}))
}

/// `GetSigningCertificate`: the base64 DER body of the pool's newest SAML signing
/// certificate, the one that signs and that the SP metadata lists first (made on first use).
pub(super) async fn signing_certificate(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let credential = api.auth.saml_signing_credential(&pool.id).await?;
    Ok(json!({ "Certificate": saml_cert_base64(&credential.cert_pem) }))
}

pub(super) async fn tag(api: &Api, input: Value) -> Result<Value, ApiError> {
    let id = pool_of_arn(api, &member::<String>(&input, "ResourceArn")?).await?;
    let tags: Map<String, Value> = member(&input, "Tags")?;
    with_pool(api, &id, |pool| {
        let mut all = tags_of(pool);
        all.extend(tags.clone());
        check_tags(&all)?;
        pool.config.user_pool_tags = Some(Value::Object(all));
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub(super) async fn untag(api: &Api, input: Value) -> Result<Value, ApiError> {
    let id = pool_of_arn(api, &member::<String>(&input, "ResourceArn")?).await?;
    let keys: Vec<String> = member(&input, "TagKeys")?;
    with_pool(api, &id, |pool| {
        let mut all = tags_of(pool);
        for k in &keys {
            all.remove(k);
        }
        pool.config.user_pool_tags = (!all.is_empty()).then_some(Value::Object(all));
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub(super) async fn list_tags(api: &Api, input: Value) -> Result<Value, ApiError> {
    let id = pool_of_arn(api, &member::<String>(&input, "ResourceArn")?).await?;
    let pool = existing(api, &id).await?;
    Ok(json!({ "Tags": tags_of(&pool) }))
}

/// `Get/SetUserPoolMfaConfigResponse`.
fn mfa_of(pool: &PoolRecord) -> Value {
    let mfa = pool.config.mfa_configuration;
    json!({
        "MfaConfiguration": mfa,
        "SoftwareTokenMfaConfiguration": { "Enabled": mfa != MfaConfiguration::Off },
        "SmsMfaConfiguration": pool.config.sms_mfa_configuration,
        "EmailMfaConfiguration": pool.config.email_mfa_configuration,
        "WebAuthnConfiguration": web_authn_of(pool),
    })
}

/// The passkey settings as Cognito describes them: the user-verification default filled in.
fn web_authn_of(pool: &PoolRecord) -> Value {
    let config = pool.config.web_authn();
    json!({
        "RelyingPartyId": config.relying_party_id,
        "UserVerification": config.user_verification.as_deref().unwrap_or("preferred"),
        "FactorConfiguration": config.factor_configuration.as_deref().unwrap_or("SINGLE_FACTOR"),
    })
}

fn tags_of(pool: &PoolRecord) -> Map<String, Value> {
    match &pool.config.user_pool_tags {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

/// The service's limits on tags: keys of 1 to 128 characters, values of at most 256, 50 tags.
fn check_tags(tags: &Map<String, Value>) -> Result<(), ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid_parameter(format!(
            "A resource can have at most {MAX_TAGS} tags."
        )));
    }
    for (k, v) in tags {
        let v = v.as_str().unwrap_or_default();
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(ApiError::invalid_parameter(format!(
                "Tag {k}: keys have 1 to 128 characters, values at most 256."
            )));
        }
    }
    Ok(())
}

/// The ID of the pool `arn` names (`arn:aws:cognito-idp:{region}:000000000000:userpool/{id}`),
/// or Cognito's answer for a resource that does not exist.
async fn pool_of_arn(api: &Api, arn: &str) -> Result<String, ApiError> {
    let missing = || ApiError::not_found(format!("Resource {arn} does not exist."));
    let id = pool_id_in(arn).ok_or_else(missing)?;
    match api.store.get_pool(id).await? {
        Some(p) => Ok(p.id),
        None => Err(missing()),
    }
}

/// The pool ID of a pool's ARN, if `arn` is one (of this account, in the pool's region).
fn pool_id_in(arn: &str) -> Option<&str> {
    let (region, rest) = arn.strip_prefix("arn:aws:cognito-idp:")?.split_once(':')?;
    let id = rest.strip_prefix(ACCOUNT)?.strip_prefix(":userpool/")?;
    (ids::pool_region(id) == Some(region)).then_some(id)
}

/// Reads the pool, applies `change`, checks the result as the seed would and writes it by
/// compare-and-swap, again on a race; the pool as written.
async fn with_pool(
    api: &Api,
    id: &str,
    change: impl Fn(&mut PoolRecord) -> Result<(), ApiError>,
) -> Result<PoolRecord, ApiError> {
    for _ in 0..CAS_ATTEMPTS {
        let mut pool = existing(api, id).await?;
        change(&mut pool)?;
        let mut p = Problems::new("");
        pool.config.validate(&mut p);
        refuse(p)?;
        pool.updated_at = api.clock.now();
        if api.store.update_pool(&pool).await? == CasOutcome::Applied {
            pool.version += 1;
            api.reload().await;
            return Ok(pool);
        }
    }
    tracing::error!(pool = %id, "the pool kept changing under an update");
    Err(ApiError::internal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pools_arn_of_this_account_and_region_names_a_pool() {
        let arn = "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Abc123";
        assert_eq!(pool_id_in(arn), Some("us-east-1_Abc123"));
        for other in [
            "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Abc123",
            "arn:aws:cognito-idp:eu-west-1:000000000000:userpool/us-east-1_Abc123",
            "arn:aws:cognito-idp:us-east-1:000000000000:userpool/",
            "arn:aws:cognito-idp:us-east-1:000000000000:identitypool/us-east-1_Abc123",
            "arn:aws:s3:::bucket",
        ] {
            assert_eq!(pool_id_in(other), None, "{other}");
        }
    }
}
