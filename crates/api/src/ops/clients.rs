//! App clients: `CreateUserPoolClient`, `DescribeUserPoolClient`, `ListUserPoolClients`,
//! `UpdateUserPoolClient`, `DeleteUserPoolClient`. Their secrets: `client_secrets`.

use serde_json::{Map, Value, json};
use userpool_core::client_secret::ClientSecret;
use userpool_core::ids;
use userpool_core::model::{ClientConfig, IdentityProviderConfig, Problems};
use userpool_core::store::{CasOutcome, ClientRecord, PoolRecord};

use super::pools::{existing, strip_nulls};
use super::{CAS_ATTEMPTS, config_of, member, page, refuse};
use crate::{Api, ApiError};

pub(super) async fn create(
    api: &Api,
    input: Value,
    fixed_id: Option<&str>,
) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    // The request's members are `ClientConfig`'s, whose own checks are the seed's.
    let mut config: ClientConfig = config_of(input)?;
    // The ID is ours to make; a secret the caller gives is kept like a generated one.
    config.client_id = None;
    validate(api, &pool, &config).await?;
    // The secret, given or made here, is kept sealed under the master key.
    let secret = match config.client_secret.take() {
        Some(given) => Some(given.expose().to_string()),
        None => config.generate_secret.then(ids::new_client_secret),
    };
    config.generate_secret = secret.is_some();
    let now = api.clock.now();
    let client_id = fixed_id.map_or_else(ids::new_client_id, str::to_string);
    let client = ClientRecord {
        secrets: secret
            .iter()
            .map(|s| ClientSecret::seal(&api.master, &pool.id, &client_id, s, now))
            .collect(),
        pool_id: pool.id.clone(),
        client_id,
        config,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    if !api.store.insert_client(&client).await? {
        // Only a given ID can be taken (the seed's, made by another node a moment ago).
        let made = match fixed_id {
            Some(id) => api.store.get_client(&pool.id, id).await?,
            None => None,
        };
        let made = made.ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "ClientId {} belongs to another pool",
                client.client_id
            ))
        })?;
        return Ok(json!({ "UserPoolClient": described(api, &made) }));
    }
    api.reload().await;
    Ok(json!({ "UserPoolClient": described(api, &client) }))
}

/// The client's own checks, against the pool's resource-server scopes and identity providers.
async fn validate(api: &Api, pool: &PoolRecord, config: &ClientConfig) -> Result<(), ApiError> {
    let custom_scopes: Vec<String> = api
        .store
        .list_resource_servers(&pool.id)
        .await?
        .iter()
        .flat_map(|rs| {
            rs.config
                .scopes
                .iter()
                .map(move |s| format!("{}/{}", rs.config.identifier, s.scope_name))
        })
        .collect();
    let providers = api.store.list_identity_providers(&pool.id).await?;
    let providers: Vec<&IdentityProviderConfig> = providers.iter().map(|i| &i.config).collect();
    let mut p = Problems::new("");
    config.validate(&custom_scopes, &providers, &mut p);
    refuse(p)
}

pub(super) async fn describe(api: &Api, input: Value) -> Result<Value, ApiError> {
    let client = existing_client(api, &input).await?;
    Ok(json!({ "UserPoolClient": described(api, &client) }))
}

pub(super) async fn list(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let max: Option<usize> = member(&input, "MaxResults")?;
    let token: Option<String> = member(&input, "NextToken")?;
    let clients = api.store.list_clients(&pool.id).await?;
    let (clients, next) = page(clients, token.as_deref(), max.unwrap_or(60))?;
    let listed: Vec<Value> = clients
        .iter()
        .map(|c| {
            json!({
                "ClientId": c.client_id,
                "UserPoolId": c.pool_id,
                "ClientName": c.config.client_name,
            })
        })
        .collect();
    Ok(json!({ "UserPoolClients": listed, "NextToken": next }))
}

/// `UpdateUserPoolClient`: Cognito's semantics, the request replaces the configuration (a
/// member not given returns to its default), except the client's ID and secret, which stay,
/// and its name, which stays when it is not given. Written by compare-and-swap, re-read on a
/// race.
pub(super) async fn update(api: &Api, mut input: Value) -> Result<Value, ApiError> {
    strip_nulls(&mut input);
    let Value::Object(mut given) = input.clone() else {
        return Err(ApiError::invalid_parameter("the request must be an object"));
    };
    for fixed in ["UserPoolId", "ClientId", "ClientSecret", "GenerateSecret"] {
        given.remove(fixed);
    }
    for _ in 0..CAS_ATTEMPTS {
        let mut client = existing_client(api, &input).await?;
        let pool = existing(api, &client.pool_id).await?;
        let mut members = given.clone();
        members
            .entry("ClientName")
            .or_insert_with(|| json!(client.config.client_name));
        let mut config: ClientConfig = serde_json::from_value(Value::Object(members))
            .map_err(|e| ApiError::invalid_parameter(e.to_string()))?;
        config.client_id = client.config.client_id.clone();
        config.generate_secret = client.config.generate_secret;
        validate(api, &pool, &config).await?;
        client.config = config;
        client.updated_at = api.clock.now();
        if api.store.update_client(&client).await? == CasOutcome::Applied {
            client.version += 1;
            api.reload().await;
            return Ok(json!({ "UserPoolClient": described(api, &client) }));
        }
    }
    tracing::error!("a client kept changing under an update");
    Err(ApiError::internal())
}

pub(super) async fn delete(api: &Api, input: Value) -> Result<Value, ApiError> {
    let client = existing_client(api, &input).await?;
    api.store
        .delete_client(&client.pool_id, &client.client_id)
        .await?;
    api.reload().await;
    Ok(json!({}))
}

/// The client the input names, in the pool it names.
pub(super) async fn existing_client(api: &Api, input: &Value) -> Result<ClientRecord, ApiError> {
    let pool = existing(api, &member::<String>(input, "UserPoolId")?).await?;
    let client_id: String = member(input, "ClientId")?;
    api.store
        .get_client(&pool.id, &client_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("User pool client {client_id} does not exist.")))
}

/// `UserPoolClientType`: the configuration under Cognito's names, with its IDs, dates and
/// (for a confidential client) its newest secret.
fn described(api: &Api, client: &ClientRecord) -> Value {
    let mut out = match serde_json::to_value(&client.config) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    out.remove("GenerateSecret");
    out.insert("ClientId".into(), json!(client.client_id));
    out.insert("UserPoolId".into(), json!(client.pool_id));
    out.insert("CreationDate".into(), json!(client.created_at));
    out.insert("LastModifiedDate".into(), json!(client.updated_at));
    if let Some(secret) = client.shown_secret(&api.master) {
        out.insert("ClientSecret".into(), json!(secret));
    }
    Value::Object(out)
}
