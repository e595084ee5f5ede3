//! `GET /oauth2/authorize` and `/authorize` (spec §4): checks, then the grant at once for a
//! browser with a session, `login_required` for `prompt=none`, or the sign-in page.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use userpool_core::directory::PoolView;
use userpool_core::oauth::authorize::{
    self, Authenticated, AuthorizeParams, AuthorizeRequest, Rejection,
};
use userpool_core::oauth::{ErrorCode, OAuthError};

use crate::host::DomainPool;
use crate::login::session;
use crate::state::AppState;

/// A 302 that no cache keeps.
pub(crate) fn redirect(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    let h = r.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            h.insert(header::LOCATION, v);
        }
        Err(_) => return crate::login::html::error_page("invalid_request"),
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Where a rejected request goes: our error page (via `/error`, as Cognito does) or the client.
pub(crate) fn reject(rejection: Rejection) -> Response {
    match rejection {
        Rejection::Page { error, client_id } => {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("error", error);
            if let Some(c) = &client_id {
                q.append_pair("client_id", c);
            }
            redirect(&format!("/error?{}", q.finish()))
        }
        Rejection::Redirect {
            redirect_uri,
            error,
            state,
        } => redirect(&authorize::error_location(
            &redirect_uri,
            &error,
            state.as_deref(),
        )),
    }
}

/// Sends an error of a valid request to the client.
pub(crate) fn to_client(req: &AuthorizeRequest, error: OAuthError) -> Response {
    reject(Rejection::Redirect {
        redirect_uri: req.redirect_uri.clone(),
        error,
        state: req.state.clone(),
    })
}

/// Issues the grant for a signed-in user and redirects to the client.
pub(crate) async fn deliver(
    state: &AppState,
    view: &PoolView,
    req: &AuthorizeRequest,
    who: Authenticated<'_>,
    set_cookie: Option<HeaderValue>,
) -> Response {
    let mut r = match authorize::issue(&*state.store, view, req, who, state.clock.now()).await {
        Ok(location) => redirect(&location),
        Err(e) => to_client(req, e),
    };
    if let Some(c) = set_cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

pub(crate) async fn authorize(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = AuthorizeParams::from_query(query.as_deref().unwrap_or(""));
    let req = match authorize::check(&view, &params) {
        Ok(r) => r,
        Err(rejection) => return reject(rejection),
    };
    if let Some(name) = &req.external_provider {
        let is_saml = view
            .identity_providers
            .get(name)
            .is_some_and(|i| i.config.provider_type == "SAML");
        return if is_saml {
            crate::saml::begin(&state, &view, &params, &req, name).await
        } else {
            crate::federation::begin(&state, &view, &params, &req, name).await
        };
    }
    if !req.prompt_login {
        match session::current(&state, &view, &headers, state.clock.now()).await {
            Ok(Some((session, payload, user))) => {
                let who = Authenticated {
                    user: &user,
                    auth_time: session.auth_time,
                    event_id: &payload.event_id,
                };
                return deliver(&state, &view, &req, who, None).await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "reading the session failed");
                return to_client(&req, OAuthError::server_error());
            }
        }
    }
    if req.prompt_none {
        return to_client(&req, OAuthError::new(ErrorCode::LoginRequired));
    }
    redirect(&format!("/login?{}", params.to_query()))
}
