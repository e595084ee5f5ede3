//! Validation of a provider's ID token with the `openidconnect` crate: signature by `kid`
//! against the provider's JWKS (or HMAC with the client secret), issuer, audience, expiry and
//! nonce. Claims are read from the token only after it verified. The key set comes from the
//! connector's cache and is refetched when a token names a key it lacks.

use std::sync::Arc;

use base64::Engine as _;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{
    ClaimsVerificationError, ClientId, ClientSecret, IssuerUrl, Nonce, SignatureVerificationError,
};
use serde_json::{Map, Value};
use userpool_core::federation::FederationError;
use userpool_core::time::Timestamp;

use crate::cache::{Cache, Want};
use crate::fetch::read_capped;
use crate::transport;

/// Fetches a provider's key set (Core 1.0 §10.1.1, `jwks_uri`).
pub(crate) async fn fetch_jwks(
    http: &reqwest::Client,
    url: &str,
) -> Result<CoreJsonWebKeySet, FederationError> {
    let r = http
        .get(url)
        .send()
        .await
        .map_err(|e| transport("jwks", &e))?;
    if !r.status().is_success() {
        return Err(FederationError::Connection(format!(
            "jwks answered {}",
            r.status().as_u16()
        )));
    }
    let body = read_capped(r).await.map_err(|e| e.at("jwks"))?;
    serde_json::from_slice(&body)
        .map_err(|e| FederationError::InvalidIdToken(format!("unreadable JWKS: {e}")))
}

/// Why a token was refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No key of the set matches the token's header: the provider may have rotated its keys
    /// since we fetched the set (Core 1.0 §10.1.1).
    UnknownKey(FederationError),
    Invalid(FederationError),
}

impl From<Refusal> for FederationError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::UnknownKey(e) | Refusal::Invalid(e) => e,
        }
    }
}

/// What an ID token must show (Core 1.0 §3.1.3.7).
pub(crate) struct Expected<'a> {
    /// For the metrics of the key set's fetches.
    pub provider_type: &'a str,
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// For HMAC-signed tokens; `None` refuses them.
    pub client_secret: Option<&'a str>,
    pub nonce: &'a str,
}

/// Verifies `token` against the key set at `jwks_url`, from `keys`. When no key matches, a
/// newer set is asked for once (the provider may have rotated, Core 1.0 §10.1.1); the cache
/// spaces such refetches, so tokens with made-up `kid`s cannot make us call the provider.
pub(crate) async fn verify_cached(
    http: &reqwest::Client,
    keys: &Cache<CoreJsonWebKeySet>,
    jwks_url: &str,
    now: Timestamp,
    token: &str,
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, FederationError> {
    let fetch = || crate::observed(expected.provider_type, "jwks", fetch_jwks(http, jwks_url));
    let set = keys.get(jwks_url, now, Want::Fresh, fetch).await?;
    match verify(token, &set, expected) {
        Err(Refusal::UnknownKey(e)) => {
            let newer = keys
                .get(jwks_url, now, Want::NewerThan(&set), fetch)
                .await?;
            if Arc::ptr_eq(&newer, &set) {
                return Err(e);
            }
            Ok(verify(token, &newer, expected)?)
        }
        other => Ok(other?),
    }
}

/// Verifies `token` and returns all of its claims.
pub(crate) fn verify(
    token: &str,
    jwks: &CoreJsonWebKeySet,
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, Refusal> {
    let invalid = |e: String| Refusal::Invalid(FederationError::InvalidIdToken(e));
    let parsed: CoreIdToken = token.parse().map_err(|e| invalid(format!("{e}")))?;
    let issuer = IssuerUrl::new(expected.issuer.to_string()).map_err(|e| invalid(e.to_string()))?;
    let client_id = ClientId::new(expected.client_id.to_string());
    // The verifier owns its key set: a copy of a few KiB per sign-in.
    let verifier = match expected.client_secret {
        Some(secret) => CoreIdTokenVerifier::new_confidential_client(
            client_id,
            ClientSecret::new(secret.to_string()),
            issuer,
            jwks.clone(),
        ),
        None => CoreIdTokenVerifier::new_public_client(client_id, issuer, jwks.clone()),
    };
    match parsed.claims(&verifier, &Nonce::new(expected.nonce.to_string())) {
        Ok(_) => {}
        Err(
            e @ ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ),
        ) => {
            return Err(Refusal::UnknownKey(FederationError::InvalidIdToken(
                e.to_string(),
            )));
        }
        Err(e) => return Err(invalid(e.to_string())),
    }
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| invalid("not a JWS".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| invalid(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use userpool_core::keys::{KeyPurpose, KeyRing, MasterKey, new_signing_key};

    use super::*;

    fn ring(seed: u8) -> KeyRing {
        let m = MasterKey::from_bytes(&[seed; 32]);
        let rec = new_signing_key("idp", KeyPurpose::Id, &m, 0, 0);
        KeyRing::load(&[rec], &m, 0).unwrap()
    }

    fn set(r: &KeyRing) -> CoreJsonWebKeySet {
        serde_json::from_value(serde_json::to_value(r.jwks()).unwrap()).unwrap()
    }

    const EXPECTED: Expected<'static> = Expected {
        provider_type: "OIDC",
        issuer: "https://idp.test",
        client_id: "rp",
        client_secret: None,
        nonce: "n-1",
    };

    fn token(r: &KeyRing, nonce: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({"iss": "https://idp.test", "aud": "rp", "sub": "s", "nonce": nonce,
            "iat": now, "exp": now + 300});
        r.signer(KeyPurpose::Id, 0)
            .unwrap()
            .sign_jwt(claims.to_string().as_bytes())
    }

    #[test]
    fn only_a_missing_key_is_told_apart_from_other_refusals() {
        let (old, new) = (ring(1), ring(2));
        let t = token(&new, "n-1");
        assert_eq!(verify(&t, &set(&new), &EXPECTED).unwrap()["sub"], "s");
        assert!(matches!(
            verify(&t, &set(&old), &EXPECTED),
            Err(Refusal::UnknownKey(FederationError::InvalidIdToken(_)))
        ));
        // A bad token signed by a known key is no reason to refetch.
        assert!(matches!(
            verify(&token(&new, "other"), &set(&new), &EXPECTED),
            Err(Refusal::Invalid(_))
        ));
    }
}
