//! Outside identity providers of a pool: `CreateIdentityProvider`,
//! `DescribeIdentityProvider`, `UpdateIdentityProvider`, `DeleteIdentityProvider`,
//! `ListIdentityProviders`, `GetIdentityProviderByIdentifier`. The rules are the seed's
//! (`IdentityProviderConfig::validate`, identifiers unique in the pool); secrets
//! (`client_secret`, Apple's `private_key`) are sealed under the master key at rest and shown
//! open by Describe, as Cognito shows them. A change serves at once on this node (the directory
//! is reloaded), so the managed-login page shows the provider's button.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use userpool_core::model::{IdentityProviderConfig, Problems};
use userpool_core::store::{IdentityProviderRecord, PoolRecord};

use super::pools::{existing, strip_nulls};
use super::{member, page, refuse};
use crate::{Api, ApiError};

/// The page size when `MaxResults` is absent (or 0): the service's largest.
const DEFAULT_MAX_RESULTS: usize = 60;

/// The `ProviderDetails` of SAML of which a provider has exactly one: giving one replaces the
/// other.
const SAML_METADATA: [&str; 2] = ["MetadataURL", "MetadataFile"];

pub(super) async fn create(api: &Api, mut input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    strip_nulls(&mut input);
    if let Value::Object(m) = &mut input {
        m.remove("UserPoolId");
    }
    // The request's members are `IdentityProviderConfig`'s, whose own checks are the seed's.
    let config: IdentityProviderConfig =
        serde_json::from_value(input).map_err(|e| ApiError::invalid_parameter(e.to_string()))?;
    let stored = api.store.list_identity_providers(&pool.id).await?;
    if stored
        .iter()
        .any(|x| x.config.provider_name == config.provider_name)
    {
        return Err(duplicate(&config.provider_name));
    }
    validate(&config, &stored)?;
    let mut idp = IdentityProviderRecord {
        pool_id: pool.id.clone(),
        config,
        created_at: api.clock.now(),
    };
    let shown = idp.clone();
    idp.config.seal_secrets(&api.master, &pool.id);
    if !api.store.insert_identity_provider(&idp).await? {
        return Err(duplicate(&idp.config.provider_name));
    }
    api.reload().await;
    Ok(json!({ "IdentityProvider": described(&shown) }))
}

pub(super) async fn describe(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (_, idp) = existing_idp(api, &input).await?;
    Ok(json!({ "IdentityProvider": described(&idp) }))
}

/// Only the members given change; `ProviderDetails` given are merged into the stored ones (a
/// detail not given keeps its value; a SAML metadata URL replaces a metadata file and the other
/// way round).
pub(super) async fn update(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (pool, mut idp) = existing_idp(api, &input).await?;
    if let Some(details) = member::<Option<BTreeMap<String, String>>>(&input, "ProviderDetails")? {
        let d = &mut idp.config.provider_details;
        for (i, key) in SAML_METADATA.iter().enumerate() {
            if details.contains_key(*key) {
                d.remove(SAML_METADATA[1 - i]);
            }
        }
        d.extend(details);
    }
    if let Some(m) = member::<Option<BTreeMap<String, String>>>(&input, "AttributeMapping")? {
        idp.config.attribute_mapping = m;
    }
    if let Some(ids) = member::<Option<Vec<String>>>(&input, "IdpIdentifiers")? {
        idp.config.idp_identifiers = ids;
    }
    let others: Vec<IdentityProviderRecord> = api
        .store
        .list_identity_providers(&pool.id)
        .await?
        .into_iter()
        .filter(|x| x.config.provider_name != idp.config.provider_name)
        .collect();
    validate(&idp.config, &others)?;
    let shown = idp.clone();
    idp.config.seal_secrets(&api.master, &pool.id);
    if !api.store.update_identity_provider(&idp).await? {
        return Err(not_found(&idp.config.provider_name));
    }
    api.reload().await;
    Ok(json!({ "IdentityProvider": described(&shown) }))
}

/// Refused while an app client lists the provider in `SupportedIdentityProviders` (the
/// client would name a provider that no longer exists).
pub(super) async fn delete(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (pool, idp) = existing_idp(api, &input).await?;
    let name = &idp.config.provider_name;
    let users: Vec<String> = api
        .store
        .list_clients(&pool.id)
        .await?
        .into_iter()
        .filter(|c| c.config.supported_identity_providers.contains(name))
        .map(|c| c.client_id)
        .collect();
    if !users.is_empty() {
        return Err(ApiError::invalid_parameter(format!(
            "The provider {name} is used by app client(s) {}: remove it from their SupportedIdentityProviders first.",
            users.join(", ")
        )));
    }
    if !api.store.delete_identity_provider(&pool.id, name).await? {
        return Err(not_found(name));
    }
    api.reload().await;
    Ok(json!({}))
}

