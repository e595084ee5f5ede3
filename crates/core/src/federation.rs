//! Federation with outside identity providers (spec §1.7, §10, §14): the port the OIDC/social
//! connector fills, the errors relayed to apps in Cognito's words, and provisioning — how an
//! outside identity becomes (or updates) a user of the pool.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::model::{AttributeType, IdentityProviderConfig, UserPoolConfig, UserStatus};
use crate::store::UserRecord;
use crate::time::Timestamp;

/// What the outbound request to the provider carries.
pub struct Outbound<'a> {
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub pkce_challenge: &'a str,
    pub login_hint: Option<&'a str>,
    /// `prompt` values other than `none` are forwarded (spec §4.2).
    pub prompt: Option<&'a str>,
}

/// The provider's answer, validated: who the user is there, and every claim it told us.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamIdentity {
    /// The provider's user ID (`sub`, Facebook `id`, Amazon `user_id`).
    pub subject: String,
    /// ID-token claims merged with the attributes endpoint's.
    pub claims: Map<String, Value>,
    /// The provider's issuer, when it has one.
    pub issuer: Option<String>,
}

/// A failed federation, with the description Cognito relays to the app (spec §10.2 step 6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    /// The provider answered the authorization request with an error.
    #[error("{provider} Error - {error} {description}")]
    Provider {
        provider: String,
        error: String,
        description: String,
    },
    #[error("Timeout occurred in calling IdP {endpoint} endpoint")]
    Timeout { endpoint: &'static str },
    #[error("{provider} Error - {status} error getting token")]
    TokenHttp { provider: String, status: u16 },
    #[error("Bad token response: {0}")]
    BadTokenResponse(String),
    #[error("Invalid id_token: {0}")]
    InvalidIdToken(String),
    #[error("Error retrieving attributes: {0}")]
    Attributes(String),
    #[error("Connection error: {0}")]
    Connection(String),
    /// Details go to the log; the app learns only that the provider is misconfigured.
    #[error("identity provider misconfigured")]
    Config(String),
}

/// An outside provider's protocol: the authorization URL, and the code's exchange for an
/// identity (token request, ID-token validation, attributes).
#[async_trait]
pub trait Connector: Send + Sync {
    async fn authorization_url(
        &self,
        idp: &IdentityProviderConfig,
        out: &Outbound<'_>,
    ) -> Result<String, FederationError>;

    async fn exchange(
        &self,
        idp: &IdentityProviderConfig,
        redirect_uri: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<UpstreamIdentity, FederationError>;
}

/// The claim that names the user at each provider type (spec §1.7).
pub fn subject_claim(provider_type: &str) -> &'static str {
    match provider_type {
        "Facebook" => "id",
        "LoginWithAmazon" => "user_id",
        _ => "sub",
    }
}

/// A claim's value as an attribute string.
fn claim_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        // Multi-valued attributes: Cognito combines the values (spec §14).
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(claim_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Object(_) => Some(v.to_string()),
    }
}

/// Whether `user` is the federated user of (`provider`, `subject`).
pub fn is_identity_of(user: &UserRecord, provider: &str, subject: &str) -> bool {
    user.status == UserStatus::ExternalProvider
        && user
            .attributes
            .iter()
            .find(|a| a.name == "identities")
            .and_then(|a| serde_json::from_str::<Value>(&a.value).ok())
            .and_then(|v| v.as_array().cloned())
            .is_some_and(|ids| {
                ids.iter()
                    .any(|i| i["providerName"] == provider && i["userId"] == subject)
            })
}

/// A refusal of provisioning, relayed to the app as `invalid_request` (spec §14).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid user attributes: {0}")]
pub struct ProvisionError(pub String);

/// The pool username of an outside identity: `{ProviderName}_{subject}`, lowercased in
/// case-insensitive pools.
pub fn federated_username(pool: &UserPoolConfig, provider: &str, subject: &str) -> String {
    let name = format!("{provider}_{subject}");
    if pool.case_sensitive() {
        name
    } else {
        name.to_lowercase()
    }
}

