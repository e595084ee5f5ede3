//! `CreateUserPool`: the pool's own settings (spec §2.1).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::{Problems, is_name, is_printable_word};
use crate::ids;

/// Which of Cognito's two issuer forms a pool's tokens carry (spec §1.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum IssuerType {
    #[default]
    Original,
    Updated,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IssuerConfiguration {
    #[serde(default)]
    pub r#type: IssuerType,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MfaConfiguration {
    #[default]
    Off,
    On,
    Optional,
}

/// A pool's password policy. When the pool gives none, Cognito's default applies (eight
/// characters with every class); a given policy requires only the classes it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PasswordPolicy {
    #[serde(default = "default_min_length")]
    pub minimum_length: i64,
    #[serde(default)]
    pub require_uppercase: bool,
    #[serde(default)]
    pub require_lowercase: bool,
    #[serde(default)]
    pub require_numbers: bool,
    #[serde(default)]
    pub require_symbols: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_history_size: Option<i64>,
    #[serde(default = "default_temporary_days")]
    pub temporary_password_validity_days: i64,
}

fn default_min_length() -> i64 {
    8
}
fn default_temporary_days() -> i64 {
    7
}
fn yes() -> bool {
    true
}

impl Default for PasswordPolicy {
    /// Cognito's default policy: 8 characters with upper, lower, number and symbol.
    fn default() -> Self {
        Self {
            minimum_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            password_history_size: None,
            temporary_password_validity_days: 7,
        }
    }
}

/// The symbols Cognito accepts as "special characters" in passwords.
const PASSWORD_SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

