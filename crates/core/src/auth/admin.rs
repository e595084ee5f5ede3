//! What an administrator does to users through the Cognito API: create them (with a temporary
//! password and an invitation), set their password, confirm, disable and enable them, sign them
//! out everywhere, require a password reset, delete them. Passwords are hashed on the work
//! queue, users written by compare-and-swap, and sessions and tokens ended as a password reset
//! ends them.

use super::codes::Holder;
use super::{
    Auth, AuthError, AuthResult, CodePurpose, ErrorKind, check_password_policy, find_user,
};
use crate::crypto::{random_bytes, random_string};
use crate::directory::PoolView;
use crate::lifecycle;
use crate::model::{
    AttributeType, PasswordPolicy, Problems, Secret, SeedUser, UserPoolConfig, UserStatus,
};
use crate::store::UserRecord;
use crate::triggers::TriggerInput;

/// `AdminCreateUser`'s `MessageAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAction {
    /// Absent: the invitation goes out.
    Send,
    /// `SUPPRESS`: no message.
    Suppress,
    /// `RESEND`: a new temporary password and invitation for a user who has not signed in yet.
    Resend,
}

/// An `AdminCreateUser` request.
#[derive(Debug, Clone)]
pub struct AdminNewUser {
    /// As typed: a username, or an email or phone number in pools with `UsernameAttributes`.
    pub username: String,
    pub attributes: Vec<AttributeType>,
    /// Generated to meet the pool's password policy when absent.
    pub temporary_password: Option<String>,
    pub action: MessageAction,
    /// Whether `DesiredDeliveryMediums` asks for email (the default [I: Cognito's is SMS]).
    pub by_email: bool,
    /// Whether `DesiredDeliveryMediums` asks for a text message to the phone number.
    pub by_sms: bool,
    /// Whether an alias another user holds moves to the new user (else `AliasExistsException`).
    pub force_alias_creation: bool,
    /// `ClientMetadata` and `ValidationData`, for the triggers.
    pub passed: TriggerInput,
}

