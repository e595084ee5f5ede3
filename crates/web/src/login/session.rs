//! The managed-login session cookie (one hour, HttpOnly, SameSite=Lax, Secure on https) and
//! CSRF tokens bound to a per-browser cookie by HMAC, so any node can check them.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use userpool_core::crypto::{TokenHash, random_token};
use userpool_core::directory::PoolView;
use userpool_core::store::{SessionRecord, StoreResult, UserRecord};
use userpool_core::time::Timestamp;

use crate::state::AppState;

/// The managed-login cookie lasts one hour and cannot be changed (spec §5.2).
pub(crate) const SESSION_SECONDS: i64 = 3600;

/// Cookie names: `__Host-` prefixed on https, where the prefix's rules can hold.
pub(crate) fn session_cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Host-userpool-session"
    } else {
        "userpool-session"
    }
}

pub(crate) fn csrf_cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Host-userpool-csrf"
    } else {
        "userpool-csrf"
    }
}

/// The value of cookie `name`, if the request has it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are base64url")
}

/// What a session remembers about its sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionPayload {
    pub(crate) event_id: String,
}

/// The signed-in user of this browser on this pool, if the session is live.
pub(crate) async fn current(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    now: Timestamp,
) -> StoreResult<Option<(SessionRecord, SessionPayload, UserRecord)>> {
    let Some(value) = cookie(headers, session_cookie_name(state)) else {
        return Ok(None);
    };
    let Some(session) = state.store.get_session(&TokenHash::of(&value)).await? else {
        return Ok(None);
    };
    if session.pool_id != view.pool.id || session.expires_at <= now {
        return Ok(None);
    }
    let Ok(payload) = serde_json::from_str::<SessionPayload>(&session.payload) else {
        return Ok(None);
    };
    match state
        .store
        .get_user(&view.pool.id, &session.username)
        .await?
    {
        Some(u) if u.enabled => Ok(Some((session, payload, u))),
        _ => Ok(None),
    }
}

/// Starts a new session (a new identifier on every sign-in) and returns its cookie.
pub(crate) async fn start(
    state: &AppState,
    view: &PoolView,
    user: &UserRecord,
    payload: &SessionPayload,
    now: Timestamp,
) -> StoreResult<HeaderValue> {
    let value = random_token();
    state
        .store
        .insert_session(&SessionRecord {
            hash: TokenHash::of(&value),
            pool_id: view.pool.id.clone(),
            username: user.username.clone(),
            payload: serde_json::to_string(payload).expect("session payload serializes"),
            auth_time: now,
            created_at: now,
            expires_at: now + SESSION_SECONDS,
        })
        .await?;
    Ok(set_cookie(
        state,
        session_cookie_name(state),
        &value,
        SESSION_SECONDS,
    ))
}

/// Ends this browser's session (server side too) and returns the cookie that clears it.
pub(crate) async fn end(state: &AppState, headers: &HeaderMap) -> StoreResult<HeaderValue> {
    if let Some(value) = cookie(headers, session_cookie_name(state)) {
        state.store.delete_session(&TokenHash::of(&value)).await?;
    }
    Ok(set_cookie(state, session_cookie_name(state), "", 0))
}

/// The browser's CSRF cookie value, and a `Set-Cookie` when a new one had to be made.
pub(crate) fn csrf_cookie(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, csrf_cookie_name(state)).filter(|v| v.len() >= 32) {
        Some(v) => (v, None),
        None => {
            let v = random_token();
            let c = set_cookie(state, csrf_cookie_name(state), &v, 86400);
            (v, Some(c))
        }
    }
}

/// The form token for a CSRF cookie value: HMAC under a key every node derives alike.
pub(crate) fn csrf_token(state: &AppState, cookie_value: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &state.csrf_key);
    URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&key, cookie_value.as_bytes()))
}

/// A form post is genuine when it comes from a same-origin page and carries the token that
/// matches this browser's CSRF cookie.
pub(crate) fn csrf_ok(state: &AppState, headers: &HeaderMap, form_token: Option<&str>) -> bool {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site");
    let (Some(cookie_value), Some(token)) = (cookie(headers, csrf_cookie_name(state)), form_token)
    else {
        return false;
    };
    let expected = csrf_token(state, &cookie_value);
    !cross_site
        && aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), token.as_bytes())
            .is_ok()
}
