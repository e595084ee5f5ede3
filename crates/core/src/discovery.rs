//! The OpenID Provider metadata of a pool (spec §15): Cognito's document, plus the PKCE method
//! it supports so strict relying parties accept it.

use serde::Serialize;

/// `{issuer}/.well-known/openid-configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoveryDocument {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// RS256, and ES256 while a pool publishes ES256 keys (beyond Cognito).
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub issuer: String,
    pub jwks_uri: String,
    pub response_types_supported: [&'static str; 2],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    pub scopes_supported: [&'static str; 4],
    pub subject_types_supported: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    pub token_endpoint_auth_methods_supported: [&'static str; 2],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    pub code_challenge_methods_supported: [&'static str; 1],
}

impl DiscoveryDocument {
    /// The document for a pool whose issuer is `issuer`, whose keys are served under
    /// `local_issuer_url`, and whose managed login lives at `domain_url` (if it has a domain).
    pub fn new(issuer: String, local_issuer_url: &str, domain_url: Option<&str>) -> Self {
        let at = |path: &str| domain_url.map(|d| format!("{d}{path}"));
        Self {
            authorization_endpoint: at("/oauth2/authorize"),
            end_session_endpoint: at("/logout"),
            id_token_signing_alg_values_supported: vec!["RS256"],
            issuer,
            jwks_uri: format!("{local_issuer_url}/.well-known/jwks.json"),
            response_types_supported: ["code", "token"],
            revocation_endpoint: at("/oauth2/revoke"),
            scopes_supported: ["openid", "email", "phone", "profile"],
            subject_types_supported: ["public"],
            token_endpoint: at("/oauth2/token"),
            token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
            userinfo_endpoint: at("/oauth2/userInfo"),
            code_challenge_methods_supported: ["S256"],
        }
    }
}
