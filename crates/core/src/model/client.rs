//! `CreateUserPoolClient`: an app client and the rules that bind its settings (spec §2.2).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::IdentityProviderConfig;
use super::validate::{Problems, is_name};
use crate::ids;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    pub fn seconds(self) -> i64 {
        match self {
            TimeUnit::Seconds => 1,
            TimeUnit::Minutes => 60,
            TimeUnit::Hours => 3600,
            TimeUnit::Days => 86400,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TokenValidityUnits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<TimeUnit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<TimeUnit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<TimeUnit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RefreshTokenRotation {
    pub feature: String,
    #[serde(default)]
    pub retry_grace_period_seconds: i64,
}

/// `CreateUserPoolClient` request fields, plus the seed's optional `ClientId`. `ClientSecret`
/// is accepted on input and never kept here: the client record keeps it sealed
/// (`client_secret`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ClientConfig {
    pub client_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default)]
    pub generate_secret: bool,
    #[serde(default, skip_serializing)]
    pub client_secret: Option<super::Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_validity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_validity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_validity: Option<i64>,
    #[serde(default)]
    pub token_validity_units: TokenValidityUnits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_attributes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_attributes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit_auth_flows: Option<Vec<String>>,
    #[serde(default)]
    pub supported_identity_providers: Vec<String>,
    #[serde(default, rename = "CallbackURLs")]
    pub callback_urls: Vec<String>,
    #[serde(default, rename = "LogoutURLs")]
    pub logout_urls: Vec<String>,
    #[serde(
        default,
        rename = "DefaultRedirectURI",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_redirect_uri: Option<String>,
    #[serde(default, rename = "AllowedOAuthFlows")]
    pub allowed_oauth_flows: Vec<String>,
    #[serde(default, rename = "AllowedOAuthScopes")]
    pub allowed_oauth_scopes: Vec<String>,
    #[serde(default, rename = "AllowedOAuthFlowsUserPoolClient")]
    pub allowed_oauth_flows_user_pool_client: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analytics_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prevent_user_existence_errors: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_token_revocation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_propagate_additional_user_context_data: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_session_validity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_rotation: Option<RefreshTokenRotation>,
}

/// The scopes any client may be allowed without a resource server (spec §3.1).
pub const STANDARD_SCOPES: &[&str] = &[
    "openid",
    "email",
    "phone",
    "profile",
    "aws.cognito.signin.user.admin",
];

const OAUTH_FLOWS: &[&str] = &["code", "implicit", "client_credentials"];
const AUTH_FLOWS: &[&str] = &[
    "ALLOW_USER_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
];
const LEGACY_AUTH_FLOWS: &[&str] = &[
    "ADMIN_NO_SRP_AUTH",
    "CUSTOM_AUTH_FLOW_ONLY",
    "USER_PASSWORD_AUTH",
];

impl ClientConfig {
    /// A client is confidential when it has (or will be given) a secret.
    pub fn has_secret(&self) -> bool {
        self.generate_secret || self.client_secret.is_some()
    }

    fn validity(&self, value: Option<i64>, unit: Option<TimeUnit>, default: i64) -> i64 {
        match value {
            Some(v) if v > 0 => v
                .checked_mul(unit.map_or(1, TimeUnit::seconds))
                .unwrap_or(i64::MAX),
            _ => default,
        }
    }

    /// Access-token lifetime in seconds (default one hour; unit default hours).
    pub fn access_token_seconds(&self) -> i64 {
        let unit = self
            .token_validity_units
            .access_token
            .or(Some(TimeUnit::Hours));
        self.validity(self.access_token_validity, unit, 3600)
    }

    /// ID-token lifetime in seconds (default one hour; unit default hours).
    pub fn id_token_seconds(&self) -> i64 {
        let unit = self.token_validity_units.id_token.or(Some(TimeUnit::Hours));
        self.validity(self.id_token_validity, unit, 3600)
    }

    /// Refresh-token lifetime in seconds (default 30 days; unit default days; 0 = default).
    pub fn refresh_token_seconds(&self) -> i64 {
        let unit = self
            .token_validity_units
            .refresh_token
            .or(Some(TimeUnit::Days));
        self.validity(self.refresh_token_validity, unit, 30 * 86400)
    }

