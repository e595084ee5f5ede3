//! Browser-bound pending records of outside sign-ins (OIDC, social, SAML) and of SAML
//! logout: the record keyed by the handle the provider sends back, the redirect that parks it
//! behind the federation cookie, and the one-time take that checks pool, lifetime and binding.

use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Serialize;
use serde::de::DeserializeOwned;
use userpool_core::crypto::TokenHash;
use userpool_core::directory::PoolView;
use userpool_core::oauth::OAuthError;
use userpool_core::oauth::authorize::AuthorizeRequest;
use userpool_core::store::{ChallengeRecord, PendingKind};
use userpool_core::time::Timestamp;

use crate::html;
use crate::respond::{redirect, to_client};
use crate::session::Cookie;
use crate::state::AppState;

/// An unfinished federation is cancelled after five minutes (spec §5.2).
pub(crate) const LIFETIME: i64 = 300;

/// The record of a pending outside sign-in (or SAML logout), keyed by the handle the
/// provider sends back (`state`, RelayState); it lives five minutes.
pub(crate) fn pending_record(
    view: &PoolView,
    kind: PendingKind,
    handle: &str,
    payload: &impl Serialize,
    now: Timestamp,
) -> ChallengeRecord {
    ChallengeRecord {
        hash: TokenHash::of(handle),
        pool_id: view.pool.id.clone(),
        username: String::new(),
        kind,
        payload: serde_json::to_string(payload).expect("serializable"),
        created_at: now,
        expires_at: now + LIFETIME,
    }
}

/// Stores the pending sign-in and sends the browser to `url`, bound to the record by the
/// federation cookie.
pub(crate) async fn park(
    state: &AppState,
    req: &AuthorizeRequest,
    record: &ChallengeRecord,
    binding: &str,
    url: &str,
) -> Response {
    if let Err(e) = state.store.insert_challenge(record).await {
        tracing::error!(error = %e, kind = record.kind.as_str(), "storing the pending sign-in failed");
        return to_client(req, OAuthError::server_error());
    }
    let mut r = redirect(url);
    r.headers_mut().append(
        header::SET_COOKIE,
        Cookie::Federation.set(state, binding, LIFETIME),
    );
    r
}

/// The pending record of `kind` under `handle`, taken only once it is known to be this
/// pool's, live, and bound to this browser: someone who learns a handle (it travels in URLs)
/// cannot spend another browser's pending sign-in. `Ok(None)`: no such record.
pub(crate) async fn take_pending<T: DeserializeOwned>(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    kind: PendingKind,
    handle: &str,
    binding_of: impl Fn(&T) -> &String,
) -> Result<Option<T>, Response> {
    let hash = TokenHash::of(handle);
    let record = match state.store.get_challenge(&hash).await {
        Ok(Some(r)) if r.kind == kind => r,
        Ok(_) => return Ok(None),
        Err(e) => {
            tracing::error!(error = %e, kind = kind.as_str(), "reading the pending sign-in failed");
            return Err(html::error_page("server_error"));
        }
    };
    let Ok(pending) = serde_json::from_str::<T>(&record.payload) else {
        return Err(html::error_page("invalid_state"));
    };
    let bound = Cookie::Federation.read(state, headers).is_some_and(|c| {
        TokenHash::of(&c).matches_hash(&TokenHash::from_stored(binding_of(&pending).clone()))
    });
    if record.pool_id != view.pool.id || record.expires_at <= state.clock.now() || !bound {
        return Err(html::error_page("invalid_state"));
    }
    match state.store.take_challenge(&hash).await {
        Ok(Some(_)) => Ok(Some(pending)),
        // Taken by a racing request a moment ago.
        Ok(None) => Err(html::error_page("invalid_state")),
        Err(e) => {
            tracing::error!(error = %e, kind = kind.as_str(), "taking the pending sign-in failed");
            Err(html::error_page("server_error"))
        }
    }
}
