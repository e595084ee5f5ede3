//! Scopes (spec §3): which a request may have, and which user attributes they release.

use crate::model::{ClientConfig, STANDARD_ATTRIBUTES};

use super::{ErrorCode, OAuthError};

/// Parses a space-separated scope list; an omitted or empty list means every scope the client
/// allows (spec §3.2). Unknown or disallowed scopes are `invalid_scope` (our choice where the
/// docs conflict, §20.1). Order is kept, duplicates dropped.
pub fn resolve(requested: Option<&str>, allowed: &[String]) -> Result<Vec<String>, OAuthError> {
    let Some(list) = requested.filter(|s| !s.trim().is_empty()) else {
        return Ok(allowed.to_vec());
    };
    let mut out: Vec<String> = Vec::new();
    for s in list.split(' ').filter(|s| !s.is_empty()) {
        if !allowed.iter().any(|a| a == s) {
            return Err(OAuthError::with(
                ErrorCode::InvalidScope,
                format!("scope {s} is not allowed for this client"),
            ));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

/// Custom (resource-server) scopes only: the only kind `client_credentials` may carry.
pub fn is_custom(scope: &str) -> bool {
    scope.contains('/')
}

fn has(scopes: &[String], s: &str) -> bool {
    scopes.iter().any(|x| x == s)
}

/// Which user attributes a set of scopes releases to the ID token and userInfo.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Released {
    names: Vec<String>,
    /// Every `custom:` attribute (a client without `ReadAttributes` reads them all).
    all_custom: bool,
}

impl Released {
    pub fn allows(&self, name: &str) -> bool {
        (self.all_custom && name.starts_with("custom:")) || self.names.iter().any(|n| n == name)
    }
}

/// The attributes `scopes` release, intersected with what the client may read (spec §3.1).
/// Without `openid` nothing is released; `openid` alone or with `profile` releases every
/// readable attribute; `email` and `phone` narrow it to their own attributes.
pub fn released_attributes(scopes: &[String], client: &ClientConfig) -> Released {
    if !has(scopes, "openid") {
        return Released::default();
    }
    let readable = |a: &str| {
        client
            .read_attributes
            .as_ref()
            .is_none_or(|r| r.iter().any(|x| x == a))
    };
    let narrowed = has(scopes, "email") || has(scopes, "phone") || has(scopes, "profile");
    if !narrowed || has(scopes, "profile") {
        let mut names: Vec<String> = STANDARD_ATTRIBUTES
            .iter()
            .filter(|a| !matches!(**a, "sub" | "identities") && readable(a))
            .map(|a| a.to_string())
            .collect();
        if let Some(r) = &client.read_attributes {
            names.extend(r.iter().filter(|a| a.starts_with("custom:")).cloned());
        }
        return Released {
            names,
            all_custom: client.read_attributes.is_none(),
        };
    }
    let mut names = Vec::new();
    if has(scopes, "email") {
        names.extend(["email", "email_verified"]);
    }
    if has(scopes, "phone") {
        names.extend(["phone_number", "phone_number_verified"]);
    }
    Released {
        names: names
            .into_iter()
            .filter(|a| readable(a))
            .map(String::from)
            .collect(),
        all_custom: false,
    }
}

/// Spec §6.4: a scope that implies an attribute the client cannot read fails the grant.
pub fn check_readable(scopes: &[String], client: &ClientConfig) -> Result<(), OAuthError> {
    let Some(read) = &client.read_attributes else {
        return Ok(());
    };
    let implied: &[(&str, &[&str])] = &[
        ("email", &["email", "email_verified"]),
        ("phone", &["phone_number", "phone_number_verified"]),
    ];
    for (scope, attrs) in implied {
        if has(scopes, scope) && has(scopes, "openid") {
            for a in *attrs {
                if !read.iter().any(|r| r == a) {
                    return Err(OAuthError::invalid_grant(format!(
                        "scope {scope} needs attribute {a}, which the client cannot read"
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn omitted_scope_means_all_allowed_and_unknown_is_rejected() {
        let allowed = strings(&["openid", "email", "rs/read"]);
        assert_eq!(resolve(None, &allowed).unwrap(), allowed);
        assert_eq!(
            resolve(Some("email  openid email"), &allowed).unwrap(),
            strings(&["email", "openid"])
        );
        assert_eq!(
            resolve(Some("openid rs/write"), &allowed).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn scopes_release_attributes_as_cognito_does() {
        let client = ClientConfig::default();
        assert!(!released_attributes(&strings(&["email"]), &client).allows("email"));
        let email = released_attributes(&strings(&["openid", "email"]), &client);
        assert!(email.allows("email") && email.allows("email_verified"));
        assert!(!email.allows("name") && !email.allows("custom:tenant"));
        let all = released_attributes(&strings(&["openid"]), &client);
        assert!(all.allows("name") && all.allows("custom:anything"));
        let limited = ClientConfig {
            read_attributes: Some(strings(&["email", "custom:tenant"])),
            ..Default::default()
        };
        let profile = released_attributes(&strings(&["openid", "profile"]), &limited);
        assert!(profile.allows("email") && profile.allows("custom:tenant"));
        assert!(!profile.allows("name") && !profile.allows("custom:other"));
        assert!(check_readable(&strings(&["openid", "email"]), &limited).is_err());
    }
}