    /// Whether the client signs users in through the API with `flow` (an `ALLOW_*` name of
    /// `ExplicitAuthFlows`). Without the setting: SRP, refresh and custom, Cognito's default.
    /// The legacy values name the password flows they allow; refresh and custom came with
    /// them, and SRP unless the client is `CUSTOM_AUTH_FLOW_ONLY`.
    pub fn allows_auth_flow(&self, flow: &str) -> bool {
        let flows: &[String] = self.explicit_auth_flows.as_deref().unwrap_or(&[]);
        if flows.is_empty() {
            return matches!(
                flow,
                "ALLOW_USER_SRP_AUTH" | "ALLOW_REFRESH_TOKEN_AUTH" | "ALLOW_CUSTOM_AUTH"
            );
        }
        let has = |f: &str| flows.iter().any(|x| x == f);
        if flows
            .iter()
            .any(|f| LEGACY_AUTH_FLOWS.contains(&f.as_str()))
        {
            return match flow {
                "ALLOW_USER_PASSWORD_AUTH" => has("USER_PASSWORD_AUTH"),
                "ALLOW_ADMIN_USER_PASSWORD_AUTH" => has("ADMIN_NO_SRP_AUTH"),
                "ALLOW_CUSTOM_AUTH" | "ALLOW_REFRESH_TOKEN_AUTH" => true,
                "ALLOW_USER_SRP_AUTH" => !has("CUSTOM_AUTH_FLOW_ONLY"),
                _ => false,
            };
        }
        has(flow)
    }

    /// Token revocation is on unless the client turned it off (new clients default to on).
    pub fn token_revocation_enabled(&self) -> bool {
        self.enable_token_revocation.unwrap_or(true)
    }

    /// The rules on `SupportedIdentityProviders` against the pool's `providers`: each exists,
    /// and an IdP-initiated SAML provider stands only beside other SAML providers.
    pub fn check_providers(&self, providers: &[&IdentityProviderConfig], p: &mut Problems) {
        let listed: Vec<Option<&&IdentityProviderConfig>> = self
            .supported_identity_providers
            .iter()
            .map(|name| providers.iter().find(|x| &x.provider_name == name))
            .collect();
        for (i, (name, found)) in self
            .supported_identity_providers
            .iter()
            .zip(&listed)
            .enumerate()
        {
            p.check(
                name == "COGNITO" || found.is_some(),
                &format!("SupportedIdentityProviders[{i}]"),
                format!("identity provider '{name}' does not exist in the pool"),
            );
        }
        // An IdP-initiated SAML response names no client, so a client that accepts one must
        // not also sign users in any other way (Cognito's SAML IdP-initiated sign-in rules).
        let idp_initiated = listed.iter().flatten().any(|x| x.is_idp_initiated());
        let other_than_saml = listed
            .iter()
            .any(|x| !x.is_some_and(|x| x.provider_type == "SAML"));
        p.check(
            !(idp_initiated && other_than_saml),
            "SupportedIdentityProviders",
            "a client with an IdP-initiated SAML provider cannot list COGNITO or non-SAML providers",
        );
    }

    /// Cognito's `CreateUserPoolClient` rules. `custom_scopes` lists the `{rs}/{scope}` strings
    /// that exist in the pool; `providers` the pool's identity providers.
    pub fn validate(
        &self,
        custom_scopes: &[String],
        providers: &[&IdentityProviderConfig],
        p: &mut Problems,
    ) {
        p.length("ClientName", &self.client_name, 1, 128);
        p.check(
            is_name(&self.client_name),
            "ClientName",
            "must match [\\w\\s+=,.@-]+",
        );
        if let Some(id) = &self.client_id {
            p.length("ClientId", id, 1, 128);
            p.check(ids::is_client_token(id), "ClientId", "must match [\\w+]+");
        }
        if let Some(s) = self.client_secret.as_ref().map(super::Secret::expose) {
            p.length("ClientSecret", s, 24, 64);
            p.check(
                ids::is_client_token(s),
                "ClientSecret",
                "must match [\\w+]+",
            );
            p.check(
                !self.generate_secret,
                "ClientSecret",
                "GenerateSecret and ClientSecret cannot be used together",
            );
        }
        self.validate_validities(p);
        self.validate_flows(p);
        self.validate_urls(p);
        for (i, s) in self.allowed_oauth_scopes.iter().enumerate() {
            if !STANDARD_SCOPES.contains(&s.as_str()) && !custom_scopes.contains(s) {
                p.add_kind(
                    &format!("AllowedOAuthScopes[{i}]"),
                    "ScopeDoesNotExistException",
                    format!("scope '{s}' does not exist"),
                );
            }
        }
        p.check(
            self.allowed_oauth_scopes.len() <= 50,
            "AllowedOAuthScopes",
            "at most 50 scopes",
        );
        self.check_providers(providers, p);
        if let Some(w) = &self.write_attributes {
            for (i, a) in w.iter().enumerate() {
                p.check(
                    a != "email_verified" && a != "phone_number_verified",
                    &format!("WriteAttributes[{i}]"),
                    format!("clients cannot write '{a}'"),
                );
            }
        }
        if let Some(v) = &self.prevent_user_existence_errors {
            p.check(
                v == "LEGACY" || v == "ENABLED",
                "PreventUserExistenceErrors",
                "must be LEGACY or ENABLED",
            );
        }
        if let Some(v) = self.auth_session_validity {
            p.range("AuthSessionValidity", v, 3, 15);
        }
        if let Some(r) = &self.refresh_token_rotation {
            p.check(
                r.feature == "ENABLED" || r.feature == "DISABLED",
                "RefreshTokenRotation.Feature",
                "must be ENABLED or DISABLED",
            );
            p.range(
                "RefreshTokenRotation.RetryGracePeriodSeconds",
                r.retry_grace_period_seconds,
                0,
                60,
            );
        }
        if let Some(flows) = &self.explicit_auth_flows {
            let new = flows.iter().any(|f| AUTH_FLOWS.contains(&f.as_str()));
            let legacy = flows
                .iter()
                .any(|f| LEGACY_AUTH_FLOWS.contains(&f.as_str()));
            for (i, f) in flows.iter().enumerate() {
                p.check(
                    AUTH_FLOWS.contains(&f.as_str()) || LEGACY_AUTH_FLOWS.contains(&f.as_str()),
                    &format!("ExplicitAuthFlows[{i}]"),
                    format!("unknown auth flow '{f}'"),
                );
            }
            p.check(
                !(new && legacy),
                "ExplicitAuthFlows",
                "legacy values cannot be mixed with ALLOW_* values",
            );
        }
    }

