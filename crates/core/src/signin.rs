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

/// Cognito's lockout curve (checklist §4.1): after five failures a typed username is locked for
/// one second, doubling with each further failure up to fifteen minutes; attempts during a lock
/// do not count; fifteen quiet minutes, or a successful sign-in, start over.
pub mod lockout {
    use crate::store::FailureRecord;
    use crate::time::Timestamp;

    /// Failures before the first lock.
    pub const FREE_ATTEMPTS: i64 = 5;
    /// The longest lock, and the quiet time that resets the count.
    pub const MAX_LOCK: i64 = 900;

    /// Until when the name is locked, if it is.
    pub fn locked_until(record: &FailureRecord) -> Option<Timestamp> {
        let n = record.failures;
        (n >= FREE_ATTEMPTS).then(|| {
            let exp = (n - FREE_ATTEMPTS).min(20) as u32;
            record.last_failure_at + 2i64.pow(exp).min(MAX_LOCK)
        })
    }

    /// Whether a sign-in attempt for this name must be refused now. Times are whole
    /// seconds, so the lock holds through its last second: never shorter than the curve says.
    pub fn is_locked(record: Option<&FailureRecord>, now: Timestamp) -> bool {
        record
            .filter(|r| now - r.last_failure_at < MAX_LOCK)
            .and_then(locked_until)
            .is_some_and(|until| now <= until)
    }

    // Counters of different kinds live in one table; each kind has its own prefix, so no name
    // a person can type reaches another kind's counter.

    /// Password failures of an existing user: one counter whatever name or alias was typed.
    pub fn user_key(username: &str) -> String {
        format!("p:u:{username}")
    }

    /// Password failures of a name that matches no user (so a lock reveals nothing).
    pub fn name_key(typed: &str) -> String {
        format!("p:n:{}", typed.trim().to_lowercase())
    }

    /// TOTP failures of a user.
    pub fn mfa_key(username: &str) -> String {
        format!("m:{username}")
    }

    /// Wrong guesses of a user's one-time codes of `purpose`; not reset by a new code.
    pub fn code_key(purpose: &str, username: &str) -> String {
        format!("c:{purpose}:{username}")
    }

    /// Codes of `purpose` sent to a user: sending follows the same curve.
    pub fn send_key(purpose: &str, username: &str) -> String {
        format!("s:{purpose}:{username}")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn rec(failures: i64, at: Timestamp) -> FailureRecord {
            FailureRecord {
                failures,
                last_failure_at: at,
            }
        }

        #[test]
        fn the_curve_doubles_from_one_second_to_fifteen_minutes() {
            assert_eq!(locked_until(&rec(4, 100)), None);
            assert_eq!(locked_until(&rec(5, 100)), Some(101));
            assert_eq!(locked_until(&rec(6, 100)), Some(102));
            assert_eq!(locked_until(&rec(10, 100)), Some(132));
            assert_eq!(locked_until(&rec(15, 100)), Some(100 + 900));
            assert_eq!(locked_until(&rec(60, 100)), Some(100 + 900));
            assert!(is_locked(Some(&rec(5, 100)), 100));
            assert!(
                is_locked(Some(&rec(5, 100)), 101),
                "at least one whole second"
            );
            assert!(!is_locked(Some(&rec(5, 100)), 102));
            assert!(is_locked(Some(&rec(15, 100)), 999));
            assert!(
                !is_locked(Some(&rec(15, 100)), 1000),
                "fifteen quiet minutes reset"
            );
            assert!(!is_locked(None, 0));
        }
    }
}
