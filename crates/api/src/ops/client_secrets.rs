//! Client secret rotation: `AddUserPoolClientSecret`, `ListUserPoolClientSecrets`,
//! `DeleteUserPoolClientSecret`. A confidential client holds one or two secrets; either
//! authenticates it.

use serde_json::{Value, json};
use userpool_core::client_secret::{ClientSecret, MAX_SECRETS};
use userpool_core::ids;
use userpool_core::store::CasOutcome;

use super::clients::existing_client;
use super::{CAS_ATTEMPTS, member, page};
use crate::{Api, ApiError};

pub(super) async fn add(api: &Api, input: Value) -> Result<Value, ApiError> {
    let given: Option<String> = member(&input, "ClientSecret")?;
    if let Some(s) = &given
        && !(24..=64).contains(&s.len())
    {
        return Err(ApiError::invalid_parameter(
            "ClientSecret must be between 24 and 64 characters long",
        ));
    }
    let value = given.unwrap_or_else(ids::new_client_secret);
    for _ in 0..CAS_ATTEMPTS {
        let mut client = existing_client(api, &input).await?;
        if !client.has_secret() {
            // A public client's apps hold no secret: giving it one would lock them out.
            return Err(ApiError::invalid_parameter(
                "Client secrets can only be added to a client that has a secret",
            ));
        }
        if client.secrets.len() >= MAX_SECRETS {
            return Err(ApiError::new(
                "LimitExceededException",
                format!("A client can have at most {MAX_SECRETS} client secrets"),
            ));
        }
        let now = api.clock.now();
        let secret =
            ClientSecret::seal(&api.master, &client.pool_id, &client.client_id, &value, now);
        let descriptor = json!({
            "ClientSecretId": secret.id,
            "ClientSecretValue": value,
            "ClientSecretCreateDate": secret.created_at,
        });
        client.secrets.push(secret);
        client.updated_at = now;
        if api.store.update_client(&client).await? == CasOutcome::Applied {
            api.reload().await;
            return Ok(json!({ "ClientSecretDescriptor": descriptor }));
        }
    }
    tracing::error!("a client kept changing while a secret was added");
    Err(ApiError::internal())
}

/// The client's secrets by ID and date; their values are shown only when they are made.
pub(super) async fn list(api: &Api, input: Value) -> Result<Value, ApiError> {
    let client = existing_client(api, &input).await?;
    let token: Option<String> = member(&input, "NextToken")?;
    let (secrets, next) = page(client.secrets, token.as_deref(), MAX_SECRETS)?;
    let listed: Vec<Value> = secrets
        .iter()
        .map(|s| json!({ "ClientSecretId": s.id, "ClientSecretCreateDate": s.created_at }))
        .collect();
    Ok(json!({ "ClientSecrets": listed, "NextToken": next }))
}

pub(super) async fn delete(api: &Api, input: Value) -> Result<Value, ApiError> {
    let secret_id: String = member(&input, "ClientSecretId")?;
    for _ in 0..CAS_ATTEMPTS {
        let mut client = existing_client(api, &input).await?;
        let Some(at) = client.secrets.iter().position(|s| s.id == secret_id) else {
            return Err(ApiError::not_found(format!(
                "Client secret {secret_id} does not exist."
            )));
        };
        if client.secrets.len() == 1 {
            return Err(ApiError::invalid_parameter(
                "The only client secret of a client cannot be deleted",
            ));
        }
        client.secrets.remove(at);
        client.updated_at = api.clock.now();
        if api.store.update_client(&client).await? == CasOutcome::Applied {
            api.reload().await;
            return Ok(json!({}));
        }
    }
    tracing::error!("a client kept changing while a secret was deleted");
    Err(ApiError::internal())
}
