//! Validation of a provider's ID token with the `openidconnect` crate: signature by `kid`
//! against the provider's JWKS (or HMAC with the client secret), issuer, audience, expiry and
//! nonce. Claims are read from the token only after it verified.

use base64::Engine as _;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce};
use serde_json::{Map, Value};
use userpool_core::federation::FederationError;

use crate::transport;

pub(crate) async fn fetch_jwks(
    http: &reqwest::Client,
    url: &str,
) -> Result<CoreJsonWebKeySet, FederationError> {
    let r = http
        .get(url)
        .send()
        .await
        .map_err(|e| match transport("jwks", &e) {
            FederationError::Timeout { .. } => FederationError::Timeout { endpoint: "jwks" },
            other => other,
        })?;
    if !r.status().is_success() {
        return Err(FederationError::Connection(format!(
            "jwks answered {}",
            r.status().as_u16()
        )));
    }
    r.json()
        .await
        .map_err(|e| FederationError::InvalidIdToken(format!("unreadable JWKS: {e}")))
}

/// Verifies `token` and returns all of its claims.
pub(crate) fn verify(
    token: &str,
    jwks: CoreJsonWebKeySet,
    issuer: &str,
    client_id: &str,
    client_secret: Option<&str>,
    nonce: &str,
) -> Result<Map<String, Value>, FederationError> {
    let invalid = |e: String| FederationError::InvalidIdToken(e);
    let parsed: CoreIdToken = token.parse().map_err(|e| invalid(format!("{e}")))?;
    let issuer = IssuerUrl::new(issuer.to_string()).map_err(|e| invalid(e.to_string()))?;
    let verifier = match client_secret {
        Some(secret) => CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(client_id.to_string()),
            ClientSecret::new(secret.to_string()),
            issuer,
            jwks,
        ),
        None => CoreIdTokenVerifier::new_public_client(
            ClientId::new(client_id.to_string()),
            issuer,
            jwks,
        ),
    };
    parsed
        .claims(&verifier, &Nonce::new(nonce.to_string()))
        .map_err(|e| invalid(e.to_string()))?;
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| invalid("not a JWS".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| invalid(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))
}
