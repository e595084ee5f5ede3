//! Password sign-in decisions: which user a typed username names (username, or an alias the
//! pool allows), and what a correct or wrong password leads to. The password check itself is
//! CPU work the caller schedules (see `password`).

use crate::directory::PoolView;
use crate::model::UserStatus;
use crate::store::{Store, StoreResult, UserRecord};

/// The user `typed` names in this pool: by username (lowercased unless the pool is
/// case-sensitive), then by the pool's `UsernameAttributes` or `AliasAttributes`.
pub async fn find_user(
    store: &dyn Store,
    view: &PoolView,
    typed: &str,
) -> StoreResult<Option<UserRecord>> {
    let config = &view.pool.config;
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    let username = if config.case_sensitive() {
        typed.to_string()
    } else {
        typed.to_lowercase()
    };
    if config.username_attributes.is_empty()
        && let Some(u) = store.get_user(&view.pool.id, &username).await?
    {
        return Ok(Some(u));
    }
    for attr in config
        .username_attributes
        .iter()
        .chain(config.alias_attributes.iter())
    {
        if let Some(u) = store.find_user_by_alias(&view.pool.id, attr, typed).await? {
            // An alias signs in only once verified (Cognito), except username attributes.
            let verified = config.username_attributes.contains(attr)
                || u.attributes
                    .iter()
                    .any(|a| a.name == format!("{attr}_verified") && a.value == "true")
                || attr == "preferred_username";
            if verified {
                return Ok(Some(u));
            }
        }
    }
    Ok(None)
}

/// What a sign-in attempt leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum SignInOutcome {
    Success(UserRecord),
    /// Signed in with a temporary password: a new one must be chosen first.
    NewPasswordRequired(UserRecord),
    /// The user exists but has not confirmed the account.
    NotConfirmed(UserRecord),
    /// Unknown user, wrong password or disabled user: one answer for all.
    Failed,
}

/// Decides from the user found and whether the password matched.
pub fn decide(user: Option<UserRecord>, password_ok: bool) -> SignInOutcome {
    match user {
        Some(u) if password_ok && u.enabled => match u.status {
            UserStatus::Confirmed => SignInOutcome::Success(u),
            UserStatus::ForceChangePassword | UserStatus::ResetRequired => {
                SignInOutcome::NewPasswordRequired(u)
            }
            UserStatus::Unconfirmed => SignInOutcome::NotConfirmed(u),
            UserStatus::ExternalProvider => SignInOutcome::Failed,
        },
        _ => SignInOutcome::Failed,
    }
}
