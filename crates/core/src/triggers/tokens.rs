//! The pre-token-generation trigger's answer: claims to add, override or suppress in the ID
//! token (V1) and the access token (V2, V3), scopes to add or suppress, and group overrides.
//! Claims that identify the token or its sign-in are never changed.

use serde_json::{Map, Value, json};

use super::invalid_response;
use crate::auth::AuthResult;

/// Which sign-in asked for tokens: the event's `triggerSource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// Managed login and federation (code or implicit grant).
    HostedAuth,
    /// The API's sign-in flows.
    Authentication,
    /// The API's sign-in after a `NEW_PASSWORD_REQUIRED` answer.
    NewPasswordChallenge,
    /// The API's sign-in after a remembered device's proof.
    AuthenticateDevice,
    RefreshTokens,
    ClientCredentials,
}

impl TokenSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HostedAuth => "TokenGeneration_HostedAuth",
            Self::Authentication => "TokenGeneration_Authentication",
            Self::NewPasswordChallenge => "TokenGeneration_NewPasswordChallenge",
            Self::AuthenticateDevice => "TokenGeneration_AuthenticateDevice",
            Self::RefreshTokens => "TokenGeneration_RefreshTokens",
            Self::ClientCredentials => "TokenGeneration_ClientCredentials",
        }
    }
}

/// Claims no trigger changes (Cognito's list, and what names the token's client, user and
/// sign-in in the access token).
const PROTECTED: &[&str] = &[
    "acr",
    "amr",
    "aud",
    "at_hash",
    "auth_time",
    "azp",
    "cognito:username",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "sub",
    "token_use",
    "client_id",
    "event_id",
    "username",
    "scope",
    "device_key",
    "version",
    "cognito:groups",
    "cognito:roles",
    "cognito:preferred_role",
];

/// Scopes a trigger neither adds nor suppresses: the OpenID Connect scopes decide what the ID
/// token holds, and the API's own scope what the access token may do with the account.
const FIXED_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "aws.cognito.signin.user.admin",
];

/// Changes to one token's claims.
#[derive(Debug, Clone, Default, PartialEq)]
struct ClaimChanges {
    add: Map<String, Value>,
    suppress: Vec<String>,
}

impl ClaimChanges {
    fn read(v: Option<&Value>) -> AuthResult<Self> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(Self::default());
        };
        let v = v.as_object().ok_or_else(invalid_response)?;
        let add = match v.get("claimsToAddOrOverride") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(invalid_response()),
        };
        Ok(Self {
            add,
            suppress: strings(v.get("claimsToSuppress"))?.unwrap_or_default(),
        })
    }

    fn apply(&self, claims: &mut Map<String, Value>) {
        for name in &self.suppress {
            if !PROTECTED.contains(&name.as_str()) {
                claims.remove(name);
            }
        }
        for (name, value) in &self.add {
            if PROTECTED.contains(&name.as_str()) {
                tracing::debug!(claim = %name, "a trigger may not change this claim");
                continue;
            }
            claims.insert(name.clone(), value.clone());
        }
    }
}

/// A list of strings, absent, or null; anything else is an unrecognizable answer.
fn strings(v: Option<&Value>) -> AuthResult<Option<Vec<String>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(String::from).ok_or_else(invalid_response))
            .collect::<AuthResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(invalid_response()),
    }
}

/// What a pre-token-generation answer changes in the tokens of one sign-in or refresh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenChanges {
    id: ClaimChanges,
    access: ClaimChanges,
    scopes_add: Vec<String>,
    scopes_suppress: Vec<String>,
    groups: Option<Vec<String>>,
    roles: Option<Vec<String>>,
    preferred_role: Option<String>,
}

impl TokenChanges {
    /// The event's `request` for a user's tokens: attributes, groups, and (V2 and later) the
    /// scopes granted.
    pub fn request(
        version: u8,
        user_attributes: Value,
        groups: &[String],
        scopes: &[String],
        metadata: Option<&Map<String, Value>>,
    ) -> Value {
        let mut request = json!({
            "userAttributes": user_attributes,
            "groupConfiguration": {
                "groupsToOverride": groups,
                "iamRolesToOverride": [],
                "preferredRole": null,
            },
        });
        if version >= 2 {
            request["scopes"] = json!(scopes);
        }
        if let Some(m) = metadata.filter(|m| !m.is_empty()) {
            request["clientMetadata"] = Value::Object(m.clone());
        }
        request
    }

    /// The `response` the event starts with.
    pub fn empty_response(version: u8) -> Value {
        if version >= 2 {
            json!({ "claimsAndScopeOverrideDetails": null })
        } else {
            json!({ "claimsOverrideDetails": null })
        }
    }

