//! Linking outside identities to users (`AdminLinkProviderForUser`) and unlinking them
//! (`AdminDisableProviderForUser`): a linked identity signs in as its user (see `federated`),
//! whose `identities` attribute lists it.

use serde_json::{Value, json};

use super::{Auth, AuthError, AuthResult, ErrorKind};
use crate::directory::PoolView;
use crate::federation::{federated_username, is_identity_of};
use crate::model::AttributeType;
use crate::store::UserRecord;

/// Cognito links at most five identities to one user.
const MAX_LINKS: i64 = 5;

/// The provider attribute a link matches on: the identity's subject.
pub const SUBJECT_ATTRIBUTE: &str = "Cognito_Subject";

/// An outside identity as the link operations name it.
pub struct ProviderUser<'a> {
    pub provider: &'a str,
    pub attribute_name: Option<&'a str>,
    pub value: &'a str,
}

fn invalid(message: impl Into<String>) -> AuthError {
    AuthError::new(ErrorKind::InvalidParameter, message)
}

impl Auth {
    /// `AdminLinkProviderForUser`: `source` (an identity of one of the pool's providers) signs
    /// in as `destination` from now on.
    pub async fn admin_link_provider(
        &self,
        view: &PoolView,
        destination: &UserRecord,
        source: &ProviderUser<'_>,
    ) -> AuthResult<UserRecord> {
        let pool_id = &view.pool.id;
        let Some(idp) = view.identity_providers.get(source.provider) else {
            return Err(invalid(format!(
                "SourceUser.ProviderName: provider {} does not exist in the user pool",
                source.provider
            )));
        };
        // SAML links on other attributes are Cognito's; userpool links on the subject only
        // (docs/compat/cognito.md).
        if source.attribute_name != Some(SUBJECT_ATTRIBUTE) {
            return Err(invalid(format!(
                "SourceUser.ProviderAttributeName must be {SUBJECT_ATTRIBUTE}"
            )));
        }
        let subject = source.value;
        let federated = federated_username(&view.pool.config, source.provider, subject);
        if federated != destination.username
            && self.store.get_user(pool_id, &federated).await?.is_some()
        {
            return Err(invalid(
                "Merging is not currently supported, provide a SourceUser that has not been used to sign into the user pool.",
            ));
        }
        if let Some(linked) = self
            .store
            .find_linked_user(pool_id, source.provider, subject)
            .await?
        {
            return Err(invalid(format!(
                "SourceUser is already linked to {}",
                if linked == destination.username {
                    "this user"
                } else {
                    "another user"
                }
            )));
        }
        if self
            .store
            .count_links(pool_id, &destination.username)
            .await?
            >= MAX_LINKS
        {
            return Err(AuthError::new(
                ErrorKind::LimitExceeded,
                format!("A user can be linked to at most {MAX_LINKS} identities"),
            ));
        }
        if !self
            .store
            .link_identity(pool_id, source.provider, subject, &destination.username)
            .await?
        {
            return Err(invalid("SourceUser is already linked to another user"));
        }
        let entry = json!({
            "userId": subject,
            "providerName": idp.config.provider_name,
            "providerType": idp.config.provider_type,
            "issuer": Value::Null,
            "primary": "false",
            "dateCreated": self.clock.now_ms().to_string(),
        });
        self.modify_user(pool_id, &destination.username, |u| {
            let mut list = identities(u);
            list.retain(|i| !same_identity(i, source.provider, subject));
            list.push(entry.clone());
            set_identities(u, list);
        })
        .await
    }

    /// `AdminDisableProviderForUser` for an outside identity: its link ends (and the linked
    /// user's sessions and tokens with it), so its next sign-in makes (or uses) its own
    /// federated user; a federated user of that identity that was never linked is disabled
    /// instead.
    pub async fn admin_disable_provider(
        &self,
        view: &PoolView,
        user: &ProviderUser<'_>,
    ) -> AuthResult<()> {
        let pool_id = &view.pool.id;
        if user.provider == "Cognito" {
            return Err(invalid(
                "userpool does not turn off password sign-in alone; use AdminDisableUser",
            ));
        }
        if !view.identity_providers.contains_key(user.provider) {
            return Err(invalid(format!(
                "User.ProviderName: provider {} does not exist in the user pool",
                user.provider
            )));
        }
        if user.attribute_name.is_some_and(|n| n != SUBJECT_ATTRIBUTE) {
            return Err(invalid(format!(
                "User.ProviderAttributeName must be {SUBJECT_ATTRIBUTE}"
            )));
        }
        let subject = user.value;
        if let Some(linked) = self
            .store
            .find_linked_user(pool_id, user.provider, subject)
            .await?
        {
            self.store
                .unlink_identity(pool_id, user.provider, subject)
                .await?;
            let unlinked = self
                .modify_user(pool_id, &linked, |u| {
                    let mut list = identities(u);
                    list.retain(|i| !same_identity(i, user.provider, subject));
                    set_identities(u, list);
                })
                .await?;
            // What the identity signed in to ends with the link (the user signs in again).
            return self.admin_global_sign_out(view, &unlinked).await;
        }
        let federated = federated_username(&view.pool.config, user.provider, subject);
        // Only the identity's own federated user, never a local account of that name.
        match self.store.get_user(pool_id, &federated).await? {
            Some(u) if is_identity_of(&u, user.provider, subject) => {
                self.admin_set_enabled(view, &u, false).await.map(|_| ())
            }
            _ => Err(AuthError::new(
                ErrorKind::UserNotFound,
                "User does not exist.",
            )),
        }
    }
}

fn same_identity(entry: &Value, provider: &str, subject: &str) -> bool {
    entry["providerName"] == provider && entry["userId"] == subject
}

/// The user's `identities` attribute as a list.
fn identities(user: &UserRecord) -> Vec<Value> {
    user.attributes
        .iter()
        .find(|a| a.name == "identities")
        .and_then(|a| serde_json::from_str::<Vec<Value>>(&a.value).ok())
        .unwrap_or_default()
}

/// Writes `list` as the user's `identities` attribute (none when it is empty).
fn set_identities(user: &mut UserRecord, list: Vec<Value>) {
    user.attributes.retain(|a| a.name != "identities");
    if !list.is_empty() {
        user.attributes.push(AttributeType {
            name: "identities".into(),
            value: Value::Array(list).to_string(),
        });
    }
}
