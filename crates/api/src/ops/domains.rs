//! Pool domains: `CreateUserPoolDomain`, `DescribeUserPoolDomain`, `UpdateUserPoolDomain`,
//! `DeleteUserPoolDomain`. A pool has at most one prefix domain and one custom domain; a
//! change serves at once on this node (the directory is reloaded).

use serde_json::{Value, json};
use userpool_core::model::{DomainConfig, Problems};
use userpool_core::store::DomainRecord;

use super::pools::{ACCOUNT, existing};
use super::{config_of, member, refuse};
use crate::{Api, ApiError};

/// The managed login version of a domain created without one (the classic hosted UI).
const DEFAULT_MANAGED_LOGIN_VERSION: i64 = 1;

pub(super) async fn create(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let mut config: DomainConfig = config_of(input)?;
    config
        .managed_login_version
        .get_or_insert(DEFAULT_MANAGED_LOGIN_VERSION);
    let mut p = Problems::new("");
    config.validate(&mut p);
    refuse(p)?;
    let taken_kind = api
        .store
        .list_domains()
        .await?
        .into_iter()
        .any(|d| d.pool_id == pool.id && d.config.is_custom() == config.is_custom());
    if taken_kind {
        return Err(ApiError::invalid_parameter(
            "User pool already has a domain configured.",
        ));
    }
    let domain = DomainRecord {
        pool_id: pool.id,
        config,
        created_at: api.clock.now(),
    };
    if !api.store.insert_domain(&domain).await? {
        return Err(ApiError::invalid_parameter(
            "Domain already associated with another user pool.",
        ));
    }
    api.reload().await;
    Ok(answer(&domain))
}

pub(super) async fn describe(api: &Api, input: Value) -> Result<Value, ApiError> {
    let name: String = member(&input, "Domain")?;
    // An unknown domain is described as nothing, as Cognito answers.
    let Some(d) = api.store.get_domain(&name).await? else {
        return Ok(json!({ "DomainDescription": {} }));
    };
    Ok(json!({
        "DomainDescription": {
            "UserPoolId": d.pool_id,
            "AWSAccountId": ACCOUNT,
            "Domain": d.config.domain,
            "Version": d.created_at.to_string(),
            "Status": "ACTIVE",
            "CustomDomainConfig": d.config.custom_domain_config,
            "ManagedLoginVersion": d.config.managed_login_version,
            "Routing": d.config.routing,
        }
    }))
}

/// Changes what the request gives (`ManagedLoginVersion`, `CustomDomainConfig`, `Routing`);
/// the domain itself cannot change.
pub(super) async fn update(api: &Api, input: Value) -> Result<Value, ApiError> {
    let mut d = pools_domain(api, &input).await?;
    if let Some(v) = member::<Option<i64>>(&input, "ManagedLoginVersion")? {
        d.config.managed_login_version = Some(v);
    }
    if let Some(v) = member::<Option<Value>>(&input, "CustomDomainConfig")? {
        d.config.custom_domain_config = Some(v);
    }
    if let Some(v) = member::<Option<Value>>(&input, "Routing")? {
        d.config.routing = Some(v);
    }
    let mut p = Problems::new("");
    d.config.validate(&mut p);
    refuse(p)?;
    if !api.store.update_domain(&d).await? {
        return Err(no_such_domain());
    }
    api.reload().await;
    Ok(answer(&d))
}

pub(super) async fn delete(api: &Api, input: Value) -> Result<Value, ApiError> {
    let d = pools_domain(api, &input).await?;
    if !api
        .store
        .delete_domain(&d.pool_id, &d.config.domain)
        .await?
    {
        return Err(no_such_domain());
    }
    api.reload().await;
    Ok(json!({}))
}

/// The domain the input names, which must belong to the pool it names.
async fn pools_domain(api: &Api, input: &Value) -> Result<DomainRecord, ApiError> {
    let pool = existing(api, &member::<String>(input, "UserPoolId")?).await?;
    let name: String = member(input, "Domain")?;
    api.store
        .get_domain(&name)
        .await?
        .filter(|d| d.pool_id == pool.id)
        .ok_or_else(no_such_domain)
}

fn no_such_domain() -> ApiError {
    ApiError::invalid_parameter("No such domain or user pool exists.")
}

/// `CreateUserPoolDomainResponse` / `UpdateUserPoolDomainResponse` (no CloudFront here).
fn answer(d: &DomainRecord) -> Value {
    json!({
        "ManagedLoginVersion": d.config.managed_login_version,
        "Routing": d.config.routing,
    })
}
