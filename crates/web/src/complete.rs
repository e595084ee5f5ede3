//! The end of every successful sign-in, whatever the front door (managed login, OIDC
//! federation, SAML): a new session, the step cookie cleared, and the grant delivered to the
//! client.

use axum::http::{HeaderValue, header};
use axum::response::Response;
use userpool_core::auth::SignedIn;
use userpool_core::directory::PoolView;
use userpool_core::oauth::authorize::{self, Authenticated, AuthorizeRequest};
use userpool_core::oauth::grant::new_event_id;

use crate::html;
use crate::respond::{redirect, to_client};
use crate::session::{self, Cookie};
use crate::state::AppState;

/// Issues the grant for a signed-in user and redirects to the client.
pub(crate) async fn deliver(
    state: &AppState,
    view: &PoolView,
    req: &AuthorizeRequest,
    who: Authenticated<'_>,
    set_cookie: Option<HeaderValue>,
) -> Response {
    let now = state.clock.now();
    let triggers = &state.auth.triggers;
    let mut r = match authorize::issue(&*state.store, view, req, who, now, triggers).await {
        Ok(location) => redirect(&location),
        Err(e) => to_client(req, e),
    };
    if let Some(c) = set_cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// The end of every successful sign-in: a new session, the step cookie cleared, the grant.
pub(crate) async fn finish(
    state: &AppState,
    view: &PoolView,
    req: &AuthorizeRequest,
    signed_in: &SignedIn,
    saml: Option<session::SamlLogin>,
) -> Response {
    end_sign_in(state, view, req, signed_in, saml, None).await
}

/// [`finish`], but the browser goes to `then` (a page of the signed-in user, such as the offer
/// to add a passkey) with its new session instead of to the client; that page continues at
/// the authorization endpoint, which finds the session.
pub(crate) async fn finish_then(
    state: &AppState,
    view: &PoolView,
    req: &AuthorizeRequest,
    signed_in: &SignedIn,
    then: &str,
) -> Response {
    end_sign_in(state, view, req, signed_in, None, Some(then)).await
}

async fn end_sign_in(
    state: &AppState,
    view: &PoolView,
    req: &AuthorizeRequest,
    signed_in: &SignedIn,
    saml: Option<session::SamlLogin>,
    then: Option<&str>,
) -> Response {
    let now = state.clock.now();
    let user = &signed_in.user;
    if let Some(client) = view.clients.get(&req.client_id)
        && let Err(e) = state
            .auth
            .post_authentication(view, client, signed_in, &Default::default())
            .await
    {
        // After the user authenticated: the client hears it (spec §5.3).
        return to_client(req, e.into());
    }
    let payload = session::SessionPayload {
        // The sign-in's instant, from before the user was read: a password reset that came
        // after it outlives nothing this session makes.
        event_id: new_event_id(signed_in.started_ms),
        provider: signed_in.provider.clone(),
        saml,
    };
    let cookie = match session::start(state, view, user, &payload, now).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "starting the session failed");
            return html::error_page("server_error");
        }
    };
    let mut r = match then {
        Some(url) => {
            let mut r = redirect(url);
            r.headers_mut().append(header::SET_COOKIE, cookie);
            r
        }
        None => {
            let who = Authenticated {
                user,
                auth_time: now,
                event_id: &payload.event_id,
            };
            deliver(state, view, req, who, Some(cookie)).await
        }
    };
    r.headers_mut()
        .append(header::SET_COOKIE, Cookie::Challenge.set(state, "", 0));
    r
}
