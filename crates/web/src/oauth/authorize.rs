//! `GET /oauth2/authorize` and `/authorize` (spec §4): checks, then the grant at once for a
//! browser with a session, `login_required` for `prompt=none`, or the sign-in page.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use userpool_core::directory::PoolView;
use userpool_core::oauth::authorize::{self, Authenticated, AuthorizeParams, AuthorizeRequest};
use userpool_core::oauth::{ErrorCode, OAuthError};

use crate::complete::deliver;
use crate::host::DomainPool;
use crate::respond::{redirect, reject, to_client};
use crate::session;
use crate::state::AppState;

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
        return begin_outside(&state, &view, &params, &req, name).await;
    }
    if !req.prompt_login {
        match session::current(&state, &view, &headers, state.clock.now()).await {
            // A session signs in silently only through a provider this client offers: a
            // local user's session is no way into an SSO-only client, nor one provider's
            // into another's.
            Ok(Some((session, payload, user)))
                if view
                    .clients
                    .get(&req.client_id)
                    .is_some_and(|c| authorize::session_serves(c, payload.provider.as_deref())) =>
            {
                let who = Authenticated {
                    user: &user,
                    auth_time: session.auth_time,
                    event_id: &payload.event_id,
                };
                return deliver(&state, &view, &req, who, None).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "reading the session failed");
                return to_client(&req, OAuthError::server_error());
            }
        }
    }
    if req.prompt_none {
        return to_client(&req, OAuthError::new(ErrorCode::LoginRequired));
    }
    let sole = view
        .clients
        .get(&req.client_id)
        .and_then(|c| authorize::sole_outside_provider(&view, c));
    if let Some(name) = sole {
        return begin_outside(&state, &view, &params, &req, &name).await;
    }
    redirect(&format!("/login?{}", params.to_query()))
}

/// Starts the sign-in at an outside provider, SAML or OIDC.
async fn begin_outside(
    state: &AppState,
    view: &PoolView,
    params: &AuthorizeParams,
    req: &AuthorizeRequest,
    name: &str,
) -> Response {
    let is_saml = view
        .identity_providers
        .get(name)
        .is_some_and(|i| i.config.provider_type == "SAML");
    if is_saml {
        crate::saml::begin(state, view, params, req, name).await
    } else {
        crate::federation::begin(state, view, params, req, name).await
    }
}