    fn validate_validities(&self, p: &mut Problems) {
        // Cognito's effective bounds: 5 minutes to 1 day for access and ID tokens, 60 minutes
        // to 10 years for refresh tokens (spec §2.2).
        if let Some(v) = self.access_token_validity {
            p.range("AccessTokenValidity", v, 1, 86400);
            p.range(
                "AccessTokenValidity",
                self.access_token_seconds(),
                300,
                86400,
            );
        }
        if let Some(v) = self.id_token_validity {
            p.range("IdTokenValidity", v, 1, 86400);
            p.range("IdTokenValidity", self.id_token_seconds(), 300, 86400);
        }
        if let Some(v) = self.refresh_token_validity {
            p.range("RefreshTokenValidity", v, 0, 315_360_000);
        }
        if self.refresh_token_validity.is_some_and(|v| v > 0) {
            p.range(
                "RefreshTokenValidity",
                self.refresh_token_seconds(),
                3600,
                315_360_000,
            );
        }
    }

    fn validate_flows(&self, p: &mut Problems) {
        for (i, f) in self.allowed_oauth_flows.iter().enumerate() {
            p.check(
                OAUTH_FLOWS.contains(&f.as_str()),
                &format!("AllowedOAuthFlows[{i}]"),
                format!("'{f}' is not code, implicit or client_credentials"),
            );
        }
        let cc = self
            .allowed_oauth_flows
            .iter()
            .any(|f| f == "client_credentials");
        if cc && self.allowed_oauth_flows.len() > 1 {
            p.add_kind(
                "AllowedOAuthFlows",
                "InvalidOAuthFlowException",
                "client_credentials flow can not be selected along with code flow or implicit flow",
            );
        }
        if cc && !self.has_secret() {
            p.add_kind(
                "AllowedOAuthFlows",
                "InvalidOAuthFlowException",
                "client_credentials flow can not be selected if client does not have a client secret",
            );
        }
        if self.allowed_oauth_flows_user_pool_client && self.allowed_oauth_flows.is_empty() {
            p.add_kind(
                "AllowedOAuthFlows",
                "InvalidOAuthFlowException",
                "AllowedOAuthFlows is required when AllowedOAuthFlowsUserPoolClient is true",
            );
        }
        if cc {
            p.check(
                self.allowed_oauth_scopes
                    .iter()
                    .all(|s| !STANDARD_SCOPES.contains(&s.as_str())),
                "AllowedOAuthScopes",
                "client_credentials clients may only have custom scopes",
            );
        }
    }

    fn validate_urls(&self, p: &mut Problems) {
        p.check(
            self.callback_urls.len() <= 100,
            "CallbackURLs",
            "at most 100",
        );
        p.check(self.logout_urls.len() <= 100, "LogoutURLs", "at most 100");
        for (i, u) in self.callback_urls.iter().enumerate() {
            if let Err(e) = check_redirect_url(u) {
                p.add(&format!("CallbackURLs[{i}]"), e);
            }
        }
        for (i, u) in self.logout_urls.iter().enumerate() {
            if let Err(e) = check_redirect_url(u) {
                p.add(&format!("LogoutURLs[{i}]"), e);
            }
        }
        if let Some(d) = &self.default_redirect_uri {
            p.check(
                self.callback_urls.contains(d),
                "DefaultRedirectURI",
                "must be one of the CallbackURLs",
            );
        }
    }
}

