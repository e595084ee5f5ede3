//! Token claim sets exactly as Cognito issues them (spec §13.2–§13.3), their signing, and the
//! verification of our own access tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::grant::{Grant, new_uuid};
use super::scope::released_attributes;
use super::{ErrorCode, OAuthError};
use crate::crypto::sha256;
use crate::directory::PoolView;
use crate::keys::KeyPurpose;
use crate::store::{ClientRecord, UserRecord};
use crate::time::Timestamp;
use crate::triggers::TokenChanges;

/// Everything a user token is made from.
pub struct UserTokenInput<'a> {
    pub view: &'a PoolView,
    pub client: &'a ClientRecord,
    pub user: &'a UserRecord,
    pub groups: &'a [String],
    pub grant: &'a Grant,
    pub now: Timestamp,
    /// What the pre-token-generation trigger changes.
    pub changes: &'a TokenChanges,
}

fn sign(
    view: &PoolView,
    purpose: KeyPurpose,
    claims: &Map<String, Value>,
    now: Timestamp,
) -> Result<String, OAuthError> {
    let body = serde_json::to_vec(claims).expect("claims serialize");
    sign_bytes(view, purpose, &body, now)
}

fn sign_bytes(
    view: &PoolView,
    purpose: KeyPurpose,
    body: &[u8],
    now: Timestamp,
) -> Result<String, OAuthError> {
    let key = view.keys.signer(purpose, now).ok_or_else(|| {
        tracing::error!(pool = %view.pool.id, "no active signing key");
        OAuthError::server_error()
    })?;
    Ok(key.sign_jwt(body))
}

/// The user access token (spec §13.3) and its lifetime in seconds.
pub fn user_access_token(i: &UserTokenInput<'_>) -> Result<(String, i64), OAuthError> {
    let lifetime = i.client.config.access_token_seconds();
    let mut c = Map::new();
    c.insert("sub".into(), json!(i.user.sub));
    c.insert("iss".into(), json!(i.view.issuer));
    c.insert("client_id".into(), json!(i.client.client_id));
    if i.client.config.token_revocation_enabled() {
        c.insert("origin_jti".into(), json!(i.grant.origin_jti));
        c.insert("jti".into(), json!(new_uuid()));
    }
    c.insert("event_id".into(), json!(i.grant.event_id));
    c.insert("token_use".into(), json!("access"));
    c.insert(
        "scope".into(),
        json!(i.changes.scopes(&i.grant.scopes).join(" ")),
    );
    c.insert("auth_time".into(), json!(i.grant.auth_time));
    c.insert("iat".into(), json!(i.now));
    c.insert("exp".into(), json!(i.now + lifetime));
    c.insert("username".into(), json!(i.user.username));
    if let Some(device) = &i.grant.device_key {
        c.insert("device_key".into(), json!(device));
    }
    c.insert("version".into(), json!(2));
    if !i.groups.is_empty() {
        c.insert("cognito:groups".into(), json!(i.groups));
    }
    i.changes.apply_to_access_token(&mut c);
    Ok((sign(i.view, KeyPurpose::Access, &c, i.now)?, lifetime))
}

/// `at_hash`: base64url of the left half of SHA-256 of the access token (OIDC §3.1.3.6).
pub fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&sha256(access_token.as_bytes())[..16])
}

/// An attribute value as the ID token carries it: verified flags as booleans, `updated_at` as
/// a number, everything else (custom attributes too) as a string.
fn id_token_value(name: &str, value: &str) -> Value {
    match name {
        "email_verified" | "phone_number_verified" => json!(value == "true"),
        "updated_at" => value
            .parse::<i64>()
            .map_or_else(|_| json!(value), |n| json!(n)),
        _ => json!(value),
    }
}

