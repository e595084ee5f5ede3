//! User pools: `CreateUserPool`, `DescribeUserPool`, `ListUserPools`, `UpdateUserPool`,
//! `DeleteUserPool`.

use serde_json::{Map, Value, json};
use userpool_core::ids;
use userpool_core::keys::{self, RotationPlan};
use userpool_core::model::{Problems, UserPoolConfig};
use userpool_core::store::{CasOutcome, PoolRecord};

use super::{CAS_ATTEMPTS, config_of, member, page, refuse};
use crate::{Api, ApiError};

/// The account in ARNs: a self-hosted server belongs to no AWS account.
pub(super) const ACCOUNT: &str = "000000000000";

pub(super) async fn create(
    api: &Api,
    input: Value,
    fixed_id: Option<&str>,
) -> Result<Value, ApiError> {
    // The request's members are `UserPoolConfig`'s, whose own checks are the seed's.
    let config: UserPoolConfig = config_of(input)?;
    let mut p = Problems::new("");
    config.validate(&mut p);
    refuse(p)?;
    let now = api.clock.now();
    let pool = PoolRecord {
        id: fixed_id.map_or_else(|| ids::new_pool_id(&api.region), str::to_string),
        config,
        created_at: now,
        updated_at: now,
        key_generation: 0,
        version: 0,
    };
    if !api.store.insert_pool(&pool).await? {
        // Only a given ID can be taken (the seed's, made by another node a moment ago).
        let made = match fixed_id {
            Some(id) => api.store.get_pool(id).await?,
            None => None,
        };
        let made = made.ok_or_else(ApiError::internal)?;
        return Ok(json!({ "UserPool": described(api, &made).await? }));
    }
    // Its first signing keys, at once (publish-then-sign matters only for later rotations).
    keys::rotate(
        &*api.store,
        &api.master,
        &pool,
        RotationPlan::immediate(now),
        now,
    )
    .await?;
    api.reload().await;
    Ok(json!({ "UserPool": described(api, &pool).await? }))
}

pub(super) async fn describe(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    Ok(json!({ "UserPool": described(api, &pool).await? }))
}

pub(super) async fn list(api: &Api, input: Value) -> Result<Value, ApiError> {
    let max: usize = member(&input, "MaxResults")?;
    let token: Option<String> = member(&input, "NextToken")?;
    let pools = api.store.list_pools().await?;
    let (pools, next) = page(pools, token.as_deref(), max)?;
    let listed: Vec<Value> = pools
        .iter()
        .map(|p| {
            json!({
                "Id": p.id,
                "Name": p.config.pool_name,
                "LambdaConfig": p.config.lambda_config.clone().unwrap_or_else(|| json!({})),
                "CreationDate": p.created_at,
                "LastModifiedDate": p.updated_at,
            })
        })
        .collect();
    Ok(json!({ "UserPools": listed, "NextToken": next }))
}

/// Members of the configuration that `UpdateUserPoolRequest` does not have: they stay as they
/// were (Cognito fixes them at creation).
const FIXED_AT_CREATION: &[&str] = &[
    "AliasAttributes",
    "UsernameAttributes",
    "UsernameConfiguration",
    "Schema",
];