pub(super) async fn list(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let max = match member::<Option<usize>>(&input, "MaxResults")? {
        None | Some(0) => DEFAULT_MAX_RESULTS,
        Some(n) => n,
    };
    let token: Option<String> = member(&input, "NextToken")?;
    let idps = api.store.list_identity_providers(&pool.id).await?;
    let (idps, next) = page(idps, token.as_deref(), max)?;
    let listed: Vec<Value> = idps
        .iter()
        .map(|i| {
            json!({
                "ProviderName": i.config.provider_name,
                "ProviderType": i.config.provider_type,
                "CreationDate": i.created_at,
                "LastModifiedDate": i.created_at,
            })
        })
        .collect();
    Ok(json!({ "Providers": listed, "NextToken": next }))
}

pub(super) async fn get_by_identifier(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    let identifier: String = member(&input, "IdpIdentifier")?;
    let wanted = identifier.to_lowercase();
    let found = api
        .store
        .list_identity_providers(&pool.id)
        .await?
        .into_iter()
        .find(|x| {
            x.config
                .idp_identifiers
                .iter()
                .any(|s| s.to_lowercase() == wanted)
        })
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Identity provider with identifier {identifier} does not exist."
            ))
        })?;
    let idp = opened(api, &pool, found)?;
    Ok(json!({ "IdentityProvider": described(&idp) }))
}

/// The seed's rules: the provider's own, and its identifiers unused by `others` (the pool's
/// other providers), compared without case. A SAML `MetadataFile` is not parsed here (the
/// parser is the federation crate's): see docs/compat/cognito.md.
fn validate(
    config: &IdentityProviderConfig,
    others: &[IdentityProviderRecord],
) -> Result<(), ApiError> {
    let mut p = Problems::new("");
    config.validate(&mut p);
    refuse(p)?;
    for s in &config.idp_identifiers {
        let lower = s.to_lowercase();
        let taken = others.iter().any(|x| {
            x.config
                .idp_identifiers
                .iter()
                .any(|o| o.to_lowercase() == lower)
        });
        let twice = config
            .idp_identifiers
            .iter()
            .filter(|o| o.to_lowercase() == lower)
            .count()
            > 1;
        if taken || twice {
            return Err(ApiError::invalid_parameter(format!(
                "IdpIdentifier '{s}' is already used in the pool"
            )));
        }
    }
    Ok(())
}

/// The pool and the provider the input names, its secrets open.
async fn existing_idp(
    api: &Api,
    input: &Value,
) -> Result<(PoolRecord, IdentityProviderRecord), ApiError> {
    let pool = existing(api, &member::<String>(input, "UserPoolId")?).await?;
    let name: String = member(input, "ProviderName")?;
    let idp = api
        .store
        .get_identity_provider(&pool.id, &name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    let idp = opened(api, &pool, idp)?;
    Ok((pool, idp))
}

/// The record with its sealed secrets opened under the master key.
fn opened(
    api: &Api,
    pool: &PoolRecord,
    mut idp: IdentityProviderRecord,
) -> Result<IdentityProviderRecord, ApiError> {
    idp.config
        .open_secrets(&api.master, &pool.id)
        .map_err(|e| {
            tracing::error!(error = %e, "an identity provider's secret does not open");
            ApiError::internal()
        })?;
    Ok(idp)
}

fn duplicate(name: &str) -> ApiError {
    ApiError::new(
        "DuplicateProviderException",
        format!("A provider with the name {name} already exists in this user pool."),
    )
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Identity provider {name} does not exist."))
}

/// `IdentityProviderType`. Providers keep no modification time yet: see docs/compat/cognito.md.
fn described(i: &IdentityProviderRecord) -> Value {
    json!({
        "UserPoolId": i.pool_id,
        "ProviderName": i.config.provider_name,
        "ProviderType": i.config.provider_type,
        "ProviderDetails": i.config.provider_details,
        "AttributeMapping": i.config.attribute_mapping,
        "IdpIdentifiers": i.config.idp_identifiers,
        "CreationDate": i.created_at,
        "LastModifiedDate": i.created_at,
    })
}