impl PasswordPolicy {
    /// Checks a password against this policy; returns the first rule it breaks.
    pub fn check(&self, password: &str) -> Result<(), String> {
        let n = password.chars().count() as i64;
        if n < self.minimum_length {
            return Err(format!(
                "Password not long enough: it must have at least {} characters",
                self.minimum_length
            ));
        }
        if n > 256 {
            return Err("Password is longer than 256 characters".into());
        }
        let has = |f: fn(char) -> bool| password.chars().any(f);
        if self.require_uppercase && !has(|c| c.is_uppercase()) {
            return Err("Password must have uppercase characters".into());
        }
        if self.require_lowercase && !has(|c| c.is_lowercase()) {
            return Err("Password must have lowercase characters".into());
        }
        if self.require_numbers && !has(|c| c.is_ascii_digit()) {
            return Err("Password must have numeric characters".into());
        }
        if self.require_symbols && !has(|c| PASSWORD_SYMBOLS.contains(c)) {
            return Err("Password must have symbol characters".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UserPoolPolicy {
    #[serde(default)]
    pub password_policy: PasswordPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_policy: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SchemaAttribute {
    pub name: String,
    #[serde(default = "string_type")]
    pub attribute_data_type: String,
    #[serde(default)]
    pub developer_only_attribute: bool,
    #[serde(default = "yes")]
    pub mutable: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_attribute_constraints: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_attribute_constraints: Option<Value>,
}

fn string_type() -> String {
    "String".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UsernameConfiguration {
    pub case_sensitive: bool,
}

/// The standard OIDC attributes every pool has (Cognito's default schema).
pub const STANDARD_ATTRIBUTES: &[&str] = &[
    "sub",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
    "identities",
];

/// `CreateUserPool` request fields, plus the seed's optional `Id`. Fields whose contents no
/// endpoint reads yet are kept as raw JSON so that they round-trip unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UserPoolConfig {
    pub pool_name: String,
    #[serde(default)]
    pub policies: UserPoolPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protection: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_config: Option<Value>,
    #[serde(default)]
    pub auto_verified_attributes: Vec<String>,
    #[serde(default)]
    pub alias_attributes: Vec<String>,
    #[serde(default)]
    pub username_attributes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_verification_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verification_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verification_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_message_template: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_authentication_message: Option<String>,
    #[serde(default)]
    pub mfa_configuration: MfaConfiguration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_attribute_update_settings: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool_tags: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_create_user_config: Option<Value>,
    #[serde(default)]
    pub schema: Vec<SchemaAttribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool_add_ons: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_configuration: Option<UsernameConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_recovery_setting: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_configuration: Option<Value>,
    #[serde(default)]
    pub issuer_configuration: IssuerConfiguration,
}

impl UserPoolConfig {
    /// `AdminCreateUserConfig.AllowAdminCreateUserOnly`: only administrators create users
    /// (self sign-up is refused).
    pub fn admin_create_user_only(&self) -> bool {
        self.admin_create_user_config
            .as_ref()
            .and_then(|c| c.get("AllowAdminCreateUserOnly"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }

    /// Whether users sign in with their email as username (`UsernameAttributes: [email]`).
    pub fn signs_in_by_email(&self) -> bool {
        self.username_attributes.iter().any(|a| a == "email")
    }

    /// Usernames are case-sensitive unless the pool says otherwise: the API's default when
    /// `UsernameConfiguration` is omitted (the console proposes case-insensitive).
    pub fn case_sensitive(&self) -> bool {
        self.username_configuration
            .as_ref()
            .is_none_or(|u| u.case_sensitive)
    }

    /// True when `name` is a standard attribute or a `custom:` attribute of this pool's schema.
    pub fn has_attribute(&self, name: &str) -> bool {
        STANDARD_ATTRIBUTES.contains(&name)
            || name.strip_prefix("custom:").is_some_and(|short| {
                self.schema
                    .iter()
                    .any(|a| a.name == short || a.name == name)
            })
    }

    /// Schema attributes marked required (standard ones by name, custom ones as `custom:x`).
    pub fn required_attributes(&self) -> Vec<String> {
        self.schema
            .iter()
            .filter(|a| a.required)
            .map(|a| {
                if STANDARD_ATTRIBUTES.contains(&a.name.as_str()) {
                    a.name.clone()
                } else {
                    format!("custom:{}", a.name.trim_start_matches("custom:"))
                }
            })
            .collect()
    }

    /// Cognito's `CreateUserPool` rules (spec §2.1).
    pub fn validate(&self, p: &mut Problems) {
        p.length("PoolName", &self.pool_name, 1, 128);
        p.check(
            is_name(&self.pool_name),
            "PoolName",
            "must match [\\w\\s+=,.@-]+",
        );
        for (i, a) in self.username_attributes.iter().enumerate() {
            p.check(
                a == "email" || a == "phone_number",
                &format!("UsernameAttributes[{i}]"),
                format!("'{a}' is not email or phone_number"),
            );
        }
        for (i, a) in self.alias_attributes.iter().enumerate() {
            p.check(
                ["email", "phone_number", "preferred_username"].contains(&a.as_str()),
                &format!("AliasAttributes[{i}]"),
                format!("'{a}' is not email, phone_number or preferred_username"),
            );
        }
        p.check(
            self.username_attributes.is_empty() || self.alias_attributes.is_empty(),
            "AliasAttributes",
            "UsernameAttributes and AliasAttributes cannot both be set",
        );
        for (i, a) in self.auto_verified_attributes.iter().enumerate() {
            p.check(
                a == "email" || a == "phone_number",
                &format!("AutoVerifiedAttributes[{i}]"),
                format!("'{a}' is not email or phone_number"),
            );
        }
        let pp = &self.policies.password_policy;
        p.within("Policies.PasswordPolicy", |p| {
            p.range("MinimumLength", pp.minimum_length, 6, 99);
            p.range(
                "TemporaryPasswordValidityDays",
                pp.temporary_password_validity_days,
                0,
                365,
            );
            if let Some(h) = pp.password_history_size {
                p.range("PasswordHistorySize", h, 0, 24);
            }
        });
        p.check(self.schema.len() <= 50, "Schema", "at most 50 attributes");
        for (i, a) in self.schema.iter().enumerate() {
            p.within(&format!("Schema[{i}]"), |p| {
                p.length("Name", &a.name, 1, 20);
                p.check(
                    is_printable_word(&a.name),
                    "Name",
                    "must be printable without spaces",
                );
                p.check(
                    ["String", "Number", "DateTime", "Boolean"]
                        .contains(&a.attribute_data_type.as_str()),
                    "AttributeDataType",
                    "must be String, Number, DateTime or Boolean",
                );
            });
        }
        if let Some(d) = &self.deletion_protection {
            p.check(
                d == "ACTIVE" || d == "INACTIVE",
                "DeletionProtection",
                "must be ACTIVE or INACTIVE",
            );
        }
        if let Some(t) = &self.user_pool_tier {
            p.check(
                ["LITE", "ESSENTIALS", "PLUS"].contains(&t.as_str()),
                "UserPoolTier",
                "must be LITE, ESSENTIALS or PLUS",
            );
        }
    }
}

/// Checks a seed-supplied pool ID (spec §1.1).
pub fn validate_pool_id(id: &str, p: &mut Problems) {
    p.check(
        ids::pool_region(id).is_some(),
        "Id",
        format!("'{id}' does not match [\\w-]+_[0-9a-zA-Z]+ (1–55 characters)"),
    );
}