/// Cognito's rules for callback and sign-out URLs: absolute, no fragment, 1–1024 characters,
/// HTTPS except for loopback hosts; custom schemes allowed (spec §2.2).
pub fn check_redirect_url(url: &str) -> Result<(), String> {
    let n = url.chars().count();
    if !(1..=1024).contains(&n) {
        return Err("length must be between 1 and 1024 characters".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace".into());
    }
    if url.contains('#') {
        return Err("must not contain a fragment".into());
    }
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err("must be an absolute URL".into());
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok || rest.is_empty() {
        return Err("must be an absolute URL".into());
    }
    let scheme = scheme.to_ascii_lowercase();
    if ["javascript", "data", "vbscript", "file"].contains(&scheme.as_str()) {
        return Err(format!("the {scheme}: scheme is not allowed"));
    }
    let authority = rest
        .strip_prefix("//")
        .map(|r| r.split(['/', '?']).next().unwrap_or(""));
    if authority.is_some_and(|a| a.contains('@') || a.contains('\\')) {
        return Err("must not contain user information".into());
    }
    match scheme.as_str() {
        "https" => Ok(()),
        "http" => {
            let authority = authority.ok_or("must be an absolute URL")?;
            let host = match authority.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or(""),
                None => authority.split(':').next().unwrap_or(""),
            };
            if ["localhost", "127.0.0.1", "::1"].contains(&host) {
                Ok(())
            } else {
                Err("http is allowed only for localhost, 127.0.0.1 and [::1]; use https".into())
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_urls_follow_cognito_rules() {
        assert!(check_redirect_url("https://app.example.com/cb").is_ok());
        assert!(check_redirect_url("http://localhost:3000/cb").is_ok());
        assert!(check_redirect_url("http://127.0.0.1/cb").is_ok());
        assert!(check_redirect_url("http://[::1]:8080/cb").is_ok());
        assert!(check_redirect_url("myapp://cb").is_ok());
        assert!(check_redirect_url("http://app.example.com/cb").is_err());
        assert!(check_redirect_url("https://app.example.com/cb#x").is_err());
        assert!(check_redirect_url("/relative").is_err());
        assert!(check_redirect_url("http://localhost.evil.test/cb").is_err());
        assert!(check_redirect_url("http://localhost:80@evil.test/cb").is_err());
        assert!(check_redirect_url("https://user@app.example.com/cb").is_err());
        assert!(check_redirect_url("javascript:alert(1)").is_err());
        assert!(check_redirect_url("DATA:text/html,x").is_err());
    }

    #[test]
    fn a_client_of_an_idp_initiated_provider_lists_saml_providers_only() {
        let saml = |name: &str, init: bool| IdentityProviderConfig {
            provider_name: name.into(),
            provider_type: "SAML".into(),
            provider_details: [("IDPInit".to_string(), init.to_string())].into(),
            ..Default::default()
        };
        let (init, plain) = (saml("Init", true), saml("Plain", false));
        let problems = |listed: &[&str]| {
            let c = ClientConfig {
                client_name: "c".into(),
                supported_identity_providers: listed.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            };
            let mut p = Problems::new("");
            c.validate(&[], &[&init, &plain], &mut p);
            p.errors.len()
        };
        assert_eq!(problems(&["Init", "Plain"]), 0);
        assert_eq!(problems(&["COGNITO", "Plain"]), 0);
        assert_eq!(problems(&["Init", "COGNITO"]), 1);
        assert_eq!(problems(&["Init", "Missing"]), 2, "unknown, and not SAML");
    }

    #[test]
    fn client_credentials_must_be_alone_and_confidential() {
        let c = ClientConfig {
            client_name: "m2m".into(),
            allowed_oauth_flows: vec!["client_credentials".into(), "code".into()],
            allowed_oauth_flows_user_pool_client: true,
            ..Default::default()
        };
        let mut p = Problems::new("");
        c.validate(&[], &[], &mut p);
        let kinds: Vec<_> = p.errors.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            ["InvalidOAuthFlowException", "InvalidOAuthFlowException"]
        );
    }

    #[test]
    fn token_lifetimes_use_units_and_defaults() {
        let mut c = ClientConfig::default();
        assert_eq!(c.access_token_seconds(), 3600);
        assert_eq!(c.refresh_token_seconds(), 30 * 86400);
        c.access_token_validity = Some(5);
        c.token_validity_units.access_token = Some(TimeUnit::Minutes);
        assert_eq!(c.access_token_seconds(), 300);
        c.refresh_token_validity = Some(0);
        assert_eq!(c.refresh_token_seconds(), 30 * 86400);
    }
}
