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
    pub sign_in_policy: Option<SignInPolicy>,
}

/// The first factors a sign-in may use (`Policies.SignInPolicy`); `PASSWORD` always.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SignInPolicy {
    #[serde(default = "password_only")]
    pub allowed_first_auth_factors: Vec<String>,
}

fn password_only() -> Vec<String> {
    vec!["PASSWORD".into()]
}

/// The factors `AllowedFirstAuthFactors` may name.
pub const FIRST_AUTH_FACTORS: [&str; 4] = ["PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"];

/// `SetUserPoolMfaConfig`'s `WebAuthnConfiguration`: the relying party passkeys are made for
/// (by default the pool's domain), and whether authenticators must verify the user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct WebAuthnConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relying_party_id: Option<String>,
    /// `required` or `preferred` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<String>,
    /// `SINGLE_FACTOR` (the default) or `MULTI_FACTOR_WITH_USER_VERIFICATION`: whether a passkey
    /// that verified its user counts as MFA where the pool requires it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor_configuration: Option<String>,
}

impl WebAuthnConfiguration {
    pub fn requires_user_verification(&self) -> bool {
        self.user_verification.as_deref() == Some("required")
    }

    pub fn verified_passkey_is_mfa(&self) -> bool {
        self.factor_configuration.as_deref() == Some("MULTI_FACTOR_WITH_USER_VERIFICATION")
    }
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

impl SchemaAttribute {
    /// Checks a user's value of this attribute against its type and constraints: a `Number` is
    /// an integer within `MinValue`..`MaxValue`, a `String` within `MinLength`..`MaxLength`
    /// characters, a `Boolean` `true` or `false`. The answer says what is wrong.
    pub fn check_value(&self, value: &str) -> Result<(), String> {
        let bound = |constraints: &Option<Value>, key: &str| {
            constraints
                .as_ref()
                .and_then(|c| c.get(key))
                .and_then(|v| match v {
                    Value::String(s) => s.parse::<i64>().ok(),
                    other => other.as_i64(),
                })
        };
        match self.attribute_data_type.as_str() {
            "Number" => {
                let n: i64 = value
                    .parse()
                    .map_err(|_| "Attribute value must be a whole number.".to_string())?;
                let c = &self.number_attribute_constraints;
                if let Some(min) = bound(c, "MinValue")
                    && n < min
                {
                    return Err(format!("Attribute value must be at least {min}."));
                }
                if let Some(max) = bound(c, "MaxValue")
                    && n > max
                {
                    return Err(format!("Attribute value must be at most {max}."));
                }
            }
            "String" => {
                let len = value.chars().count() as i64;
                let c = &self.string_attribute_constraints;
                if let Some(min) = bound(c, "MinLength")
                    && len < min
                {
                    return Err(format!(
                        "Attribute value must be at least {min} characters long."
                    ));
                }
                if let Some(max) = bound(c, "MaxLength")
                    && len > max
                {
                    return Err(format!(
                        "Attribute value must be at most {max} characters long."
                    ));
                }
            }
            "Boolean" if value != "true" && value != "false" => {
                return Err("Attribute value must be true or false.".into());
            }
            _ => {}
        }
        Ok(())
    }

    /// A standard attribute's settings (the pool may require one, or change its constraints),
    /// rather than a custom attribute's.
    pub fn is_standard(&self) -> bool {
        STANDARD_ATTRIBUTES.contains(&self.name.as_str())
    }

    /// A custom attribute's name with its `custom:` prefix (`CreateUserPool` and
    /// `AddCustomAttributes` name them without it; a seed may give it).
    pub fn custom_name(&self) -> String {
        if self.name.starts_with("custom:") {
            self.name.clone()
        } else {
            format!("custom:{}", self.name)
        }
    }