impl Auth {
    /// `AdminCreateUser`: a FORCE_CHANGE_PASSWORD user with a temporary password, invited by
    /// email unless suppressed; or, with `RESEND`, a new temporary password and invitation.
    pub async fn admin_create_user(
        &self,
        view: &PoolView,
        input: &AdminNewUser,
    ) -> AuthResult<UserRecord> {
        let config = &view.pool.config;
        if input.action == MessageAction::Resend {
            return self.resend_invitation(view, input).await;
        }
        let typed = input.username.trim();
        let seed = check_new_user(
            config,
            typed,
            input.temporary_password.as_deref(),
            &input.attributes,
        )?;
        if view.identity_providers.keys().any(|p| {
            typed
                .to_lowercase()
                .starts_with(&format!("{}_", p.to_lowercase()))
        }) {
            // The names of federated users: a local account must not pre-empt one.
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "This username is not available.",
            ));
        }
        if !config.alias_attributes.is_empty() && (typed.contains('@') || typed.starts_with('+')) {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "Username should be neither an email nor a phone number.",
            ));
        }
        let now = self.clock.now();
        let sub = crate::oauth::grant::new_uuid();
        let mut attributes = input.attributes.clone();
        let username = match seed.username_attribute(config) {
            // Named by its `sub`; the typed name is the attribute it signs in with.
            Some(attr) => {
                if !attributes.iter().any(|a| a.name == attr) {
                    attributes.push(AttributeType {
                        name: attr.to_string(),
                        value: typed.to_string(),
                    });
                }
                sub.clone()
            }
            None if config.case_sensitive() => typed.to_string(),
            None => typed.to_lowercase(),
        };
        let exists = || AuthError::new(ErrorKind::UsernameExists, "User account already exists");
        let pool_id = &view.pool.id;
        if self.store.get_user(pool_id, &username).await?.is_some() {
            return Err(exists());
        }
        for attr in &config.username_attributes {
            if let Some(value) = attribute(&attributes, attr)
                && !self
                    .store
                    .find_users_by_alias(pool_id, attr, value)
                    .await?
                    .is_empty()
            {
                return Err(exists());
            }
        }
        // Aliases the new user signs in with that another user holds.
        let mut moved = Vec::new();
        for attr in &config.alias_attributes {
            let Some(value) = attribute(&attributes, attr) else {
                continue;
            };
            if !alias_active(&attributes, attr) {
                continue;
            }
            let holders = self.store.find_users_by_alias(pool_id, attr, value).await?;
            if let Some(other) = holders
                .into_iter()
                .find(|other| alias_active(&other.attributes, attr))
            {
                if !input.force_alias_creation {
                    return Err(AuthError::new(
                        ErrorKind::AliasExists,
                        format!("An account with the given {attr} already exists."),
                    ));
                }
                moved.push((other.username, attr.clone()));
            }
        }
        let password = match &input.temporary_password {
            Some(pw) => pw.clone(),
            None => temporary_password(&config.policies.password_policy),
        };
        let new_password = self.new_password(pool_id, &username, &password).await?;
        let mut user = UserRecord::new(
            pool_id,
            username,
            sub,
            UserStatus::ForceChangePassword,
            attributes,
            now,
        );
        new_password.set_on(&mut user, now);
        // The trigger may refuse; it changes nothing else of an administrator's user.
        self.pre_sign_up(
            view,
            "PreSignUp_AdminCreateUser",
            &user,
            None,
            &input.passed,
        )
        .await?;
        if !self.store.insert_user(&user).await? {
            return Err(exists());
        }
        for (other, attr) in moved {
            // The alias leaves its previous holder, who keeps the attribute unverified.
            self.modify_user(pool_id, &other, |u| {
                if attr == "preferred_username" {
                    u.attributes.retain(|a| a.name != attr);
                } else {
                    lifecycle::set_attribute(u, &format!("{attr}_verified"), "false");
                }
            })
            .await?;
        }
        if input.action == MessageAction::Send {
            self.invite(view, &user, input, &password).await;
        }
        Ok(user)
    }

    /// `RESEND`: a new temporary password (and its full validity) for a user who has not
    /// replaced the first one yet.
    async fn resend_invitation(
        &self,
        view: &PoolView,
        input: &AdminNewUser,
    ) -> AuthResult<UserRecord> {
        let user = self.admin_find(view, &input.username).await?;
        if user.status != UserStatus::ForceChangePassword {
            return Err(AuthError::new(
                ErrorKind::UnsupportedUserState,
                format!(
                    "Resend not possible. {} status is not FORCE_CHANGE_PASSWORD",
                    user.username
                ),
            ));
        }
        let password = match &input.temporary_password {
            Some(pw) => {
                check_password_policy(view, pw)?;
                pw.clone()
            }
            None => temporary_password(&view.pool.config.policies.password_policy),
        };
        let new_password = self
            .new_password(&view.pool.id, &user.username, &password)
            .await?;
        let now = self.clock.now();
        let user = self
            .modify_user(&view.pool.id, &user.username, |u| {
                new_password.set_on(u, now)
            })
            .await?;
        self.invite(view, &user, input, &password).await;
        Ok(user)
    }

    /// The user an Admin call names: by username, else by a name the user signs in with.
    async fn admin_find(&self, view: &PoolView, typed: &str) -> AuthResult<UserRecord> {
        let username = if view.pool.config.case_sensitive() {
            typed.to_string()
        } else {
            typed.to_lowercase()
        };
        if let Some(u) = self.store.get_user(&view.pool.id, &username).await? {
            return Ok(u);
        }
        find_user(&*self.store, view, typed)
            .await?
            .ok_or_else(|| AuthError::new(ErrorKind::UserNotFound, "User does not exist."))
    }

    /// Sends the invitation by each medium asked for: the pool's `InviteMessageTemplate`
    /// (`EmailSubject`/`EmailMessage`, `SMSMessage`), else Cognito's default.
    async fn invite(
        &self,
        view: &PoolView,
        user: &UserRecord,
        input: &AdminNewUser,
        password: &str,
    ) {
        let typed = input.username.trim();
        let template = view
            .pool
            .config
            .admin_create_user_config
            .as_ref()
            .and_then(|c| c.get("InviteMessageTemplate"));
        let field = |name: &str| {
            template
                .and_then(|t| t.get(name))
                .and_then(|v| v.as_str())
                .map(String::from)
        };
        let default = |sms: bool| {
            let body =
                field(if sms { "SMSMessage" } else { "EmailMessage" }).unwrap_or_else(|| {
                    "Your username is {username} and temporary password is {####}. ".into()
                });
            let body = body
                .replace("{username}", typed)
                .replace("{####}", password);
            let subject = field("EmailSubject").unwrap_or_else(|| "Your temporary password".into());
            (subject, body)
        };
        let mediums = [("email", input.by_email), ("phone_number", input.by_sms)];
        for (attribute, asked) in mediums {
            if !asked {
                continue;
            }
            let Some(to) = super::Delivery::of(user, attribute).filter(|to| self.can_reach(to))
            else {
                tracing::warn!(
                    attribute,
                    "invitation not sent: no such address, or no way to it"
                );
                continue;
            };
            let message = super::CodeMessage {
                username_shown: Some(typed),
                ..super::CodeMessage::new("CustomMessage_AdminCreateUser", None, &input.passed)
            };
            self.deliver(view, user, &to, password, &message, default)
                .await;
        }
    }

    /// `AdminSetUserPassword`: a permanent password confirms the user; a temporary one must be
    /// replaced at the next sign-in.
    pub async fn admin_set_user_password(
        &self,
        view: &PoolView,
        user: &UserRecord,
        password: &str,
        permanent: bool,
    ) -> AuthResult<UserRecord> {
        local_only(user)?;
        check_password_policy(view, password)?;
        let new_password = self
            .new_password(&view.pool.id, &user.username, password)
            .await?;
        let now = self.clock.now();
        let user = self
            .modify_user(&view.pool.id, &user.username, |u| {
                new_password.set_on(u, now);
                u.status = if permanent {
                    UserStatus::Confirmed
                } else {
                    UserStatus::ForceChangePassword
                };
            })
            .await?;
        self.store
            .clear_sign_in_failures(&view.pool.id, &super::lockout::user_key(&user.username))
            .await?;
        Ok(user)
    }

    /// `AdminConfirmSignUp`: an UNCONFIRMED user becomes CONFIRMED.
    pub async fn admin_confirm_sign_up(
        &self,
        view: &PoolView,
        user: &UserRecord,
        passed: &TriggerInput,
    ) -> AuthResult<UserRecord> {
        let refused = |status: UserStatus| {
            AuthError::new(
                ErrorKind::NotAuthorized,
                format!(
                    "User cannot be confirmed. Current status is {}",
                    status.as_str()
                ),
            )
        };
        if user.status != UserStatus::Unconfirmed {
            return Err(refused(user.status));
        }
        let updated = self
            .modify_user(&view.pool.id, &user.username, |u| {
                if u.status == UserStatus::Unconfirmed {
                    u.status = UserStatus::Confirmed;
                }
            })
            .await?;
        if updated.status != UserStatus::Confirmed {
            return Err(refused(updated.status));
        }
        self.post_confirmation(
            view,
            "PostConfirmation_ConfirmSignUp",
            &updated,
            None,
            passed,
        )
        .await?;
        Ok(updated)
    }

    /// `AdminDisableUser` / `AdminEnableUser`. Disabling also ends the user's sessions and
    /// tokens, as the service revokes them.
    pub async fn admin_set_enabled(
        &self,
        view: &PoolView,
        user: &UserRecord,
        enabled: bool,
    ) -> AuthResult<UserRecord> {
        let now_ms = self.clock.now_ms();
        let updated = self
            .modify_user(&view.pool.id, &user.username, |u| {
                u.enabled = enabled;
                if !enabled {
                    u.tokens_valid_from_ms = Some(now_ms);
                }
            })
            .await?;
        if !enabled {
            self.end_sessions(view, &user.username).await?;
        }
        Ok(updated)
    }

    /// `AdminUserGlobalSignOut`: access tokens issued until now stop working, and every session
    /// and refresh token of the user ends.
    pub async fn admin_global_sign_out(
        &self,
        view: &PoolView,
        user: &UserRecord,
    ) -> AuthResult<()> {
        let now_ms = self.clock.now_ms();
        self.modify_user(&view.pool.id, &user.username, |u| {
            u.tokens_valid_from_ms = Some(now_ms);
        })
        .await?;
        self.end_sessions(view, &user.username).await
    }

    /// `AdminResetUserPassword`: the password stops working (sign-in answers
    /// `PasswordResetRequiredException`) and a reset code goes to the user's verified email or
    /// phone, by the pool's recovery mechanisms.
    pub async fn admin_reset_user_password(
        &self,
        view: &PoolView,
        user: &UserRecord,
        passed: &TriggerInput,
    ) -> AuthResult<()> {
        local_only(user)?;
        let sms = self.mailer.sends_sms();
        let Some(to) = super::delivery::for_recovery(&view.pool.config, user, sms) else {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                super::codes::NO_RECOVERY_ADDRESS,
            ));
        };
        let user = self
            .modify_user(&view.pool.id, &user.username, |u| {
                u.status = UserStatus::ResetRequired;
            })
            .await?;
        let message = super::CodeMessage::new("CustomMessage_ForgotPassword", None, passed);
        let (holder, purpose) = (Holder::User(&user), CodePurpose::Reset);
        self.send_code(view, holder, purpose, Some(&to), message)
            .await
    }

    /// `AdminDeleteUser`: the user and everything of theirs.
    pub async fn admin_delete_user(&self, view: &PoolView, user: &UserRecord) -> AuthResult<()> {
        if !self
            .store
            .delete_user(&view.pool.id, &user.username)
            .await?
        {
            return Err(AuthError::new(
                ErrorKind::UserNotFound,
                "User does not exist.",
            ));
        }
        Ok(())
    }

    async fn end_sessions(&self, view: &PoolView, username: &str) -> AuthResult<()> {
        let pool_id = &view.pool.id;
        self.store.delete_user_sessions(pool_id, username).await?;
        self.store
            .revoke_user_families(pool_id, username, self.clock.now())
            .await?;
        Ok(())
    }
}

