//! `CreateIdentityProvider`: outside identity providers of a pool and their naming rules
//! (spec §1.6, §2.3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::validate::Problems;

/// The provider types Cognito knows.
pub const PROVIDER_TYPES: &[&str] = &[
    "SAML",
    "OIDC",
    "Google",
    "Facebook",
    "LoginWithAmazon",
    "SignInWithApple",
];

/// `CreateIdentityProvider` request fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IdentityProviderConfig {
    pub provider_name: String,
    pub provider_type: String,
    #[serde(default)]
    pub provider_details: BTreeMap<String, String>,
    #[serde(default)]
    pub attribute_mapping: BTreeMap<String, String>,
    #[serde(default)]
    pub idp_identifiers: Vec<String>,
}

/// `[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+`: no spaces, underscores only in second place.
fn is_provider_name(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    chars.len() >= 3
        && chars.iter().all(|c| !c.is_whitespace() && !c.is_control())
        && chars.iter().enumerate().all(|(i, c)| *c != '_' || i == 1)
}

fn is_idp_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c.is_whitespace() || "+=.@-".contains(c))
}

/// `ProviderDetails` keys that hold secrets: sealed under the master key in the database.
pub const SECRET_DETAILS: &[&str] = &["client_secret", "private_key"];

const SEALED: &str = "sealed:";

impl IdentityProviderConfig {
    /// A SAML provider that may start sign-ins itself (`IDPInit`).
    pub fn is_idp_initiated(&self) -> bool {
        self.provider_type == "SAML"
            && self
                .provider_details
                .get("IDPInit")
                .is_some_and(|v| v == "true")
    }

    fn secret_context(pool_id: &str, provider: &str, key: &str) -> String {
        format!("userpool idp secret/{pool_id}/{provider}/{key}")
    }

    /// Seals the secret details for storage (idempotent: sealed values stay as they are).
    pub fn seal_secrets(&mut self, master: &crate::keys::MasterKey, pool_id: &str) {
        for key in SECRET_DETAILS {
            if let Some(v) = self.provider_details.get_mut(*key)
                && !v.starts_with(SEALED)
            {
                let context = Self::secret_context(pool_id, &self.provider_name, key);
                *v = format!("{SEALED}{}", master.seal_text(v.as_bytes(), &context));
            }
        }
    }

