//! Resource servers: `CreateResourceServer`, `DescribeResourceServer`, `UpdateResourceServer`,
//! `DeleteResourceServer`, `ListResourceServers`. Their scopes are what clients may be given
//! (`{Identifier}/{ScopeName}`); a change serves at once on this node (the directory, which
//! the token endpoint reads, is reloaded).

use serde_json::{Value, json};
use userpool_core::model::{Problems, ResourceServerConfig};
use userpool_core::store::{CasOutcome, PoolRecord, ResourceServerRecord};

use super::pools::existing;
use super::{CAS_ATTEMPTS, member, page, refuse};
use crate::{Api, ApiError};

/// The page size when `MaxResults` is absent: the service's largest.
const DEFAULT_MAX_RESULTS: usize = 50;

pub(super) async fn create(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let rs = ResourceServerRecord {
        pool_id: pool.id.clone(),
        config: checked_config(input)?,
    };
    if !api.store.insert_resource_server(&rs).await? {
        return Err(ApiError::invalid_parameter(format!(
            "{} already exists in {}",
            rs.config.identifier, pool.id
        )));
    }
    api.reload().await;
    Ok(json!({ "ResourceServer": described(&rs) }))
}

pub(super) async fn describe(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (_, rs) = existing_server(api, &input).await?;
    Ok(json!({ "ResourceServer": described(&rs) }))
}

/// Cognito's semantics: the request replaces the name and the scopes (scopes not given are
/// gone); the identifier cannot change.
pub(super) async fn update(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (pool, _) = existing_server(api, &input).await?;
    let rs = ResourceServerRecord {
        pool_id: pool.id,
        config: checked_config(input)?,
    };
    if !api.store.update_resource_server(&rs).await? {
        return Err(not_found(&rs.config.identifier));
    }
    let kept: Vec<String> = rs
        .config
        .scopes
        .iter()
        .map(|s| s.scope_name.clone())
        .collect();
    withdraw_scopes(api, &rs.pool_id, &rs.config.identifier, &kept).await?;
    api.reload().await;
    Ok(json!({ "ResourceServer": described(&rs) }))
}

pub(super) async fn delete(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (pool, rs) = existing_server(api, &input).await?;
    if !api
        .store
        .delete_resource_server(&pool.id, &rs.config.identifier)
        .await?
    {
        return Err(not_found(&rs.config.identifier));
    }
    withdraw_scopes(api, &pool.id, &rs.config.identifier, &[]).await?;
    api.reload().await;
    Ok(json!({}))
}

/// Takes the scopes of resource server `identifier` that are no longer among `kept` away from
/// every client of the pool, so no token carries a scope that does not exist.
async fn withdraw_scopes(
    api: &Api,
    pool_id: &str,
    identifier: &str,
    kept: &[String],
) -> Result<(), ApiError> {
    let gone = |scope: &String| {
        scope
            .strip_prefix(identifier)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|name| !kept.iter().any(|k| k == name))
    };
    for client in api.store.list_clients(pool_id).await? {
        if !client.config.allowed_oauth_scopes.iter().any(gone) {
            continue;
        }
        let mut client = client;
        for _ in 0..CAS_ATTEMPTS {
            client.config.allowed_oauth_scopes.retain(|s| !gone(s));
            client.updated_at = api.clock.now();
            if api.store.update_client(&client).await? == CasOutcome::Applied {
                break;
            }
            match api.store.get_client(pool_id, &client.client_id).await? {
                Some(fresh) => client = fresh,
                None => break,
            }
        }
    }
    Ok(())
}

pub(super) async fn list(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let max: Option<usize> = member(&input, "MaxResults")?;
    let token: Option<String> = member(&input, "NextToken")?;
    let servers = api.store.list_resource_servers(&pool.id).await?;
    let (servers, next) = page(
        servers,
        token.as_deref(),
        max.unwrap_or(DEFAULT_MAX_RESULTS),
    )?;
    let listed: Vec<Value> = servers.iter().map(described).collect();
    Ok(json!({ "ResourceServers": listed, "NextToken": next }))
}

/// The request's `Identifier`, `Name` and `Scopes`, checked as the seed checks them.
fn checked_config(input: Value) -> Result<ResourceServerConfig, ApiError> {
    let config: ResourceServerConfig = super::config_of(input)?;
    let mut p = Problems::new("");
    config.validate(&mut p);
    refuse(p)?;
    Ok(config)
}

/// The pool and the resource server the input names.
async fn existing_server(
    api: &Api,
    input: &Value,
) -> Result<(PoolRecord, ResourceServerRecord), ApiError> {
    let pool = existing(api, &member::<String>(input, "UserPoolId")?).await?;
    let identifier: String = member(input, "Identifier")?;
    let rs = api
        .store
        .get_resource_server(&pool.id, &identifier)
        .await?
        .ok_or_else(|| not_found(&identifier))?;
    Ok((pool, rs))
}

fn not_found(identifier: &str) -> ApiError {
    ApiError::not_found(format!("Resource server {identifier} does not exist."))
}

/// `ResourceServerType`.
fn described(rs: &ResourceServerRecord) -> Value {
    json!({
        "UserPoolId": rs.pool_id,
        "Identifier": rs.config.identifier,
        "Name": rs.config.name,
        "Scopes": rs.config.scopes,
    })
}