    /// Reads an answer: V1's `claimsOverrideDetails` (the ID token and groups), or V2's and
    /// V3's `claimsAndScopeOverrideDetails` (both tokens, access-token scopes and groups).
    pub fn read(version: u8, response: &Map<String, Value>) -> AuthResult<Self> {
        let mut changes = TokenChanges::default();
        let details = if version >= 2 {
            response.get("claimsAndScopeOverrideDetails")
        } else {
            response.get("claimsOverrideDetails")
        };
        let Some(details) = details.filter(|d| !d.is_null()) else {
            return Ok(changes);
        };
        let details = details.as_object().ok_or_else(invalid_response)?;
        if version >= 2 {
            changes.id = ClaimChanges::read(details.get("idTokenGeneration"))?;
            let access = details.get("accessTokenGeneration");
            changes.access = ClaimChanges::read(access)?;
            if let Some(a) = access.and_then(Value::as_object) {
                let fixed = |s: &String| !FIXED_SCOPES.contains(&s.as_str());
                // One scope token each (RFC 6749 §3.3): a space would smuggle in another.
                let token = |s: &String| {
                    !s.is_empty()
                        && s.bytes().all(|b| {
                            b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
                        })
                };
                changes.scopes_add = strings(a.get("scopesToAdd"))?.unwrap_or_default();
                changes.scopes_suppress = strings(a.get("scopesToSuppress"))?.unwrap_or_default();
                if !changes
                    .scopes_add
                    .iter()
                    .chain(&changes.scopes_suppress)
                    .all(token)
                {
                    return Err(invalid_response());
                }
                changes.scopes_add.retain(fixed);
                changes.scopes_suppress.retain(fixed);
            }
        } else {
            changes.id = ClaimChanges::read(Some(&Value::Object(details.clone())))?;
        }
        if let Some(g) = details.get("groupOverrideDetails").filter(|g| !g.is_null()) {
            let g = g.as_object().ok_or_else(invalid_response)?;
            changes.groups = strings(g.get("groupsToOverride"))?;
            changes.roles = strings(g.get("iamRolesToOverride"))?;
            changes.preferred_role = match g.get("preferredRole") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(invalid_response()),
            };
        }
        Ok(changes)
    }

    /// The groups the tokens carry: the trigger's override, else the user's.
    pub fn groups<'a>(&'a self, users: &'a [String]) -> &'a [String] {
        self.groups.as_deref().unwrap_or(users)
    }

    /// The access token's scopes after the trigger's additions and suppressions.
    pub fn scopes(&self, granted: &[String]) -> Vec<String> {
        let mut scopes: Vec<String> = granted
            .iter()
            .filter(|s| !self.scopes_suppress.contains(s))
            .cloned()
            .collect();
        for s in &self.scopes_add {
            if !scopes.contains(s) && !self.scopes_suppress.contains(s) {
                scopes.push(s.clone());
            }
        }
        scopes
    }

    pub fn apply_to_id_token(&self, claims: &mut Map<String, Value>) {
        self.id.apply(claims);
        if let Some(roles) = &self.roles {
            claims.insert("cognito:roles".into(), json!(roles));
        }
        if let Some(role) = &self.preferred_role {
            claims.insert("cognito:preferred_role".into(), json!(role));
        }
    }

    pub fn apply_to_access_token(&self, claims: &mut Map<String, Value>) {
        self.access.apply(claims);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(version: u8, v: Value) -> AuthResult<TokenChanges> {
        TokenChanges::read(version, v.as_object().unwrap())
    }

    #[test]
    fn v1_changes_the_id_token_and_groups_only() {
        let c = read(
            1,
            json!({"claimsOverrideDetails": {
                "claimsToAddOrOverride": {"tier": "gold", "sub": "forged"},
                "claimsToSuppress": ["email", "iss"],
                "groupOverrideDetails": {"groupsToOverride": ["vip"], "preferredRole": "arn:aws:iam::123456789012:role/r"}
            }}),
        )
        .unwrap();
        let mut id = Map::new();
        id.insert("sub".into(), json!("real"));
        id.insert("iss".into(), json!("us"));
        id.insert("email".into(), json!("a@b.c"));
        c.apply_to_id_token(&mut id);
        assert_eq!(id["tier"], "gold");
        assert_eq!(id["sub"], "real");
        assert_eq!(id["iss"], "us");
        assert!(!id.contains_key("email"));
        assert_eq!(
            id["cognito:preferred_role"],
            "arn:aws:iam::123456789012:role/r"
        );
        assert_eq!(c.groups(&["old".into()]), ["vip".to_string()]);
        let mut access = Map::new();
        c.apply_to_access_token(&mut access);
        assert!(access.is_empty());
    }

    #[test]
    fn v2_changes_the_access_token_and_its_scopes() {
        let c = read(
            2,
            json!({"claimsAndScopeOverrideDetails": {
                "accessTokenGeneration": {
                    "claimsToAddOrOverride": {"tenant": {"id": 7}},
                    "scopesToAdd": ["api/write", "openid"],
                    "scopesToSuppress": ["api/read", "aws.cognito.signin.user.admin"]
                }
            }}),
        )
        .unwrap();
        let mut access = Map::new();
        c.apply_to_access_token(&mut access);
        assert_eq!(access["tenant"], json!({"id": 7}));
        assert_eq!(
            c.scopes(&["aws.cognito.signin.user.admin".into(), "api/read".into()]),
            ["aws.cognito.signin.user.admin", "api/write"]
        );
    }

    #[test]
    fn malformed_answers_are_unrecognizable() {
        assert!(read(1, json!({"claimsOverrideDetails": "x"})).is_err());
        let smuggled = json!({"claimsAndScopeOverrideDetails": {"accessTokenGeneration": {"scopesToAdd": ["x aws.cognito.signin.user.admin"]}}});
        assert!(read(2, smuggled).is_err());
        assert!(read(2, json!({"claimsAndScopeOverrideDetails": {"accessTokenGeneration": {"scopesToAdd": "a"}}})).is_err());
        assert_eq!(read(2, json!({})).unwrap(), TokenChanges::default());
    }
}