    /// Opens sealed secret details in place; an error names the detail that did not open.
    pub fn open_secrets(
        &mut self,
        master: &crate::keys::MasterKey,
        pool_id: &str,
    ) -> Result<(), String> {
        for key in SECRET_DETAILS {
            if let Some(v) = self.provider_details.get_mut(*key)
                && let Some(sealed) = v.strip_prefix(SEALED)
            {
                let context = Self::secret_context(pool_id, &self.provider_name, key);
                let plain = master
                    .open_text(sealed, &context)
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        format!(
                            "{} of {} does not open with this master key",
                            key, self.provider_name
                        )
                    })?;
                *v = plain;
            }
        }
        Ok(())
    }

    /// Cognito's rules for one provider; cross-provider uniqueness is checked by the caller.
    pub fn validate(&self, p: &mut Problems) {
        let name = &self.provider_name;
        p.length("ProviderName", name, 1, 32);
        p.check(
            is_provider_name(name),
            "ProviderName",
            "must have at least 3 characters, no spaces, and no underscore except in second place",
        );
        p.check(
            name != "COGNITO" && name != "Cognito",
            "ProviderName",
            "COGNITO is reserved for the pool's own users",
        );
        let t = self.provider_type.as_str();
        if !PROVIDER_TYPES.contains(&t) {
            p.add(
                "ProviderType",
                format!("must be one of {}", PROVIDER_TYPES.join(", ")),
            );
            return;
        }
        if t != "SAML" && t != "OIDC" {
            p.check(
                name == t,
                "ProviderName",
                format!("a {t} provider must be named {t}"),
            );
        }
        let d = &self.provider_details;
        let need = |p: &mut Problems, key: &str| {
            p.check(
                d.get(key).is_some_and(|v| !v.is_empty()),
                &format!("ProviderDetails.{key}"),
                format!("{key} is required for {t}"),
            );
        };
        match t {
            "SAML" => {
                let n = ["MetadataURL", "MetadataFile"]
                    .iter()
                    .filter(|k| d.contains_key(**k))
                    .count();
                p.check(
                    n == 1,
                    "ProviderDetails",
                    "exactly one of MetadataURL or MetadataFile is required",
                );
                if let Some(url) = d.get("MetadataURL") {
                    // Loopback http is for IdPs in development and tests.
                    let loopback = [
                        "http://127.0.0.1:",
                        "http://127.0.0.1/",
                        "http://localhost:",
                        "http://localhost/",
                    ]
                    .iter()
                    .any(|p| url.starts_with(p));
                    p.check(
                        url.starts_with("https://") || loopback,
                        "ProviderDetails.MetadataURL",
                        "must be an https URL",
                    );
                }
                for k in ["IDPInit", "IDPSignout", "EncryptedResponses"] {
                    if let Some(v) = d.get(k) {
                        p.check(
                            v == "true" || v == "false",
                            &format!("ProviderDetails.{k}"),
                            "must be \"true\" or \"false\"",
                        );
                    }
                }
                if let Some(v) = d.get("RequestSigningAlgorithm") {
                    p.check(
                        v == "rsa-sha256",
                        "ProviderDetails.RequestSigningAlgorithm",
                        "must be rsa-sha256",
                    );
                }
            }
            "SignInWithApple" => {
                for k in [
                    "client_id",
                    "team_id",
                    "key_id",
                    "private_key",
                    "authorize_scopes",
                ] {
                    need(p, k);
                }
            }
            _ => {
                for k in ["client_id", "client_secret", "authorize_scopes"] {
                    need(p, k);
                }
                if t == "OIDC" {
                    let scopes = d.get("authorize_scopes").map_or("", String::as_str);
                    p.check(
                        scopes.split([' ', ',']).any(|s| s == "openid"),
                        "ProviderDetails.authorize_scopes",
                        "must include openid",
                    );
                    let explicit = ["authorize_url", "token_url", "jwks_uri"]
                        .iter()
                        .all(|k| d.contains_key(*k));
                    p.check(
                        d.contains_key("oidc_issuer") || explicit,
                        "ProviderDetails.oidc_issuer",
                        "oidc_issuer is required unless authorize_url, token_url and jwks_uri are given",
                    );
                    if let Some(m) = d.get("attributes_request_method") {
                        p.check(
                            m == "GET" || m == "POST",
                            "ProviderDetails.attributes_request_method",
                            "must be GET or POST",
                        );
                    }
                }
            }
        }
        for (k, v) in &self.attribute_mapping {
            p.length(&format!("AttributeMapping.{k}"), k, 1, 32);
            p.check(
                !v.is_empty(),
                &format!("AttributeMapping.{k}"),
                "the provider attribute must not be empty",
            );
        }
        p.check(
            self.idp_identifiers.len() <= 50,
            "IdpIdentifiers",
            "at most 50",
        );
        for (i, s) in self.idp_identifiers.iter().enumerate() {
            p.length(&format!("IdpIdentifiers[{i}]"), s, 1, 40);
            p.check(
                is_idp_identifier(s),
                &format!("IdpIdentifiers[{i}]"),
                "must match [\\w\\s+=.@-]+",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_sealed_once_and_open_again() {
        let m = crate::keys::MasterKey::from_bytes(&[5u8; 32]);
        let mut c = IdentityProviderConfig {
            provider_name: "Corp".into(),
            provider_type: "OIDC".into(),
            provider_details: [
                ("client_secret".to_string(), "s3cret".to_string()),
                ("client_id".to_string(), "id".to_string()),
            ]
            .into(),
            ..Default::default()
        };
        c.seal_secrets(&m, "p_1");
        let sealed = c.provider_details["client_secret"].clone();
        assert!(sealed.starts_with("sealed:") && !sealed.contains("s3cret"));
        c.seal_secrets(&m, "p_1");
        assert_eq!(
            c.provider_details["client_secret"], sealed,
            "sealing is idempotent"
        );
        assert_eq!(
            c.provider_details["client_id"], "id",
            "only secrets are sealed"
        );
        let mut other_pool = c.clone();
        assert!(
            other_pool.open_secrets(&m, "p_2").is_err(),
            "bound to its pool"
        );
        c.open_secrets(&m, "p_1").unwrap();
        assert_eq!(c.provider_details["client_secret"], "s3cret");
    }

    #[test]
    fn provider_names_follow_cognito_pattern() {
        assert!(is_provider_name("Google"));
        assert!(is_provider_name("a_b"));
        assert!(!is_provider_name("ab_c"));
        assert!(!is_provider_name("my idp"));
        assert!(!is_provider_name("ab"));
    }

    #[test]
    fn social_providers_must_be_named_after_their_type() {
        let mut c = IdentityProviderConfig {
            provider_name: "MyGoogle".into(),
            provider_type: "Google".into(),
            ..Default::default()
        };
        for k in ["client_id", "client_secret", "authorize_scopes"] {
            c.provider_details.insert(k.into(), "x".into());
        }
        let mut p = Problems::new("");
        c.validate(&mut p);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].path, "ProviderName");
    }
}
