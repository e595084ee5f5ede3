//! Outside identity providers of a pool: `CreateIdentityProvider`,
//! `DescribeIdentityProvider`, `UpdateIdentityProvider`, `DeleteIdentityProvider`,
//! `ListIdentityProviders`, `GetIdentityProviderByIdentifier`. The rules are the seed's
//! (`IdentityProviderConfig::validate`, identifiers unique in the pool); secrets
//! (`client_secret`, Apple's `private_key`) are sealed under the master key at rest and shown
//! open by Describe, as Cognito shows them. A change serves at once on this node (the directory
//! is reloaded), so the managed-login page shows the provider's button.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use userpool_core::auth::{saml_cert_base64, saml_encryption_owner};
use userpool_core::model::{IdentityProviderConfig, Problems};
use userpool_core::store::{CasOutcome, IdentityProviderRecord, PoolRecord};

use super::pools::existing;
use super::{CAS_ATTEMPTS, config_of, member, page, refuse};
use crate::{Api, ApiError};

/// The page size when `MaxResults` is absent (or 0): the service's largest.
const DEFAULT_MAX_RESULTS: usize = 60;

/// The SAML `ProviderDetails` Describe derives.
const DERIVED_SAML_DETAILS: [&str; 3] = [
    "SSORedirectBindingURI",
    "SLORedirectBindingURI",
    "ActiveEncryptionCertificate",
];

/// The `ProviderDetails` of SAML of which a provider has exactly one: giving one replaces the
/// other.
const SAML_METADATA: [&str; 2] = ["MetadataURL", "MetadataFile"];

