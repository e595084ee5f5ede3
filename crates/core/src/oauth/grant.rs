//! What an authorization code or a refresh token grants, and the token response.

use serde::{Deserialize, Serialize};

/// One user's authorization of one client: stored (as JSON) behind a code and behind each
/// refresh token of the family it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    pub username: String,
    pub scopes: Vec<String>,
    /// When the user authenticated; kept across refreshes.
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The `redirect_uri` of the authorize request (codes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The S256 PKCE challenge (codes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// The family of every token issued from this grant (`origin_jti`).
    pub origin_jti: String,
    /// The authentication event (`event_id`).
    pub event_id: String,
    /// Issued by the API's sign-in (`InitiateAuth`), not through the OAuth endpoints: the ID
    /// token then always comes, with every attribute the client reads, and no `at_hash`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub via_api: bool,
    /// The remembered device the sign-in came from (`device_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
}

/// The one scope of tokens from the API's sign-in: it authorizes the user's own operations.
pub const USER_ADMIN_SCOPE: &str = "aws.cognito.signin.user.admin";

impl Grant {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("grants serialize")
    }

    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// The token endpoint's success body (spec §6.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub expires_in: i64,
    pub token_type: &'static str,
}

/// A new UUID (v4) for `jti`, `origin_jti` and `event_id`, from the thread-local CSPRNG (no
/// system call per token).
pub fn new_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// A new `event_id`: a UUID v7 (RFC 9562 §5.7) whose first 48 bits are the authentication
/// instant in Unix milliseconds, so a token's sign-in can be ordered against the user's token
/// cut-off (a password reset, a global sign-out) to the millisecond.
pub fn new_event_id(now_ms: i64) -> String {
    let random: [u8; 10] = rand::random();
    uuid::Builder::from_unix_timestamp_millis(now_ms.max(0) as u64, &random)
        .into_uuid()
        .to_string()
}

/// The authentication instant of an `event_id` made by [`new_event_id`]; none for others.
pub fn event_instant_ms(event_id: &str) -> Option<i64> {
    let id = uuid::Uuid::parse_str(event_id).ok()?;
    if id.get_version_num() != 7 {
        return None;
    }
    let b = id.as_bytes();
    Some(
        b[..6]
            .iter()
            .fold(0i64, |acc, x| (acc << 8) | i64::from(*x)),
    )
}

/// A new refresh token: opaque, shaped like Cognito's (a five-part JWE compact string) with
/// 256 bits of entropy; only its hash is stored.
pub fn new_refresh_token() -> String {
    const HEADER: &str = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ";
    let part = crate::crypto::random_token;
    format!(
        "{HEADER}.{}.{}.{}.{}",
        part(),
        &part()[..16],
        part(),
        &part()[..22]
    )
}

#[cfg(test)]
mod event_id_tests {
    use super::*;

    #[test]
    fn an_event_id_carries_its_instant() {
        let id = new_event_id(1_800_000_000_123);
        assert_eq!(event_instant_ms(&id), Some(1_800_000_000_123));
        assert_eq!(event_instant_ms(&new_uuid()), None);
        assert_ne!(id, new_event_id(1_800_000_000_123));
    }
}