    /// The name users' attributes and `DescribeUserPool` give it: standard ones as they are,
    /// custom ones with `custom:`, developer-only ones with `dev:custom:`.
    pub fn attribute_name(&self) -> String {
        match (self.is_standard(), self.developer_only_attribute) {
            (true, _) => self.name.clone(),
            (false, false) => self.custom_name(),
            (false, true) => format!("dev:{}", self.custom_name()),
        }
    }
}

/// Cognito's default settings of a standard attribute, as `DescribeUserPool` lists them:
/// (type, mutable, required, minimum and maximum length or minimum value).
fn standard_default(name: &str) -> SchemaAttribute {
    let (kind, mutable, required) = match name {
        "sub" => ("String", false, true),
        "email_verified" | "phone_number_verified" => ("Boolean", true, false),
        "updated_at" => ("Number", true, false),
        _ => ("String", true, false),
    };
    let string =
        |min: &str, max: &str| Some(serde_json::json!({"MinLength": min, "MaxLength": max}));
    let (strings, numbers) = match (name, kind) {
        ("sub", _) => (string("1", "2048"), None),
        ("birthdate", _) => (string("10", "10"), None),
        ("identities", _) => (Some(serde_json::json!({})), None),
        (_, "String") => (string("0", "2048"), None),
        (_, "Number") => (None, Some(serde_json::json!({"MinValue": "0"}))),
        _ => (None, None),
    };
    SchemaAttribute {
        name: name.to_string(),
        attribute_data_type: kind.to_string(),
        developer_only_attribute: false,
        mutable,
        required,
        number_attribute_constraints: numbers,
        string_attribute_constraints: strings,
    }
}

/// The most custom attributes a pool can have.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 50;

/// The longest string attribute value.
const MAX_STRING_LENGTH: i64 = 2048;

/// A constraint's value (the API sends numbers as strings), or the refusal naming it.
fn constraint(
    attribute: &str,
    constraints: Option<&Value>,
    member: &str,
) -> Result<Option<i64>, String> {
    match constraints.and_then(|c| c.get(member)) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .or_else(|| v.as_i64())
            .map(Some)
            .ok_or_else(|| format!("user.{attribute}: {member} must be a number.")),
    }
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
    /// `SetUserPoolMfaConfig`'s `SmsMfaConfiguration` (`SmsAuthenticationMessage`,
    /// `SmsConfiguration`): SMS codes are an MFA factor once it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_mfa_configuration: Option<Value>,
    /// `SetUserPoolMfaConfig`'s `EmailMfaConfiguration` (`Message`, `Subject`): codes by email
    /// are an MFA factor once it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_mfa_configuration: Option<Value>,
    /// `SetUserPoolMfaConfig`'s passkey settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_authn_configuration: Option<WebAuthnConfiguration>,
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

