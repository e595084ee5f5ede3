//! Outside identities of users: `AdminLinkProviderForUser`, `AdminDisableProviderForUser`,
//! whose rules are core's (`userpool_core::auth`).

use serde::Deserialize;
use serde_json::{Value, json};
use userpool_core::auth::ProviderUser;

use super::member;
use super::users::{existing_user, pool_view};
use crate::{Api, ApiError};

/// `ProviderUserIdentifierType`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProviderUserIdentifier {
    provider_name: Option<String>,
    provider_attribute_name: Option<String>,
    provider_attribute_value: Option<String>,
}

impl ProviderUserIdentifier {
    fn named(&self, which: &str) -> Result<ProviderUser<'_>, ApiError> {
        let missing = |m: &str| ApiError::invalid_parameter(format!("{which}.{m} is required"));
        Ok(ProviderUser {
            provider: self
                .provider_name
                .as_deref()
                .ok_or_else(|| missing("ProviderName"))?,
            attribute_name: self.provider_attribute_name.as_deref(),
            value: self
                .provider_attribute_value
                .as_deref()
                .ok_or_else(|| missing("ProviderAttributeValue"))?,
        })
    }
}

pub(super) async fn link(api: &Api, input: Value) -> Result<Value, ApiError> {
    let view = pool_view(api, &input).await?;
    let destination: ProviderUserIdentifier = member(&input, "DestinationUser")?;
    let source: ProviderUserIdentifier = member(&input, "SourceUser")?;
    let destination = destination.named("DestinationUser")?;
    if destination.provider != "Cognito" {
        return Err(ApiError::invalid_parameter(
            "DestinationUser.ProviderName must be Cognito",
        ));
    }
    let user = existing_user(api, &view.pool, destination.value).await?;
    api.auth
        .admin_link_provider(&view, &user, &source.named("SourceUser")?)
        .await?;
    Ok(json!({}))
}

pub(super) async fn disable(api: &Api, input: Value) -> Result<Value, ApiError> {
    let view = pool_view(api, &input).await?;
    let user: ProviderUserIdentifier = member(&input, "User")?;
    api.auth
        .admin_disable_provider(&view, &user.named("User")?)
        .await?;
    Ok(json!({}))
}
