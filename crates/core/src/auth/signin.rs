//! Password sign-in: which user a typed name means (username, or an alias the pool allows),
//! the lock, the Argon2 check on the work queue, and what a right password leads to.

use super::audit::{Challenge, Event, EventKind, Outcome};
use super::lockout;
use super::steps::Next;
use super::{Auth, AuthError, AuthResult, ErrorKind, reveals_unknown_users};
use crate::directory::PoolView;
use crate::metrics::METRICS;
use crate::model::UserStatus;
use crate::password::{HashParams, dummy_hash, verify_password};
use crate::store::{ClientRecord, Store, StoreResult, UserRecord};
use crate::triggers::TriggerInput;

/// Longer passwords are refused before any work (Cognito's limit is 256 characters).
const MAX_PASSWORD_CHARS: usize = 256;

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
        // An alias signs in only once verified (Cognito), except username attributes: of the
        // users holding the value, the oldest whose alias counts.
        let holders = store
            .find_users_by_alias(&view.pool.id, attr, typed)
            .await?;
        let signs_in = |u: &UserRecord| {
            config.username_attributes.contains(attr)
                || attr == "preferred_username"
                || u.attributes
                    .iter()
                    .any(|a| a.name == format!("{attr}_verified") && a.value == "true")
        };
        if let Some(u) = holders.into_iter().find(signs_in) {
            return Ok(Some(u));
        }
    }
    Ok(None)
}