    /// The messages of MFA codes (`SetUserPoolMfaConfig`'s shapes): text of the service's
    /// lengths, the code's `{####}` in each message body.
    fn validate_mfa_messages(&self, p: &mut Problems) {
        fn text<'a>(config: &'a Option<Value>, field: &str) -> Option<Option<&'a str>> {
            config
                .as_ref()
                .and_then(|c| c.get(field))
                .map(Value::as_str)
        }
        let mut message =
            |path: &str, value: Option<Option<&str>>, min: usize, max: usize, code: bool| {
                match value {
                    None => {}
                    Some(None) => p.add(path, "must be a string"),
                    Some(Some(s)) => {
                        let n = s.chars().count();
                        p.check(
                            (min..=max).contains(&n),
                            path,
                            format!("must be {min} to {max} characters"),
                        );
                        p.check(
                            !code || s.contains("{####}"),
                            path,
                            "must contain the code placeholder {####}",
                        );
                    }
                }
            };
        let sms = &self.sms_mfa_configuration;
        let email = &self.email_mfa_configuration;
        message(
            "SmsMfaConfiguration.SmsAuthenticationMessage",
            text(sms, "SmsAuthenticationMessage"),
            6,
            140,
            true,
        );
        message(
            "EmailMfaConfiguration.Message",
            text(email, "Message"),
            6,
            20_000,
            true,
        );
        message(
            "EmailMfaConfiguration.Subject",
            text(email, "Subject"),
            1,
            140,
            false,
        );
        for (path, config) in [
            ("SmsMfaConfiguration", sms),
            ("EmailMfaConfiguration", email),
        ] {
            p.check(
                config.as_ref().is_none_or(Value::is_object),
                path,
                "must be an object",
            );
        }
        let sns = sms.as_ref().and_then(|c| c.get("SmsConfiguration"));
        p.check(
            sns.is_none_or(|c| c.get("SnsCallerArn").is_some_and(Value::is_string)),
            "SmsMfaConfiguration.SmsConfiguration.SnsCallerArn",
            "is required",
        );
    }

    /// The MFA factors the pool offers: TOTP while MFA is on, SMS and email codes once
    /// configured (`SetUserPoolMfaConfig`), in Cognito's order.
    pub fn offered_mfa_factors(&self) -> Vec<crate::model::MfaFactor> {
        use crate::model::MfaFactor;
        if self.mfa_configuration == MfaConfiguration::Off {
            return Vec::new();
        }
        let mut factors = Vec::new();
        if self.sms_mfa_configuration.is_some() {
            factors.push(MfaFactor::Sms);
        }
        factors.push(MfaFactor::SoftwareToken);
        if self.email_mfa_configuration.is_some() {
            factors.push(MfaFactor::Email);
        }
        factors
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

    /// True when `name` is a standard attribute or a custom attribute of this pool's schema
    /// (`custom:x`, or `dev:custom:x` for a developer-only one).
    pub fn has_attribute(&self, name: &str) -> bool {
        STANDARD_ATTRIBUTES.contains(&name) || self.custom_attribute(name).is_some()
    }

    /// The custom attribute a user attribute's name refers to (`custom:x`; a developer-only one
    /// only as `dev:custom:x`, so it is never stored under a name tokens release).
    pub fn custom_attribute(&self, name: &str) -> Option<&SchemaAttribute> {
        self.schema
            .iter()
            .find(|a| !a.is_standard() && a.attribute_name() == name)
    }

    /// The schema's settings of attribute `name`, if the pool's schema names it.
    pub fn schema_entry(&self, name: &str) -> Option<&SchemaAttribute> {
        self.schema
            .iter()
            .find(|a| a.is_standard() && a.name == name)
            .or_else(|| self.custom_attribute(name))
    }

    /// Schema attributes marked required (standard ones by name, custom ones as `custom:x`).
    pub fn required_attributes(&self) -> Vec<String> {
        self.schema
            .iter()
            .filter(|a| a.required)
            .map(|a| {
                if a.is_standard() {
                    a.name.clone()
                } else {
                    a.custom_name()
                }
            })
            .collect()
    }

    /// `DescribeUserPool`'s `SchemaAttributes`: every standard attribute with Cognito's
    /// defaults (or the settings the pool gave it), then the custom ones as `custom:x` (or
    /// `dev:custom:x`).
    pub fn schema_attributes(&self) -> Vec<SchemaAttribute> {
        let mut out: Vec<SchemaAttribute> = STANDARD_ATTRIBUTES
            .iter()
            .map(|name| {
                let default = standard_default(name);
                match self.schema.iter().find(|a| a.name == *name) {
                    Some(given) => SchemaAttribute {
                        developer_only_attribute: given.developer_only_attribute,
                        mutable: given.mutable,
                        required: given.required,
                        number_attribute_constraints: given
                            .number_attribute_constraints
                            .clone()
                            .or(default.number_attribute_constraints.clone()),
                        string_attribute_constraints: given
                            .string_attribute_constraints
                            .clone()
                            .or(default.string_attribute_constraints.clone()),
                        ..default
                    },
                    None => default,
                }
            })
            .collect();
        out.extend(
            self.schema
                .iter()
                .filter(|a| !a.is_standard())
                .map(|a| SchemaAttribute {
                    name: a.attribute_name(),
                    ..a.clone()
                }),
        );
        out
    }

    /// `AddCustomAttributes` (Cognito's rules): each name is given without its prefix and
    /// becomes `custom:{name}` (`dev:custom:{name}` when developer-only); a name the pool has
    /// already is refused, as is a required one; string lengths are at most 2,048 and
    /// minimums are not above maximums; a pool has at most 50 custom attributes. Every problem
    /// is an `InvalidParameterException` with this message, and leaves the schema as it was.
    pub fn add_custom_attributes(&mut self, added: &[SchemaAttribute]) -> Result<(), String> {
        let mut schema = self.schema.clone();
        for a in added {
            let stored = SchemaAttribute {
                name: format!("custom:{}", a.name),
                ..a.clone()
            };
            let full = stored.attribute_name();
            if schema
                .iter()
                .any(|b| !b.is_standard() && b.custom_name() == stored.name)
            {
                return Err(format!(
                    "{full}: Existing attribute already has name {full}."
                ));
            }
            if a.required {
                return Err("Required custom attributes are not supported currently.".into());
            }
            let (strings, numbers) = match a.attribute_data_type.as_str() {
                "String" => {
                    let given = a.string_attribute_constraints.as_ref();
                    let min = constraint(&full, given, "MinLength")?;
                    let max = constraint(&full, given, "MaxLength")?;
                    if min.into_iter().chain(max).any(|n| n > MAX_STRING_LENGTH) {
                        return Err(format!(
                            "user.{full}: String attributes cannot have a length of more than {MAX_STRING_LENGTH}"
                        ));
                    }
                    if min.into_iter().chain(max).any(|n| n < 0) {
                        return Err(format!("user.{full}: Length cannot be negative."));
                    }
                    if let (Some(min), Some(max)) = (min, max)
                        && min > max
                    {
                        return Err(format!(
                            "user.{full}: Max length cannot be less than min length."
                        ));
                    }
                    (
                        Some(given.cloned().unwrap_or_else(|| serde_json::json!({}))),
                        None,
                    )
                }
                "Number" => {
                    let given = a.number_attribute_constraints.as_ref();
                    let min = constraint(&full, given, "MinValue")?;
                    let max = constraint(&full, given, "MaxValue")?;
                    if let (Some(min), Some(max)) = (min, max)
                        && min > max
                    {
                        return Err(format!(
                            "user.{full}: Max value cannot be less than min value."
                        ));
                    }
                    (
                        None,
                        Some(given.cloned().unwrap_or_else(|| serde_json::json!({}))),
                    )
                }
                _ => (None, None),
            };
            schema.push(SchemaAttribute {
                string_attribute_constraints: strings,
                number_attribute_constraints: numbers,
                ..stored
            });
        }
        if schema.iter().filter(|a| !a.is_standard()).count() > MAX_CUSTOM_ATTRIBUTES {
            return Err(format!(
                "Too many custom attributes: a user pool can have at most {MAX_CUSTOM_ATTRIBUTES}."
            ));
        }
        self.schema = schema;
        Ok(())
    }

    fn custom_attribute_count(&self) -> usize {
        self.schema.iter().filter(|a| !a.is_standard()).count()
    }

    /// Cognito's `CreateUserPool` rules (spec §2.1).
    /// Whether `USER_AUTH` sign-ins may begin with `factor` (`PASSWORD`, `EMAIL_OTP`, …).
    pub fn allows_first_factor(&self, factor: &str) -> bool {
        match &self.policies.sign_in_policy {
            Some(policy) => policy
                .allowed_first_auth_factors
                .iter()
                .any(|f| f == factor),
            None => factor == "PASSWORD",
        }
    }

    /// The pool's passkey settings (the defaults when never set).
    pub fn web_authn(&self) -> WebAuthnConfiguration {
        self.web_authn_configuration.clone().unwrap_or_default()
    }

    fn validate_sign_in_policy(&self, p: &mut Problems) {
        if let Some(policy) = &self.policies.sign_in_policy {
            let factors = &policy.allowed_first_auth_factors;
            let path = "Policies.SignInPolicy.AllowedFirstAuthFactors";
            for f in factors {
                p.check(
                    FIRST_AUTH_FACTORS.contains(&f.as_str()),
                    path,
                    format!("{f} is not a first factor (PASSWORD, EMAIL_OTP, SMS_OTP, WEB_AUTHN)"),
                );
            }
            p.check(
                factors.iter().any(|f| f == "PASSWORD"),
                path,
                "must include PASSWORD",
            );
        }
        if let Some(w) = &self.web_authn_configuration {
            p.within("WebAuthnConfiguration", |p| {
                if let Some(rp) = &w.relying_party_id {
                    p.length("RelyingPartyId", rp, 1, 127);
                    p.check(
                        crate::auth::passkeys::is_rp_id(rp),
                        "RelyingPartyId",
                        "must be a domain name (no scheme, port or path)",
                    );
                }
                if let Some(v) = &w.user_verification {
                    p.check(
                        v == "required" || v == "preferred",
                        "UserVerification",
                        "must be required or preferred",
                    );
                }
                if let Some(f) = &w.factor_configuration {
                    p.check(
                        f == "SINGLE_FACTOR" || f == "MULTI_FACTOR_WITH_USER_VERIFICATION",
                        "FactorConfiguration",
                        "must be SINGLE_FACTOR or MULTI_FACTOR_WITH_USER_VERIFICATION",
                    );
                }
            });
        }
    }

    pub fn validate(&self, p: &mut Problems) {
        p.length("PoolName", &self.pool_name, 1, 128);
        if let Some(lambda) = &self.lambda_config {
            p.within("LambdaConfig", |p| crate::triggers::check_config(lambda, p));
        }
        self.validate_mfa_messages(p);
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
        p.check(
            self.custom_attribute_count() <= MAX_CUSTOM_ATTRIBUTES,
            "Schema",
            format!("at most {MAX_CUSTOM_ATTRIBUTES} custom attributes"),
        );
        for (i, a) in self.schema.iter().enumerate() {
            p.within(&format!("Schema[{i}]"), |p| {
                // Custom names are limited without their prefix (`custom:` is added to them).
                let name = a.name.strip_prefix("custom:").unwrap_or(&a.name);
                p.length("Name", name, 1, 20);
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
        self.validate_sign_in_policy(p);
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attribute(value: Value) -> SchemaAttribute {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn values_keep_to_their_attributes_type_and_constraints() {
        let attr = |kind: &str, numbers: Option<Value>, strings: Option<Value>| SchemaAttribute {
            name: "x".into(),
            attribute_data_type: kind.into(),
            developer_only_attribute: false,
            mutable: true,
            required: false,
            number_attribute_constraints: numbers,
            string_attribute_constraints: strings,
        };
        let level = attr(
            "Number",
            Some(serde_json::json!({"MinValue": "0", "MaxValue": "10"})),
            None,
        );
        assert!(level.check_value("7").is_ok());
        assert!(level.check_value("11").is_err());
        assert!(level.check_value("-1").is_err());
        assert!(level.check_value("2.5").is_err());
        let team = attr(
            "String",
            None,
            Some(serde_json::json!({"MinLength": "2", "MaxLength": "3"})),
        );
        assert!(team.check_value("ab").is_ok());
        assert!(team.check_value("a").is_err());
        assert!(team.check_value("abcd").is_err());
        assert!(team.check_value("äöü").is_ok(), "characters, not bytes");
        let flag = attr("Boolean", None, None);
        assert!(flag.check_value("true").is_ok() && flag.check_value("yes").is_err());
        assert!(attr("String", None, None).check_value("anything").is_ok());
    }

    #[test]
    fn custom_attributes_are_added_by_cognitos_rules() {
        let mut pool = UserPoolConfig {
            pool_name: "p".into(),
            schema: vec![attribute(json!({"Name": "email", "Required": true}))],
            ..Default::default()
        };
        pool.add_custom_attributes(&[
            attribute(json!({"Name": "team"})),
            attribute(json!({"Name": "key", "DeveloperOnlyAttribute": true})),
        ])
        .unwrap();
        assert!(pool.has_attribute("custom:team") && pool.has_attribute("dev:custom:key"));
        assert!(!pool.has_attribute("team") && !pool.has_attribute("dev:custom:team"));
        assert_eq!(
            pool.add_custom_attributes(&[attribute(json!({"Name": "team"}))]),
            Err("custom:team: Existing attribute already has name custom:team.".into())
        );
        let mut p = Problems::new("");
        pool.validate(&mut p);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let listed = pool.schema_attributes();
        let names: Vec<&str> = listed.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names[..2], ["sub", "name"]);
        assert_eq!(names[names.len() - 2..], ["custom:team", "dev:custom:key"]);
        let email = listed.iter().find(|a| a.name == "email").unwrap();
        assert!(email.required && email.mutable);
        assert_eq!(
            email.string_attribute_constraints,
            Some(json!({"MinLength": "0", "MaxLength": "2048"}))
        );
        assert_eq!(
            listed[names.len() - 2].string_attribute_constraints,
            Some(json!({}))
        );
        // Fifty at most.
        let many: Vec<SchemaAttribute> = (0..48)
            .map(|i| attribute(json!({"Name": format!("a{i}")})))
            .collect();
        pool.add_custom_attributes(&many).unwrap();
        let before = pool.clone();
        assert!(
            pool.add_custom_attributes(&[attribute(json!({"Name": "last"}))])
                .is_err()
        );
        assert_eq!(pool, before, "a refused request changes nothing");
    }
}
