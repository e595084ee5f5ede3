//! Finishing a sign-in through an outside provider (OIDC, social or SAML): the user an
//! identity is linked to, or the federated user `{Provider}_{id}`, provisioned or updated.

use super::{Auth, AuthError, AuthResult, ErrorKind, SignedIn};
use crate::directory::PoolView;
use crate::federation::{self, UpstreamIdentity};
use crate::model::IdentityProviderConfig;
use crate::store::{CasOutcome, ClientRecord};
use crate::triggers::TriggerInput;

impl Auth {
    /// The user an outside identity signs in as. A linked identity signs in as its user; an
    /// unlinked one as its federated user, created on first sign-in and updated with the
    /// mapped attributes on every later one.
    pub async fn federated_sign_in(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        idp: &IdentityProviderConfig,
        identity: &UpstreamIdentity,
    ) -> AuthResult<SignedIn> {
        let started_ms = self.clock.now_ms();
        let signed_in = |user| SignedIn {
            user,
            provider: Some(idp.provider_name.clone()),
            started_ms,
            device_key: None,
        };
        let pool_id = &view.pool.id;
        let disabled = || AuthError::new(ErrorKind::NotAuthorized, "User is disabled.");
        if let Some(linked) = self
            .store
            .find_linked_user(pool_id, &idp.provider_name, &identity.subject)
            .await?
        {
            return match self.store.get_user(pool_id, &linked).await? {
                Some(user) if user.enabled => Ok(signed_in(user)),
                _ => Err(disabled()),
            };
        }
        let username = federation::federated_username(
            &view.pool.config,
            &idp.provider_name,
            &identity.subject,
        );
        let write = client.config.write_attributes.as_deref();
        // Provision against the stored user; when another node wrote it meanwhile (a racing
        // first sign-in, an admin change), provision again against what it wrote.
        for _ in 0..8 {
            let existing = self.store.get_user(pool_id, &username).await?;
            let is_new = existing.is_none();
            let user = federation::provision(
                &view.pool.config,
                pool_id,
                idp,
                identity,
                existing,
                write,
                self.clock.now(),
            )
            .map_err(|e| AuthError::new(ErrorKind::InvalidParameter, e.to_string()))?;
            let saved = if is_new {
                // A first sign-in is a sign-up: the trigger may refuse it before it is written.
                let source = "PreSignUp_ExternalProvider";
                let passed = TriggerInput::default();
                self.pre_sign_up(view, source, &user, Some(&client.client_id), &passed)
                    .await?;
                let inserted = self.store.insert_user(&user).await?;
                if inserted {
                    let source = "PostConfirmation_ConfirmSignUp";
                    self.post_confirmation(view, source, &user, Some(&client.client_id), &passed)
                        .await?;
                }
                inserted
            } else {
                self.store.update_user(&user).await? == CasOutcome::Applied
            };
            if saved {
                return if user.enabled {
                    Ok(signed_in(user))
                } else {
                    Err(disabled())
                };
            }
        }
        tracing::error!(user = %username, "federated user kept changing under an update");
        Err(AuthError::new(
            ErrorKind::Internal,
            "Internal server error.",
        ))
    }
}