/// Checks a new user as the seed's rules for a user entry do (they are Cognito's for
/// `AdminCreateUser` and `SignUp`): the name, the password given, each attribute and value.
pub(super) fn check_new_user(
    config: &UserPoolConfig,
    typed: &str,
    password: Option<&str>,
    attributes: &[AttributeType],
) -> AuthResult<SeedUser> {
    let seed = SeedUser {
        username: typed.to_string(),
        temporary_password: password.map(|p| Secret::new(p.to_string())),
        user_attributes: attributes.to_vec(),
        ..Default::default()
    };
    let mut p = Problems::new("");
    seed.validate(config, &[], &[], &mut p);
    for a in attributes.iter().filter(|a| a.name == "email") {
        p.check(
            lifecycle::looks_like_email(&a.value),
            "user.email",
            "Invalid email address format.",
        );
    }
    for a in attributes.iter().filter(|a| a.name == "phone_number") {
        p.check(
            lifecycle::looks_like_phone(&a.value),
            "user.phone_number",
            "Invalid phone number format.",
        );
    }
    match p.errors.into_iter().next() {
        Some(e) => {
            let kind = match e.kind {
                "InvalidPasswordException" => ErrorKind::InvalidPassword,
                _ => ErrorKind::InvalidParameter,
            };
            Err(AuthError::new(kind, format!("{}: {}", e.path, e.message)))
        }
        None => Ok(seed),
    }
}