impl Auth {
    /// Signs a user in with a password: the next step (new password, MFA) or the user to issue
    /// tokens for. One answer for unknown users and wrong passwords, unless the client reveals
    /// unknown users (`PreventUserExistenceErrors: LEGACY`).
    pub async fn sign_in(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        password: &str,
        device_key: Option<&str>,
        passed: &TriggerInput,
    ) -> AuthResult<Next> {
        if password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(incorrect());
        }
        // Before anything about the user is read: a reset after this instant kills this sign-in.
        let started_ms = self.clock.now_ms();
        let pool_id = &view.pool.id;
        let mut user = find_user(&*self.store, view, typed).await?;
        if user.is_none() {
            // A user of the app's old system comes in with this password (then checked below
            // as any user's is).
            user = self
                .migrate_on_sign_in(view, client, typed, password, passed)
                .await?;
        }
        self.pre_authentication(view, client, user.as_ref(), typed, passed)
            .await?;
        let known = user.is_some();
        let key = match &user {
            Some(u) => lockout::user_key(&u.username),
            None => lockout::name_key(typed),
        };
        // Unknown users cost the same Argon2 work as known ones.
        let hash = user
            .as_ref()
            .and_then(|u| u.password_hash.as_ref())
            .map_or_else(|| dummy_hash().to_string(), |h| h.as_str().to_string());
        let has_password = user.as_ref().is_some_and(|u| u.password_hash.is_some());
        let typed_password = password.to_string();
        let audited = user
            .as_ref()
            .map(|u| (u.username.as_str(), EventKind::SignIn));
        let right = self
            .guarded_check(pool_id, &key, audited, move || {
                verify_password(&typed_password, &hash) && has_password
            })
            .await?;
        let user = match user.filter(|_| right) {
            Some(u) => u,
            None if !known && reveals_unknown_users(client) => {
                return Err(AuthError::new(
                    ErrorKind::UserNotFound,
                    "User does not exist.",
                ));
            }
            None => return Err(incorrect()),
        };
        let current = user
            .password_hash
            .as_ref()
            .is_some_and(|h| h.is_current(HashParams::default()));
        let user = match (current, &user.srp_verifier) {
            (true, Some(_)) => user,
            // A password set before verifiers were kept gets one now (see `srp_flow`).
            (true, None) => self.keep_verifier(view, user, password).await?,
            // A hash moved in from elsewhere (or of older costs) becomes ours, with a verifier.
            (false, _) => self.renew_password(view, user, password).await?,
        };
        self.password_accepted(view, client, user, started_ms, device_key.map(String::from))
            .await
    }

    /// Replaces the hash a right password verified against with our Argon2id hash and SRP
    /// verifier, unless another writer changed the password meanwhile.
    async fn renew_password(
        &self,
        view: &PoolView,
        user: UserRecord,
        password: &str,
    ) -> AuthResult<UserRecord> {
        let renewed = self
            .new_password(&view.pool.id, &user.username, password)
            .await?;
        self.modify_user(&view.pool.id, &user.username, |u| {
            if u.password_hash == user.password_hash {
                u.password_hash = Some(renewed.hash.clone());
                u.srp_verifier = Some(renewed.srp_verifier.clone());
            }
        })
        .await
    }

    /// Stores the SRP verifier of a user's right password, which they had none of.
    async fn keep_verifier(
        &self,
        view: &PoolView,
        user: UserRecord,
        password: &str,
    ) -> AuthResult<UserRecord> {
        let (master, pool_id, username, password) = (
            self.master.clone(),
            view.pool.id.clone(),
            user.username.clone(),
            password.to_string(),
        );
        let sealed = self
            .cpu(move || super::srp_flow::sealed_verifier(&master, &pool_id, &username, &password))
            .await?;
        self.modify_user(&view.pool.id, &user.username, |u| {
            if u.srp_verifier.is_none() && u.password_hash == user.password_hash {
                u.srp_verifier = Some(sealed.clone());
            }
        })
        .await
    }

    /// One guess at a secret on the lockout curve of `key`, in this name's turn on this node:
    /// refused while locked ("Password attempts exceeded"); `check` runs on the work queue; a
    /// wrong guess counts, a right one clears the count. An existing user's wrong guesses go to
    /// their audit trail as `kind` events (`audited`), the one that locks marked so.
    pub(super) async fn guarded_check(
        &self,
        pool_id: &str,
        key: &str,
        audited: Option<(&str, EventKind)>,
        check: impl FnOnce() -> bool + Send + 'static,
    ) -> AuthResult<bool> {
        let _turn = self.turn(pool_id, key).await?;
        let now = self.clock.now();
        let failures = self.store.get_sign_in_failures(pool_id, key).await?;
        if lockout::is_locked(failures.as_ref(), now) {
            METRICS.sign_in("locked");
            return Err(AuthError::new(
                ErrorKind::NotAuthorized,
                "Password attempts exceeded",
            ));
        }
        let right = self.cpu(check).await?;
        if !right {
            METRICS.sign_in("wrong_secret");
            let counted = self
                .store
                .record_sign_in_failure(pool_id, key, now, lockout::MAX_LOCK)
                .await?;
            if let Some((username, kind)) = audited {
                let event = Event::new(pool_id, username, kind, Outcome::Fail)
                    .challenges(&[Challenge::Password(false)])
                    .detail(lockout::lock_detail(&counted));
                self.audit(event);
            }
        } else if failures.is_some() {
            self.store.clear_sign_in_failures(pool_id, key).await?;
        }
        Ok(right)
    }

    /// What a right password (typed, or proven by SRP) leads to, by the account's status:
    /// for a confirmed user, the proof of the device they named, or the steps after a password.
    /// A disabled account is named as such (Cognito's answer to the right password) only to
    /// clients that reveal accounts; the others hear what a wrong password gets [I].
    pub(super) async fn password_accepted(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: UserRecord,
        started_ms: i64,
        device_key: Option<String>,
    ) -> AuthResult<Next> {
        if !user.enabled {
            return Err(disabled(client));
        }
        match user.status {
            UserStatus::Confirmed => {
                // A remembered device proves itself instead of MFA, where the pool says so.
                if let Some(key) = &device_key
                    && self.device_skips_mfa(view, &user, key).await?
                    && let Some(step) = self
                        .device_step(view, client, &user, started_ms, Some(key))
                        .await?
                {
                    return Ok(step);
                }
                self.after_password_on(view, client, user, started_ms, device_key)
                    .await
            }
            UserStatus::ResetRequired => Err(AuthError::new(
                ErrorKind::PasswordResetRequired,
                "Password reset required for the user",
            )),
            UserStatus::ForceChangePassword => {
                if temporary_password_expired(view, &user, self.clock.now()) {
                    return Err(AuthError::new(
                        ErrorKind::NotAuthorized,
                        "Temporary password has expired and must be reset by an administrator.",
                    ));
                }
                self.new_password_step(view, client, &user, started_ms)
                    .await
            }
            UserStatus::Unconfirmed => Err(AuthError::new(
                ErrorKind::UserNotConfirmed,
                "User is not confirmed.",
            )),
            UserStatus::ExternalProvider => Err(incorrect()),
        }
    }
}

/// The one answer for a wrong password, an unknown name (unless revealed) and a disabled user.
pub(super) fn incorrect() -> AuthError {
    AuthError::new(ErrorKind::NotAuthorized, "Incorrect username or password.")
}

/// The answer to the right password of a disabled account: Cognito's "User is disabled." for
/// clients that reveal accounts (`LEGACY`), else the wrong password's.
pub(super) fn disabled(client: &ClientRecord) -> AuthError {
    if reveals_unknown_users(client) {
        AuthError::new(ErrorKind::NotAuthorized, "User is disabled.")
    } else {
        incorrect()
    }
}

/// A temporary password lives `TemporaryPasswordValidityDays` from when it was set.
fn temporary_password_expired(view: &PoolView, user: &UserRecord, now: i64) -> bool {
    if user.status != UserStatus::ForceChangePassword {
        return false;
    }
    let days = view
        .pool
        .config
        .policies
        .password_policy
        .temporary_password_validity_days;
    let set_at = user.password_set_at.unwrap_or(user.created_at);
    now > set_at + days * 86_400
}
