//! Groups and memberships: `CreateGroup`, `GetGroup`, `UpdateGroup`, `DeleteGroup`,
//! `ListGroups`, `AdminAddUserToGroup`, `AdminRemoveUserFromGroup`, `AdminListGroupsForUser`,
//! `ListUsersInGroup`.

use serde_json::{Value, json};
use userpool_core::model::{GroupConfig, Problems};
use userpool_core::store::{CasOutcome, GroupRecord, PoolRecord};

use super::pools::existing;
use super::users::{existing_user, user_type};
use super::{CAS_ATTEMPTS, after_username, config_of, member, next_username, page, refuse};
use crate::{Api, ApiError};

/// The page size when `Limit` is absent (or 0): the service's largest.
const DEFAULT_LIMIT: usize = 60;

pub(super) async fn create(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    // The request's members are `GroupConfig`'s, whose own checks are the seed's.
    let config: GroupConfig = config_of(input)?;
    let mut p = Problems::new("");
    config.validate(&mut p);
    refuse(p)?;
    let now = api.clock.now();
    let group = GroupRecord {
        pool_id: pool.id,
        config,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    if !api.store.insert_group(&group).await? {
        return Err(ApiError::new(
            "GroupExistsException",
            "A group with the name already exists.",
        ));
    }
    Ok(json!({ "Group": described(&group) }))
}

pub(super) async fn get(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (_, group) = existing_group(api, &input).await?;
    Ok(json!({ "Group": described(&group) }))
}

/// Only the members given change; written by compare-and-swap, re-read on a race.
pub(super) async fn update(api: &Api, input: Value) -> Result<Value, ApiError> {
    let description = member::<Option<String>>(&input, "Description")?;
    let role_arn = member::<Option<String>>(&input, "RoleArn")?;
    let precedence = member::<Option<i64>>(&input, "Precedence")?;
    for _ in 0..CAS_ATTEMPTS {
        let (_, mut group) = existing_group(api, &input).await?;
        if let Some(d) = &description {
            group.config.description = Some(d.clone());
        }
        if let Some(r) = &role_arn {
            group.config.role_arn = Some(r.clone());
        }
        if let Some(n) = precedence {
            group.config.precedence = Some(n);
        }
        let mut p = Problems::new("");
        group.config.validate(&mut p);
        refuse(p)?;
        group.updated_at = api.clock.now();
        if api.store.update_group(&group).await? == CasOutcome::Applied {
            return Ok(json!({ "Group": described(&group) }));
        }
    }
    tracing::error!("a group kept changing under an update");
    Err(ApiError::internal())
}

pub(super) async fn delete(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let name: String = member(&input, "GroupName")?;
    if !api.store.delete_group(&pool.id, &name).await? {
        return Err(group_not_found());
    }
    Ok(json!({}))
}

pub(super) async fn list(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let groups = api.store.list_groups(&pool.id).await?;
    listed(groups, &input)
}

pub(super) async fn add_user(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (pool, group) = existing_group(api, &input).await?;
    let user = existing_user(api, &pool, &member::<String>(&input, "Username")?).await?;
    // Adding a member again is no error.
    api.store
        .add_user_to_group(&pool.id, &user.username, &group.config.group_name)
        .await?;
    Ok(json!({}))
}

pub(super) async fn remove_user(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (pool, group) = existing_group(api, &input).await?;
    let user = existing_user(api, &pool, &member::<String>(&input, "Username")?).await?;
    // Removing someone who is not a member is no error.
    api.store
        .remove_user_from_group(&pool.id, &user.username, &group.config.group_name)
        .await?;
    Ok(json!({}))
}

pub(super) async fn list_for_user(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let user = existing_user(api, &pool, &member::<String>(&input, "Username")?).await?;
    let names = api.store.list_user_groups(&pool.id, &user.username).await?;
    let groups = api
        .store
        .list_groups(&pool.id)
        .await?
        .into_iter()
        .filter(|g| names.contains(&g.config.group_name))
        .collect();
    listed(groups, &input)
}

pub(super) async fn list_users(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (pool, group) = existing_group(api, &input).await?;
    let limit = limit(&input)?;
    let after = after_username(member(&input, "NextToken")?)?;
    let mut users = api
        .store
        .list_group_users(
            &pool.id,
            &group.config.group_name,
            after.as_deref(),
            limit as i64 + 1,
        )
        .await?;
    let next = next_username(&mut users, limit);
    let users: Vec<Value> = users.iter().map(user_type).collect();
    Ok(json!({ "Users": users, "NextToken": next }))
}

/// A page of `GroupType`s as `ListGroups` and `AdminListGroupsForUser` answer.
fn listed(groups: Vec<GroupRecord>, input: &Value) -> Result<Value, ApiError> {
    let token: Option<String> = member(input, "NextToken")?;
    let (groups, next) = page(groups, token.as_deref(), limit(input)?)?;
    let groups: Vec<Value> = groups.iter().map(described).collect();
    Ok(json!({ "Groups": groups, "NextToken": next }))
}

fn limit(input: &Value) -> Result<usize, ApiError> {
    Ok(match member::<Option<usize>>(input, "Limit")? {
        None | Some(0) => DEFAULT_LIMIT,
        Some(n) => n,
    })
}

fn group_not_found() -> ApiError {
    ApiError::not_found("Group not found.")
}

/// The pool and the group the input names.
async fn existing_group(api: &Api, input: &Value) -> Result<(PoolRecord, GroupRecord), ApiError> {
    let pool = existing(api, &member::<String>(input, "UserPoolId")?).await?;
    let name: String = member(input, "GroupName")?;
    let group = api
        .store
        .get_group(&pool.id, &name)
        .await?
        .ok_or_else(group_not_found)?;
    Ok((pool, group))
}

/// `GroupType`.
fn described(g: &GroupRecord) -> Value {
    json!({
        "GroupName": g.config.group_name,
        "UserPoolId": g.pool_id,
        "Description": g.config.description,
        "RoleArn": g.config.role_arn,
        "Precedence": g.config.precedence,
        "CreationDate": g.created_at,
        "LastModifiedDate": g.updated_at,
    })
}
