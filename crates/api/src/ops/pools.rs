//! User pools: `CreateUserPool`, `DescribeUserPool`, `ListUserPools`, `DeleteUserPool`.

use serde_json::{Map, Value, json};
use userpool_core::ids;
use userpool_core::keys::{self, RotationPlan};
use userpool_core::model::{Problems, UserPoolConfig};
use userpool_core::store::PoolRecord;

use super::{member, page, refuse};
use crate::{Api, ApiError};

/// The account in ARNs: a self-hosted server belongs to no AWS account.
const ACCOUNT: &str = "000000000000";

pub(super) async fn create(api: &Api, mut input: Value) -> Result<Value, ApiError> {
    // The request's members are `UserPoolConfig`'s, whose own checks are the seed's.
    strip_nulls(&mut input);
    let config: UserPoolConfig =
        serde_json::from_value(input).map_err(|e| ApiError::invalid_parameter(e.to_string()))?;
    let mut p = Problems::new("");
    config.validate(&mut p);
    refuse(p)?;
    let now = api.clock.now();
    let pool = PoolRecord {
        id: ids::new_pool_id(&api.region),
        config,
        created_at: now,
        key_generation: 0,
        version: 0,
    };
    if !api.store.insert_pool(&pool).await? {
        return Err(ApiError::internal());
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
                "LastModifiedDate": p.created_at,
            })
        })
        .collect();
    Ok(json!({ "UserPools": listed, "NextToken": next }))
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
    if let Some(schema) = out.remove("Schema") {
        out.insert("SchemaAttributes".into(), schema);
    }
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
        "LastModifiedDate": pool.created_at,
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