/// `UpdateUserPool`: Cognito's semantics, the request replaces the configuration (a member not
/// given returns to its default), except what is fixed at creation and the name, which stays
/// when it is not given. Written by compare-and-swap, re-read on a race.
pub(super) async fn update(api: &Api, mut input: Value) -> Result<Value, ApiError> {
    let id: String = member(&input, "UserPoolId")?;
    strip_nulls(&mut input);
    let Value::Object(mut given) = input else {
        return Err(ApiError::invalid_parameter("the request must be an object"));
    };
    given.remove("UserPoolId");
    for name in FIXED_AT_CREATION {
        given.remove(*name);
    }
    for _ in 0..CAS_ATTEMPTS {
        let mut pool = existing(api, &id).await?;
        let mut members = given.clone();
        members
            .entry("PoolName")
            .or_insert_with(|| json!(pool.config.pool_name));
        let mut config: UserPoolConfig = serde_json::from_value(Value::Object(members))
            .map_err(|e| ApiError::invalid_parameter(e.to_string()))?;
        config.alias_attributes = pool.config.alias_attributes.clone();
        config.username_attributes = pool.config.username_attributes.clone();
        config.username_configuration = pool.config.username_configuration.clone();
        config.schema = pool.config.schema.clone();
        // Set by `SetUserPoolMfaConfig`, not by this request.
        config.sms_mfa_configuration = pool.config.sms_mfa_configuration.clone();
        config.email_mfa_configuration = pool.config.email_mfa_configuration.clone();
        let mut p = Problems::new("");
        config.validate(&mut p);
        refuse(p)?;
        pool.config = config;
        pool.updated_at = api.clock.now();
        if api.store.update_pool(&pool).await? == CasOutcome::Applied {
            api.reload().await;
            return Ok(json!({}));
        }
    }
    tracing::error!(pool = %id, "the pool kept changing under an update");
    Err(ApiError::internal())
}

pub(super) async fn delete(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    if pool.config.deletion_protection.as_deref() == Some("ACTIVE") {
        return Err(ApiError::invalid_parameter(
            "The user pool cannot be deleted because deletion protection is activated. \
             Deletion protection must be inactivated first.",
        ));
    }
    api.store.delete_pool(&pool.id).await?;
    api.reload().await;
    Ok(json!({}))
}

/// The pool, or Cognito's answer for one that does not exist.
pub(super) async fn existing(api: &Api, id: &str) -> Result<PoolRecord, ApiError> {
    api.store
        .get_pool(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("User pool {id} does not exist.")))
}

/// `UserPoolType`: the configuration under Cognito's output names, with what it derives.
async fn described(api: &Api, pool: &PoolRecord) -> Result<Value, ApiError> {
    let mut out = match serde_json::to_value(&pool.config) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Some(name) = out.remove("PoolName") {
        out.insert("Name".into(), name);
    }
    // Every attribute, standard ones with Cognito's defaults, as the service lists them.
    out.remove("Schema");
    out.insert(
        "SchemaAttributes".into(),
        json!(pool.config.schema_attributes()),
    );
    // Cognito names the default rather than leaving it out.
    out.entry("DeletionProtection")
        .or_insert_with(|| json!("INACTIVE"));
    if let Some(Value::Object(policies)) = out.get_mut("Policies") {
        policies
            .entry("SignInPolicy")
            .or_insert_with(|| json!({ "AllowedFirstAuthFactors": ["PASSWORD"] }));
    }
    // Passkey settings are `GetUserPoolMfaConfig`'s, not in the pool's description.
    out.remove("WebAuthnConfiguration");
    let region = ids::pool_region(&pool.id).unwrap_or(&api.region);
    let users = api.store.count_users(&pool.id).await?;
    let view = api.directory.snapshot().by_id(&pool.id);
    let domains = view.as_ref().map(|v| v.domains.clone()).unwrap_or_default();
    let prefix = domains.iter().find(|d| !d.config.is_custom());
    let custom = domains.iter().find(|d| d.config.is_custom());
    let derived = json!({
        "Id": pool.id,
        "Arn": format!("arn:aws:cognito-idp:{region}:{ACCOUNT}:userpool/{}", pool.id),
        "CreationDate": pool.created_at,
        "LastModifiedDate": pool.updated_at,
        "EstimatedNumberOfUsers": users,
        "Domain": prefix.map(|d| d.config.domain.clone()),
        "CustomDomain": custom.map(|d| d.config.domain.clone()),
    });
    if let Value::Object(derived) = derived {
        out.extend(derived);
    }
    Ok(Value::Object(out))
}

/// Members sent as `null` are absent, as the service reads them.
pub(super) fn strip_nulls(input: &mut Value) {
    if let Value::Object(m) = input {
        m.retain(|_, v| !v.is_null());
    }
}