/// Creates the federated user, or updates the mapped attributes of the existing one. Claims
/// missing from this sign-in leave old values in place; `email_verified` is false unless
/// mapped; required attributes must come from the provider; mapped attributes must be
/// writable by the client (spec §14).
pub fn provision(
    pool: &UserPoolConfig,
    pool_id: &str,
    idp: &IdentityProviderConfig,
    identity: &UpstreamIdentity,
    existing: Option<UserRecord>,
    client_write_attributes: Option<&[String]>,
    now: Timestamp,
) -> Result<UserRecord, ProvisionError> {
    let mut mapped: Vec<AttributeType> = Vec::new();
    for (attribute, claim) in &idp.attribute_mapping {
        if matches!(attribute.as_str(), "sub" | "identities" | "username") {
            continue;
        }
        if let Some(w) = client_write_attributes
            && !w.iter().any(|a| a == attribute)
        {
            return Err(ProvisionError(format!(
                "{attribute}: the app client cannot write this attribute"
            )));
        }
        if let Some(value) = identity.claims.get(claim).and_then(claim_string) {
            if value.chars().count() > 2048 {
                return Err(ProvisionError(format!(
                    "{attribute}: longer than 2048 characters"
                )));
            }
            // The same type and constraint rule as the Admin operations and the seed.
            if let Some(Err(e)) = pool
                .custom_attribute(attribute)
                .map(|s| s.check_value(&value))
            {
                return Err(ProvisionError(format!("{attribute}: {e}")));
            }
            mapped.push(AttributeType {
                name: attribute.clone(),
                value,
            });
        }
    }
    let mut user = match existing {
        // Only the user this identity created: a local account that merely has the same name
        // (a sign-up as `Google_123…`) is never taken over.
        Some(u) if is_identity_of(&u, &idp.provider_name, &identity.subject) => u,
        Some(_) => {
            return Err(ProvisionError(
                "username: a user with this name exists and is not this identity".into(),
            ));
        }
        None => UserRecord::new(
            pool_id,
            federated_username(pool, &idp.provider_name, &identity.subject),
            crate::oauth::grant::new_uuid(),
            UserStatus::ExternalProvider,
            vec![AttributeType {
                name: "identities".into(),
                value: json!([{
                    "userId": identity.subject,
                    "providerName": idp.provider_name,
                    "providerType": idp.provider_type,
                    "issuer": identity.issuer,
                    "primary": "true",
                    "dateCreated": (now * 1000).to_string(),
                }])
                .to_string(),
            }],
            now,
        ),
    };
    let mapped_verified = idp.attribute_mapping.contains_key("email_verified");
    for a in mapped {
        crate::lifecycle::set_attribute(&mut user, &a.name, &a.value);
    }
    if !mapped_verified && user.attributes.iter().any(|a| a.name == "email") {
        crate::lifecycle::set_attribute(&mut user, "email_verified", "false");
    }
    for required in pool.required_attributes() {
        if !user
            .attributes
            .iter()
            .any(|a| a.name == required && !a.value.is_empty())
        {
            return Err(ProvisionError(format!(
                "{required}: The attribute is required"
            )));
        }
    }
    user.updated_at = now;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SchemaAttribute;

    fn idp() -> IdentityProviderConfig {
        IdentityProviderConfig {
            provider_name: "Corp".into(),
            provider_type: "OIDC".into(),
            attribute_mapping: [
                ("email".to_string(), "mail".to_string()),
                ("name".to_string(), "name".to_string()),
            ]
            .into(),
            ..Default::default()
        }
    }

    fn identity(claims: Value) -> UpstreamIdentity {
        UpstreamIdentity {
            subject: "abc123".into(),
            claims: claims.as_object().unwrap().clone(),
            issuer: Some("https://idp.test".into()),
        }
    }

    #[test]
    fn a_first_sign_in_creates_the_user_and_later_ones_update_it() {
        let pool = UserPoolConfig::default();
        let u = provision(
            &pool,
            "p_1",
            &idp(),
            &identity(
                json!({"mail": "a@x.test", "name": "A", "email_verified": true, "sub": "evil"}),
            ),
            None,
            None,
            10,
        )
        .unwrap();
        assert_eq!(u.username, "Corp_abc123");
        assert_eq!(u.status, UserStatus::ExternalProvider);
        let get = |u: &UserRecord, n: &str| {
            u.attributes
                .iter()
                .find(|a| a.name == n)
                .map(|a| a.value.clone())
        };
        assert_eq!(get(&u, "email").as_deref(), Some("a@x.test"));
        assert_eq!(
            get(&u, "email_verified").as_deref(),
            Some("false"),
            "unverified unless mapped"
        );
        let identities: Value = serde_json::from_str(&get(&u, "identities").unwrap()).unwrap();
        assert_eq!(identities[0]["userId"], "abc123");
        assert_eq!(identities[0]["primary"], "true");
        assert_eq!(identities[0]["dateCreated"], "10000");
        let again = provision(
            &pool,
            "p_1",
            &idp(),
            &identity(json!({"name": "B"})),
            Some(u.clone()),
            None,
            20,
        )
        .unwrap();
        let mut local = u.clone();
        local.status = UserStatus::Confirmed;
        assert!(
            provision(
                &pool,
                "p_1",
                &idp(),
                &identity(json!({})),
                Some(local),
                None,
                30
            )
            .is_err(),
            "a local user with the same name is not taken over"
        );
        assert_eq!(get(&again, "name").as_deref(), Some("B"));
        assert_eq!(
            get(&again, "email").as_deref(),
            Some("a@x.test"),
            "missing claims leave old values"
        );
        assert_eq!(again.sub, u.sub);
    }

    #[test]
    fn required_attributes_and_write_permissions_are_enforced() {
        let pool = UserPoolConfig {
            schema: vec![SchemaAttribute {
                name: "email".into(),
                attribute_data_type: "String".into(),
                developer_only_attribute: false,
                mutable: true,
                required: true,
                number_attribute_constraints: None,
                string_attribute_constraints: None,
            }],
            ..Default::default()
        };
        let e = provision(
            &pool,
            "p",
            &idp(),
            &identity(json!({"name": "A"})),
            None,
            None,
            1,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid user attributes: email: The attribute is required"
        );
        let e = provision(
            &UserPoolConfig::default(),
            "p",
            &idp(),
            &identity(json!({})),
            None,
            Some(&["name".to_string()]),
            1,
        )
        .unwrap_err();
        assert!(e.0.starts_with("email: the app client cannot write"));
    }

    #[test]
    fn mapped_custom_values_keep_to_their_type() {
        let pool = UserPoolConfig {
            schema: vec![SchemaAttribute {
                name: "level".into(),
                attribute_data_type: "Number".into(),
                developer_only_attribute: false,
                mutable: true,
                required: false,
                number_attribute_constraints: None,
                string_attribute_constraints: None,
            }],
            ..Default::default()
        };
        let mut corp = idp();
        corp.attribute_mapping
            .insert("custom:level".into(), "level".into());
        let sign_in = |level: &str| {
            provision(
                &pool,
                "p",
                &corp,
                &identity(json!({"mail": "a@x.test", "level": level})),
                None,
                None,
                1,
            )
        };
        assert!(sign_in("3").is_ok());
        let e = sign_in("three").unwrap_err();
        assert!(e.0.starts_with("custom:level: "), "{e}");
    }
}
