//! How a sign-in moves on after the password: to a pending step (new password, TOTP set-up or
//! code) held behind a short-lived cookie, or to the session and the grant.

use axum::http::{HeaderMap, header};
use axum::response::Response;
use userpool_core::crypto::{TokenHash, random_token};
use userpool_core::directory::PoolView;
use userpool_core::lifecycle::{self, MfaStep, totp};
use userpool_core::oauth::authorize::{Authenticated, AuthorizeParams, AuthorizeRequest};
use userpool_core::oauth::grant::new_uuid;
use userpool_core::store::{ChallengeRecord, StoreResult, UserRecord};

use super::failed;
use super::form::page_url;
use super::session::{self, Cookie};
use crate::oauth::authorize::{deliver, redirect};
use crate::state::AppState;

pub(crate) const NEW_PASSWORD: &str = "new_password";
pub(crate) const MFA_SETUP: &str = "mfa_setup";
pub(crate) const MFA: &str = "mfa";

/// The next step after a correct password: TOTP when the pool asks for it, else the grant.
pub(crate) async fn after_password(
    state: &AppState,
    view: &PoolView,
    params: &AuthorizeParams,
    req: &AuthorizeRequest,
    user: UserRecord,
) -> Response {
    match lifecycle::mfa_step(&view.pool.config, &user) {
        MfaStep::None => finish(state, view, req, &user, None).await,
        MfaStep::Verify => start_challenge(state, view, params, &user, MFA, "{}").await,
        MfaStep::Setup => {
            let secret = totp::new_secret();
            let sealed = totp::seal(&state.master, &view.pool.id, &user.username, &secret);
            let payload = serde_json::json!({ "secret": sealed }).to_string();
            start_challenge(state, view, params, &user, MFA_SETUP, &payload).await
        }
    }
}

/// Holds the sign-in at a step: a challenge record, its cookie, and a redirect to its page.
pub(crate) async fn start_challenge(
    state: &AppState,
    view: &PoolView,
    params: &AuthorizeParams,
    user: &UserRecord,
    kind: &str,
    payload: &str,
) -> Response {
    let now = state.clock.now();
    let client = params.client_id.as_ref().and_then(|c| view.clients.get(c));
    let lifetime =
        lifecycle::challenge_lifetime(client.and_then(|c| c.config.auth_session_validity));
    let value = random_token();
    let record = ChallengeRecord {
        hash: TokenHash::of(&value),
        pool_id: view.pool.id.clone(),
        username: user.username.clone(),
        kind: kind.to_string(),
        payload: payload.to_string(),
        created_at: now,
        expires_at: now + lifetime,
    };
    if let Err(e) = state.store.insert_challenge(&record).await {
        return failed("starting a sign-in step", e);
    }
    let path = match kind {
        NEW_PASSWORD => "/newPassword",
        _ => "/mfa",
    };
    let mut r = redirect(&page_url(path, params, &[]));
    r.headers_mut().append(
        header::SET_COOKIE,
        Cookie::Challenge.set(state, &value, lifetime),
    );
    r
}

/// The pending step of this browser, if it is live, of this pool, and of one of `kinds`.
pub(crate) async fn pending(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    kinds: &[&str],
) -> StoreResult<Option<(ChallengeRecord, UserRecord)>> {
    let Some(value) = Cookie::Challenge.read(state, headers) else {
        return Ok(None);
    };
    let Some(c) = state.store.get_challenge(&TokenHash::of(&value)).await? else {
        return Ok(None);
    };
    if c.pool_id != view.pool.id
        || c.expires_at <= state.clock.now()
        || !kinds.contains(&c.kind.as_str())
    {
        return Ok(None);
    }
    match state.store.get_user(&view.pool.id, &c.username).await? {
        Some(u) if u.enabled => Ok(Some((c, u))),
        _ => Ok(None),
    }
}

/// Uses the pending step up: true when this request took it (a racing one did not).
pub(crate) async fn take(state: &AppState, challenge: &ChallengeRecord) -> StoreResult<bool> {
    Ok(state.store.take_challenge(&challenge.hash).await?.is_some())
}

/// The end of every successful sign-in: a new session, the step cookie cleared, the grant.
pub(crate) async fn finish(
    state: &AppState,
    view: &PoolView,
    req: &AuthorizeRequest,
    user: &UserRecord,
    saml: Option<session::SamlLogin>,
) -> Response {
    let now = state.clock.now();
    let payload = session::SessionPayload {
        event_id: new_uuid(),
        saml,
    };
    let cookie = match session::start(state, view, user, &payload, now).await {
        Ok(c) => c,
        Err(e) => return failed("starting the session", e),
    };
    let who = Authenticated {
        user,
        auth_time: now,
        event_id: &payload.event_id,
    };
    let mut r = deliver(state, view, req, who, Some(cookie)).await;
    r.headers_mut()
        .append(header::SET_COOKIE, Cookie::Challenge.set(state, "", 0));
    r
}