/// The ID token (spec §13.2), bound to `access_token` by `at_hash`.
pub fn id_token(i: &UserTokenInput<'_>, access_token: &str) -> Result<String, OAuthError> {
    let lifetime = i.client.config.id_token_seconds();
    let mut c = Map::new();
    let released = if i.grant.via_api {
        // The API's ID tokens carry every attribute the client reads (as `openid` alone).
        released_attributes(&["openid".to_string()], &i.client.config)
    } else {
        released_attributes(&i.grant.scopes, &i.client.config)
    };
    for a in &i.user.attributes {
        if released.allows(&a.name) {
            c.insert(a.name.clone(), id_token_value(&a.name, &a.value));
        }
    }
    if let Some(ids) = i.user.attributes.iter().find(|a| a.name == "identities")
        && let Ok(parsed) = serde_json::from_str::<Value>(&ids.value)
    {
        // Federated and linked users: an array of objects in the ID token (spec §13.2).
        c.insert("identities".into(), parsed);
    }
    if !i.grant.via_api {
        c.insert("at_hash".into(), json!(at_hash(access_token)));
    }
    c.insert("sub".into(), json!(i.user.sub));
    if !i.groups.is_empty() {
        c.insert("cognito:groups".into(), json!(i.groups));
    }
    c.insert("iss".into(), json!(i.view.issuer));
    c.insert("cognito:username".into(), json!(i.user.username));
    if let Some(n) = &i.grant.nonce {
        c.insert("nonce".into(), json!(n));
    }
    if i.client.config.token_revocation_enabled() {
        c.insert("origin_jti".into(), json!(i.grant.origin_jti));
        c.insert("jti".into(), json!(new_uuid()));
    }
    c.insert("aud".into(), json!(i.client.client_id));
    c.insert("event_id".into(), json!(i.grant.event_id));
    c.insert("token_use".into(), json!("id"));
    c.insert("auth_time".into(), json!(i.grant.auth_time));
    c.insert("iat".into(), json!(i.now));
    c.insert("exp".into(), json!(i.now + lifetime));
    i.changes.apply_to_id_token(&mut c);
    sign(i.view, KeyPurpose::Id, &c, i.now)
}

/// The machine-to-machine access token's claims: a fixed set, serialized without a map (this
/// is the hottest token).
#[derive(serde::Serialize)]
struct ClientClaims<'a> {
    sub: &'a str,
    client_id: &'a str,
    token_use: &'static str,
    scope: &'a str,
    auth_time: Timestamp,
    iss: &'a str,
    exp: Timestamp,
    iat: Timestamp,
    jti: &'a str,
    version: u8,
}

/// The machine-to-machine access token of `client_credentials` (spec §13.3).
pub fn client_access_token(
    view: &PoolView,
    client: &ClientRecord,
    scopes: &[String],
    now: Timestamp,
    changes: Option<&TokenChanges>,
) -> Result<(String, i64), OAuthError> {
    let lifetime = client.config.access_token_seconds();
    let scopes: std::borrow::Cow<'_, [String]> = match changes {
        Some(c) => c.scopes(scopes).into(),
        None => scopes.into(),
    };
    let claims = ClientClaims {
        sub: &client.client_id,
        client_id: &client.client_id,
        token_use: "access",
        scope: &scopes.join(" "),
        auth_time: now,
        iss: &view.issuer,
        exp: now + lifetime,
        iat: now,
        jti: &new_uuid(),
        version: 2,
    };
    if let Some(changes) = changes {
        let Value::Object(mut map) = serde_json::to_value(&claims).expect("claims serialize")
        else {
            unreachable!("a struct serializes to an object")
        };
        changes.apply_to_access_token(&mut map);
        return Ok((sign(view, KeyPurpose::Access, &map, now)?, lifetime));
    }
    let body = serde_json::to_vec(&claims).expect("claims serialize");
    Ok((sign_bytes(view, KeyPurpose::Access, &body, now)?, lifetime))
}

/// The `client_id` a token claims, read without checking it: only to find the pool whose keys
/// then check it.
pub fn claimed_client_id(token: &str) -> Option<String> {
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&payload).ok()?;
    claims.get("client_id")?.as_str().map(String::from)
}

/// Verifies one of this pool's access tokens: our signature, our issuer, `token_use: access`,
/// not expired. Returns its claims; every failure is `invalid_token`.
pub fn verify_access_token(
    view: &PoolView,
    token: &str,
    now: Timestamp,
) -> Result<Map<String, Value>, OAuthError> {
    let invalid = || OAuthError::new(ErrorCode::InvalidToken);
    let claims = view.keys.verify_jwt(token).ok_or_else(invalid)?;
    let ok = claims.get("iss").and_then(Value::as_str) == Some(view.issuer.as_str())
        && claims.get("token_use").and_then(Value::as_str) == Some("access")
        && claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp > now);
    if ok { Ok(claims) } else { Err(invalid()) }
}
