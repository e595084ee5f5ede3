//! Domains, resource servers and groups of a pool (spec §1.3, §2.4, §2.5).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::{Problems, is_name, is_printable_word};
use crate::ids;

/// `CreateUserPoolDomain` request fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DomainConfig {
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_login_version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_domain_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Value>,
}

impl DomainConfig {
    /// A domain with a dot or a colon is a custom domain (a host, optionally with a port);
    /// anything else is a prefix under the server's domain base.
    pub fn is_custom(&self) -> bool {
        self.domain.contains(['.', ':'])
    }

    /// The key the domain is matched by: lowercase host, with the port when one was given.
    pub fn host_key(&self) -> String {
        self.domain.to_ascii_lowercase()
    }

    pub fn validate(&self, p: &mut Problems) {
        if self.is_custom() {
            p.length("Domain", &self.domain, 1, 253);
            let (host, port) = match self.domain.rsplit_once(':') {
                Some((h, _)) if !h.ends_with(']') && h.contains(':') => {
                    (self.domain.as_str(), None)
                }
                Some((h, port)) => (h, Some(port)),
                None => (self.domain.as_str(), None),
            };
            if let Some(port) = port {
                p.check(
                    port.parse::<u16>().is_ok_and(|n| n > 0),
                    "Domain",
                    "the port must be a number from 1 to 65535",
                );
            }
            let host = host.trim_start_matches('[').trim_end_matches(']');
            p.check(
                !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
                    && !host.starts_with(['.', '-'])
                    && !host.ends_with(['.', '-']),
                "Domain",
                "a custom domain must be a host name or address, optionally with :port",
            );
        } else {
            p.check(
                ids::is_domain_prefix(&self.domain),
                "Domain",
                "a domain prefix must match ^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$",
            );
        }
        if let Some(v) = self.managed_login_version {
            p.check(v == 1 || v == 2, "ManagedLoginVersion", "must be 1 or 2");
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ResourceServerScope {
    pub scope_name: String,
    pub scope_description: String,
}

/// `CreateResourceServer` request fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ResourceServerConfig {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<ResourceServerScope>,
}

impl ResourceServerConfig {
    /// The full scope strings, `{Identifier}/{ScopeName}`.
    pub fn scope_strings(&self) -> impl Iterator<Item = String> + '_ {
        self.scopes
            .iter()
            .map(|s| format!("{}/{}", self.identifier, s.scope_name))
    }

    pub fn validate(&self, p: &mut Problems) {
        p.length("Identifier", &self.identifier, 1, 256);
        p.check(
            self.identifier
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
            "Identifier",
            "must be printable ASCII without '\"' or '\\'",
        );
        p.length("Name", &self.name, 1, 256);
        p.check(is_name(&self.name), "Name", "must match [\\w\\s+=,.@-]+");
        p.check(self.scopes.len() <= 100, "Scopes", "at most 100 scopes");
        for (i, s) in self.scopes.iter().enumerate() {
            p.within(&format!("Scopes[{i}]"), |p| {
                p.length("ScopeName", &s.scope_name, 1, 256);
                p.check(
                    s.scope_name
                        .bytes()
                        .all(|b| (0x21..=0x7e).contains(&b) && !b"\"\\/".contains(&b)),
                    "ScopeName",
                    "must be printable ASCII without '/', '\"' or '\\'",
                );
                p.length("ScopeDescription", &s.scope_description, 1, 256);
            });
        }
    }
}

/// `CreateGroup` request fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GroupConfig {
    pub group_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precedence: Option<i64>,
}

impl GroupConfig {
    pub fn validate(&self, p: &mut Problems) {
        p.length("GroupName", &self.group_name, 1, 128);
        p.check(
            is_printable_word(&self.group_name),
            "GroupName",
            "must be printable without spaces",
        );
        if let Some(d) = &self.description {
            p.length("Description", d, 0, 2048);
        }
        if let Some(r) = &self.role_arn {
            p.check(
                r.starts_with("arn:") && (20..=2048).contains(&r.len()),
                "RoleArn",
                "must be an ARN",
            );
        }
        if let Some(n) = self.precedence {
            p.check(n >= 0, "Precedence", "must not be negative");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(d: &str) -> (bool, bool) {
        let c = DomainConfig {
            domain: d.into(),
            ..Default::default()
        };
        let mut p = Problems::new("");
        c.validate(&mut p);
        (c.is_custom(), p.is_empty())
    }

    #[test]
    fn domains_are_prefixes_or_custom_hosts() {
        assert_eq!(domain("my-app"), (false, true));
        assert_eq!(domain("My_App"), (false, false));
        assert_eq!(domain("auth.example.com"), (true, true));
        assert_eq!(domain("127.0.0.1:9229"), (true, true));
        assert_eq!(domain("localhost:0"), (true, false));
        assert_eq!(domain("auth.example.com:x"), (true, false));
        assert_eq!(domain("bad host.com"), (true, false));
    }
}