/// Federated users have no password to set or reset.
fn local_only(user: &UserRecord) -> AuthResult<()> {
    if user.status == UserStatus::ExternalProvider {
        return Err(AuthError::new(
            ErrorKind::InvalidParameter,
            "The user is an external provider user: it has no password.",
        ));
    }
    Ok(())
}

fn attribute<'a>(attributes: &'a [AttributeType], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.value.as_str())
}

/// Whether the alias `attr` signs this user in: a verified email or phone number, or any
/// preferred username (as `find_user` reads aliases).
pub(super) fn alias_active(attributes: &[AttributeType], attr: &str) -> bool {
    attr == "preferred_username"
        || attribute(attributes, &format!("{attr}_verified")) == Some("true")
}

/// A random password that meets `policy`: at least 12 characters (or the policy's minimum),
/// with a character of every class, in random order.
pub fn temporary_password(policy: &PasswordPolicy) -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"!#%&*+-?^_";
    const ALL: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%&*+-?^_";
    let len = policy.minimum_length.clamp(12, 99) as usize;
    let mut chars: Vec<char> = [UPPER, LOWER, DIGITS, SYMBOLS]
        .iter()
        .flat_map(|class| random_string(class, 1).chars().collect::<Vec<_>>())
        .collect();
    chars.extend(random_string(ALL, len - chars.len()).chars());
    // Fisher–Yates, so the required classes sit anywhere.
    for i in (1..chars.len()).rev() {
        let mut b = [0u8; 4];
        random_bytes(&mut b);
        let j = (u32::from_le_bytes(b) as usize) % (i + 1);
        chars.swap(i, j);
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_passwords_meet_the_policy() {
        let strict = PasswordPolicy {
            minimum_length: 20,
            ..Default::default()
        };
        for policy in [PasswordPolicy::default(), strict] {
            for _ in 0..50 {
                let pw = temporary_password(&policy);
                assert_eq!(policy.check(&pw), Ok(()), "{pw}");
                assert!(pw.chars().count() >= 12);
            }
        }
    }
}
