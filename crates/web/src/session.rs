//! The browser's cookies (session, CSRF, pending step, federation binding) and the session
//! records: the managed-login session cookie (one hour, HttpOnly, SameSite=Lax, Secure on
//! https), CSRF tokens bound to a per-browser cookie by HMAC, so any node can check them, and
//! the SAML tagging of sessions that single logout looks them up by.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use userpool_core::crypto::{TokenHash, random_token};
use userpool_core::directory::PoolView;
use userpool_core::oauth::token::authenticated_before_cutoff;
use userpool_core::store::{SamlSessionRecord, SessionRecord, StoreResult, UserRecord};
use userpool_core::time::Timestamp;

use crate::state::AppState;

/// The managed-login cookie lasts one hour and cannot be changed (spec §5.2).
pub(crate) const SESSION_SECONDS: i64 = 3600;

/// The cookies of the managed-login pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cookie {
    Session,
    Csrf,
    /// A pending sign-in step (new password, MFA).
    Challenge,
    /// Binds a pending federation to the browser.
    Federation,
}

impl Cookie {
    /// `__Host-` prefixed on https, where the prefix's rules can hold.
    pub(crate) fn name(self, state: &AppState) -> &'static str {
        match (self, state.secure_cookies) {
            (Cookie::Session, true) => "__Host-userpool-session",
            (Cookie::Session, false) => "userpool-session",
            (Cookie::Csrf, true) => "__Host-userpool-csrf",
            (Cookie::Csrf, false) => "userpool-csrf",
            (Cookie::Challenge, true) => "__Host-userpool-auth",
            (Cookie::Challenge, false) => "userpool-auth",
            (Cookie::Federation, true) => "__Host-userpool-federation",
            (Cookie::Federation, false) => "userpool-federation",
        }
    }

    /// This cookie's value in the request, if any.
    pub(crate) fn read(self, state: &AppState, headers: &HeaderMap) -> Option<String> {
        cookie(headers, self.name(state))
    }

    /// `Set-Cookie` for this cookie: HttpOnly, whole site, SameSite=Lax. The federation
    /// binding is SameSite=None on https, so that Apple's cross-site form POST carries it.
    pub(crate) fn set(self, state: &AppState, value: &str, max_age: i64) -> HeaderValue {
        let attrs = match (self, state.secure_cookies) {
            (Cookie::Federation, true) => "; Secure; SameSite=None",
            (_, true) => "; Secure; SameSite=Lax",
            (_, false) => "; SameSite=Lax",
        };
        HeaderValue::from_str(&format!(
            "{}={value}; Path=/; HttpOnly; Max-Age={max_age}{attrs}",
            self.name(state)
        ))
        .expect("cookie values are base64url")
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

/// What a session remembers about its sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionPayload {
    pub(crate) event_id: String,
    /// The outside provider of the sign-in; none for the pool's own users (`COGNITO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) provider: Option<String>,
    /// Set when the user signed in through a SAML IdP: what single logout needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) saml: Option<SamlLogin>,
}

/// The SAML sign-in behind a session (spec §11.2: NameID and the first SessionIndex).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SamlLogin {
    pub(crate) provider: String,
    pub(crate) name_id: userpool_federation::saml::NameId,
    pub(crate) session_index: Option<String>,
}

/// The signed-in user of this browser on this pool, if the session is live and began after
/// the user's last password reset or global sign-out.
pub(crate) async fn current(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    now: Timestamp,
) -> StoreResult<Option<(SessionRecord, SessionPayload, UserRecord)>> {
    let Some(value) = Cookie::Session.read(state, headers) else {
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
        Some(u)
            if u.enabled
                && !authenticated_before_cutoff(
                    Some(&payload.event_id),
                    Some(session.auth_time),
                    &u,
                ) =>
        {
            Ok(Some((session, payload, u)))
        }
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
    if let Some(saml) = &payload.saml {
        tag_session(state, &view.pool.id, TokenHash::of(&value), saml).await?;
    }
    Ok(Cookie::Session.set(state, &value, SESSION_SECONDS))
}

/// The SAML subject key and session key of a NameID (and SessionIndex) at a pool's IdP:
/// what a session is filed under, and what an IdP's LogoutRequest is matched against.
pub(crate) fn subject_keys(
    pool_id: &str,
    provider: &str,
    name_id: &str,
    session_index: &str,
) -> (String, String) {
    let subject = TokenHash::of(&format!("{pool_id}\n{provider}\n{name_id}"));
    let session = TokenHash::of(&format!("{}\n{session_index}", subject.as_str()));
    (subject.as_str().to_string(), session.as_str().to_string())
}

/// Files a new session under its SAML identity, so an IdP's LogoutRequest can end it.
pub(crate) async fn tag_session(
    state: &AppState,
    pool_id: &str,
    session_hash: TokenHash,
    login: &SamlLogin,
) -> StoreResult<()> {
    let (subject_key, session_key) = subject_keys(
        pool_id,
        &login.provider,
        &login.name_id.value,
        login.session_index.as_deref().unwrap_or(""),
    );
    state
        .store
        .tag_saml_session(&SamlSessionRecord {
            session_hash,
            pool_id: pool_id.to_string(),
            subject_key,
            session_key,
        })
        .await
}

/// Ends this browser's session (server side too) and returns the cookie that clears it.
/// Also returns what the ended session remembered of its sign-in, if it was this pool's.
pub(crate) async fn end(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
) -> StoreResult<(HeaderValue, Option<SessionPayload>)> {
    let mut ended = None;
    if let Some(value) = Cookie::Session.read(state, headers) {
        let hash = TokenHash::of(&value);
        ended = state
            .store
            .get_session(&hash)
            .await?
            .filter(|s| s.pool_id == view.pool.id)
            .and_then(|s| serde_json::from_str(&s.payload).ok());
        state.store.delete_session(&hash).await?;
    }
    Ok((Cookie::Session.set(state, "", 0), ended))
}

/// The browser's CSRF cookie value, and a `Set-Cookie` when a new one had to be made.
pub(crate) fn csrf_cookie(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match Cookie::Csrf.read(state, headers).filter(|v| v.len() >= 32) {
        Some(v) => (v, None),
        None => {
            let v = random_token();
            let c = Cookie::Csrf.set(state, &v, 86400);
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
    let (Some(cookie_value), Some(token)) = (Cookie::Csrf.read(state, headers), form_token) else {
        return false;
    };
    let expected = csrf_token(state, &cookie_value);
    !cross_site
        && aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), token.as_bytes())
            .is_ok()
}