pub(super) async fn create(api: &Api, input: Value) -> Result<Value, ApiError> {
    let pool = existing(api, &member::<String>(&input, "UserPoolId")?).await?;
    // The request's members are `IdentityProviderConfig`'s, whose own checks are the seed's.
    let mut config: IdentityProviderConfig = config_of(input)?;
    without_derived(&mut config.provider_details);
    let stored = api.store.list_identity_providers(&pool.id).await?;
    if stored
        .iter()
        .any(|x| x.config.provider_name == config.provider_name)
    {
        return Err(duplicate(&config.provider_name));
    }
    validate(&config, &stored, api.clock.now())?;
    let now = api.clock.now();
    let mut idp = IdentityProviderRecord {
        pool_id: pool.id.clone(),
        config,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    let shown = idp.clone();
    idp.config.seal_secrets(&api.master, &pool.id);
    if !api.store.insert_identity_provider(&idp).await? {
        return Err(duplicate(&idp.config.provider_name));
    }
    api.reload().await;
    Ok(json!({ "IdentityProvider": described(api, &shown).await? }))
}

pub(super) async fn describe(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (_, idp) = existing_idp(api, &input).await?;
    Ok(json!({ "IdentityProvider": described(api, &idp).await? }))
}

/// Only the members given change; `ProviderDetails` given are merged into the stored ones (a
/// detail not given keeps its value; a SAML metadata URL replaces a metadata file and the other
/// way round). Written by compare-and-swap, re-read on a race.
pub(super) async fn update(api: &Api, input: Value) -> Result<Value, ApiError> {
    for _ in 0..CAS_ATTEMPTS {
        if let Some(done) = try_update(api, &input).await? {
            return Ok(done);
        }
    }
    tracing::error!("an identity provider kept changing under an update");
    Err(ApiError::internal())
}

/// One attempt of `update`: `None` when another writer came first.
async fn try_update(api: &Api, input: &Value) -> Result<Option<Value>, ApiError> {
    let (pool, mut idp) = existing_idp(api, input).await?;
    if let Some(mut details) = member::<Option<BTreeMap<String, String>>>(input, "ProviderDetails")?
    {
        without_derived(&mut details);
        let d = &mut idp.config.provider_details;
        for (i, key) in SAML_METADATA.iter().enumerate() {
            if details.contains_key(*key) {
                d.remove(SAML_METADATA[1 - i]);
            }
        }
        d.extend(details);
    }
    if let Some(m) = member::<Option<BTreeMap<String, String>>>(input, "AttributeMapping")? {
        idp.config.attribute_mapping = m;
    }
    if let Some(ids) = member::<Option<Vec<String>>>(input, "IdpIdentifiers")? {
        idp.config.idp_identifiers = ids;
    }
    let others: Vec<IdentityProviderRecord> = api
        .store
        .list_identity_providers(&pool.id)
        .await?
        .into_iter()
        .filter(|x| x.config.provider_name != idp.config.provider_name)
        .collect();
    let now = api.clock.now();
    validate(&idp.config, &others, now)?;
    clients_still_valid(api, &pool, &idp.config, &others).await?;
    idp.updated_at = now;
    let mut sealed = idp.clone();
    sealed.config.seal_secrets(&api.master, &pool.id);
    if api.store.update_identity_provider(&sealed).await? != CasOutcome::Applied {
        return Ok(None);
    }
    idp.version += 1;
    api.reload().await;
    Ok(Some(
        json!({ "IdentityProvider": described(api, &idp).await? }),
    ))
}

/// Refuses a change of a provider that would leave a client that lists it breaking the
/// client rules (an IdP-initiated SAML provider beside COGNITO or another kind of provider).
async fn clients_still_valid(
    api: &Api,
    pool: &PoolRecord,
    changed: &IdentityProviderConfig,
    others: &[IdentityProviderRecord],
) -> Result<(), ApiError> {
    let providers: Vec<&IdentityProviderConfig> =
        others.iter().map(|x| &x.config).chain([changed]).collect();
    for client in api.store.list_clients(&pool.id).await? {
        let listed = &client.config.supported_identity_providers;
        if !listed.contains(&changed.provider_name) {
            continue;
        }
        let mut p = Problems::new("");
        client.config.check_providers(&providers, &mut p);
        if let Some(e) = p.errors.into_iter().next() {
            return Err(ApiError::invalid_parameter(format!(
                "app client {} would break: {}",
                client.client_id, e.message
            )));
        }
    }
    Ok(())
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
                "LastModifiedDate": i.updated_at,
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
    Ok(json!({ "IdentityProvider": described(api, &idp).await? }))
}

/// The provider's own rules, a SAML `MetadataFile` that parses (with a usable signing
/// certificate), and identifiers unused by `others` (the pool's other providers), compared
/// without case.
fn validate(
    config: &IdentityProviderConfig,
    others: &[IdentityProviderRecord],
    now: i64,
) -> Result<(), ApiError> {
    let mut p = Problems::new("");
    config.validate(&mut p);
    refuse(p)?;
    if config.provider_type == "SAML"
        && let Some(file) = config.provider_details.get("MetadataFile")
        && let Err(e) = userpool_federation::saml::metadata::parse(file, now)
    {
        return Err(ApiError::invalid_parameter(format!(
            "ProviderDetails.MetadataFile: {e}"
        )));
    }
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

/// `IdentityProviderType`, with the details Cognito derives: a social provider's endpoints,
/// a SAML provider's SSO and SLO locations from its metadata file, and, for a SAML provider
/// with `EncryptedResponses`, the certificate it encrypts to (made on first use).
async fn described(api: &Api, i: &IdentityProviderRecord) -> Result<Value, ApiError> {
    let config = &i.config;
    let mut details = config.provider_details.clone();
    for (key, value) in userpool_federation::social_details(config) {
        details.entry(key.to_string()).or_insert(value);
    }
    if config.provider_type == "SAML" {
        if let Some(file) = details.get("MetadataFile")
            && let Ok(md) = userpool_federation::saml::metadata::parse(file, api.clock.now())
        {
            details.insert("SSORedirectBindingURI".into(), md.sso_redirect);
            if let Some(slo) = md.slo_redirect {
                details.insert("SLORedirectBindingURI".into(), slo);
            }
        }
        if details
            .get("EncryptedResponses")
            .is_some_and(|v| v == "true")
        {
            let owner = saml_encryption_owner(&config.provider_name);
            let newest = api.auth.saml_credentials(&i.pool_id, &owner).await?.pop();
            if let Some(c) = newest {
                details.insert(
                    "ActiveEncryptionCertificate".into(),
                    saml_cert_base64(&c.cert_pem),
                );
            }
        }
    }
    Ok(json!({
        "UserPoolId": i.pool_id,
        "ProviderName": config.provider_name,
        "ProviderType": config.provider_type,
        "ProviderDetails": details,
        "AttributeMapping": config.attribute_mapping,
        "IdpIdentifiers": config.idp_identifiers,
        "CreationDate": i.created_at,
        "LastModifiedDate": i.updated_at,
    }))
}

/// Takes out of given `ProviderDetails` the ones Describe derives (tools that write back what
/// they read send them): they are never stored.
fn without_derived(details: &mut BTreeMap<String, String>) {
    for derived in DERIVED_SAML_DETAILS {
        details.remove(derived);
    }
}
