//! Users of a pool: their status and attributes, and the seed's user entry.

use serde::{Deserialize, Serialize};

use super::AttributeType;
use super::UserPoolConfig;
use super::validate::Problems;

/// Cognito's user status values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    Unconfirmed,
    Confirmed,
    ExternalProvider,
    ResetRequired,
    ForceChangePassword,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Unconfirmed => "UNCONFIRMED",
            UserStatus::Confirmed => "CONFIRMED",
            UserStatus::ExternalProvider => "EXTERNAL_PROVIDER",
            UserStatus::ResetRequired => "RESET_REQUIRED",
            UserStatus::ForceChangePassword => "FORCE_CHANGE_PASSWORD",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

/// A user as the seed file gives it: Cognito's `AdminCreateUser` names, with a permanent
/// `Password` and the groups the user belongs to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeedUser {
    pub username: String,
    #[serde(default)]
    pub password: Option<super::Secret>,
    /// A temporary password: the user must choose a new one at first sign-in.
    #[serde(default)]
    pub temporary_password: Option<super::Secret>,
    #[serde(default)]
    pub user_attributes: Vec<AttributeType>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Outside identities that sign in as this user (`AdminLinkProviderForUser`'s `SourceUser`).
    #[serde(default)]
    pub linked_providers: Vec<ProviderUserIdentifier>,
}

/// Cognito's `ProviderUserIdentifierType`: an identity at an outside provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ProviderUserIdentifier {
    pub provider_name: String,
    #[serde(default = "cognito_subject")]
    pub provider_attribute_name: String,
    pub provider_attribute_value: String,
}

fn cognito_subject() -> String {
    "Cognito_Subject".into()
}

fn enabled() -> bool {
    true
}

impl SeedUser {
    /// In a pool with `UsernameAttributes`, the attribute the given Username is (an email or a
    /// phone number); Cognito then stores it as that attribute and names the user by its `sub`.
    pub fn username_attribute(&self, pool: &UserPoolConfig) -> Option<&'static str> {
        let allows = |a: &str| pool.username_attributes.iter().any(|x| x == a);
        let u = &self.username;
        if allows("email") && u.contains('@') && !u.starts_with('@') && !u.ends_with('@') {
            Some("email")
        } else if allows("phone_number")
            && u.starts_with('+')
            && u.len() > 2
            && u[1..].chars().all(|c| c.is_ascii_digit())
        {
            Some("phone_number")
        } else {
            None
        }
    }

    /// `providers` are the pool's outside identity providers (name, type).
    pub fn validate(
        &self,
        pool: &UserPoolConfig,
        groups: &[String],
        providers: &[(String, String)],
        p: &mut Problems,
    ) {
        p.check(
            self.linked_providers.len() <= 5,
            "LinkedProviders",
            "at most 5 linked identities per user",
        );
        for (i, l) in self.linked_providers.iter().enumerate() {
            let field = format!("LinkedProviders[{i}]");
            match providers.iter().find(|(name, _)| *name == l.provider_name) {
                None => p.add(
                    &field,
                    format!(
                        "identity provider '{}' does not exist in the pool",
                        l.provider_name
                    ),
                ),
                Some((_, kind))
                    if kind != "SAML" && l.provider_attribute_name != "Cognito_Subject" =>
                {
                    p.add(
                        &field,
                        "OIDC and social identities link by ProviderAttributeName Cognito_Subject",
                    )
                }
                Some(_) => {}
            }
            p.check(
                !l.provider_attribute_value.is_empty(),
                &field,
                "ProviderAttributeValue is required",
            );
        }
        self.validate_fields(pool, groups, p);
    }

    fn validate_fields(&self, pool: &UserPoolConfig, groups: &[String], p: &mut Problems) {
        p.length("Username", &self.username, 1, 128);
        p.check(
            self.username
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control()),
            "Username",
            "must not contain whitespace",
        );
        p.check(
            !(self.password.is_some() && self.temporary_password.is_some()),
            "Password",
            "give Password or TemporaryPassword, not both",
        );
        let policy = &pool.policies.password_policy;
        for (field, pw) in [
            ("Password", &self.password),
            ("TemporaryPassword", &self.temporary_password),
        ] {
            if let Some(pw) = pw
                && let Err(e) = policy.check(pw.expose())
            {
                p.add_kind(field, "InvalidPasswordException", e);
            }
        }
        let mut seen = Vec::new();
        for (i, a) in self.user_attributes.iter().enumerate() {
            let field = format!("UserAttributes[{i}]");
            p.check(
                pool.has_attribute(&a.name),
                &field,
                format!("attribute '{}' is not in the pool's schema", a.name),
            );
            p.check(
                a.name != "sub" && a.name != "identities",
                &field,
                format!("'{}' cannot be set", a.name),
            );
            p.check(
                !seen.contains(&a.name),
                &field,
                format!("attribute '{}' is given twice", a.name),
            );
            p.length(&field, &a.value, 0, 2048);
            if let Some(Err(e)) = pool
                .custom_attribute(&a.name)
                .map(|s| s.check_value(&a.value))
            {
                p.add(&field, format!("{}: {e}", a.name));
            }
            seen.push(a.name.clone());
        }
        for required in pool.required_attributes() {
            p.check(
                seen.contains(&required),
                "UserAttributes",
                format!("{required}: The attribute is required"),
            );
        }
        if !pool.username_attributes.is_empty() {
            p.check(
                self.username_attribute(pool).is_some(),
                "Username",
                format!(
                    "the pool signs in by {}: Username must be one",
                    pool.username_attributes.join(" or ")
                ),
            );
        }
        for (i, g) in self.groups.iter().enumerate() {
            p.check(
                groups.contains(g),
                &format!("Groups[{i}]"),
                format!("group '{g}' does not exist in the pool"),
            );
        }
    }
}

/// An MFA factor, as `UserMFASettingList` and `PreferredMfaSetting` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MfaFactor {
    #[serde(rename = "SMS_MFA")]
    Sms,
    #[serde(rename = "SOFTWARE_TOKEN_MFA")]
    SoftwareToken,
    #[serde(rename = "EMAIL_OTP")]
    Email,
}

impl MfaFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "SMS_MFA",
            Self::SoftwareToken => "SOFTWARE_TOKEN_MFA",
            Self::Email => "EMAIL_OTP",
        }
    }
}

/// The MFA factors a user has turned on (in Cognito's order: SMS, TOTP, email) and the one
/// they prefer, which is always one of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaPreference {
    #[serde(default)]
    pub enabled: Vec<MfaFactor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred: Option<MfaFactor>,
}

impl MfaPreference {
    pub fn is_enabled(&self, factor: MfaFactor) -> bool {
        self.enabled.contains(&factor)
    }

    /// Turns `factor` on or off and, when `preferred`, makes it the preferred one (a factor
    /// turned off, or no longer preferred, leaves no preference behind).
    pub fn set(&mut self, factor: MfaFactor, enabled: bool, preferred: bool) {
        self.enabled.retain(|f| *f != factor);
        if enabled {
            self.enabled.push(factor);
            self.enabled.sort();
        }
        if enabled && preferred {
            self.preferred = Some(factor);
        } else if self.preferred == Some(factor) {
            self.preferred = None;
        }
    }
}
