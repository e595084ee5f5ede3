//! `GET /logout` (spec §8): ends the managed-login session, then goes to a registered sign-out
//! URL, or back to sign-in. Never redirects to an unregistered URL.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;

use crate::host::DomainPool;
use crate::respond::redirect;
use crate::state::AppState;
use crate::{html, session};

#[derive(Debug, Deserialize)]
pub(crate) struct LogoutParams {
    client_id: Option<String>,
    logout_uri: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    headers: HeaderMap,
    Query(p): Query<LogoutParams>,
) -> Response {
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let Some(client) = nonempty(&p.client_id).and_then(|id| view.clients.get(&id)) else {
        return html::error_page("invalid_request");
    };
    let c = &client.config;
    let location = if let Some(uri) = nonempty(&p.logout_uri) {
        // With logout_uri, every other parameter is ignored.
        if !c.logout_urls.contains(&uri) {
            return html::error_page("redirect_mismatch");
        }
        uri
    } else if let Some(uri) = nonempty(&p.redirect_uri) {
        if !c.callback_urls.contains(&uri) {
            return html::error_page("redirect_mismatch");
        }
        let Some(rt) = nonempty(&p.response_type) else {
            return html::error_page("invalid_request");
        };
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", &client.client_id);
        q.append_pair("response_type", &rt);
        q.append_pair("redirect_uri", &uri);
        let scope = nonempty(&p.scope).unwrap_or_else(|| c.allowed_oauth_scopes.join(" "));
        q.append_pair("scope", &scope);
        for (k, v) in [("state", &p.state), ("nonce", &p.nonce)] {
            if let Some(v) = nonempty(v) {
                q.append_pair(k, &v);
            }
        }
        format!("/login?{}", q.finish())
    } else {
        return html::error_page("invalid_request");
    };
    let (clear, ended) = match session::end(&state, &view, &headers).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "ending the session failed");
            return html::error_page("server_error");
        }
    };
    // A session from a SAML IdP with single logout goes through the IdP first (spec §12.2).
    let location = match ended.and_then(|p| p.saml) {
        Some(login) => crate::saml::begin_logout(&state, &view, &login, &location)
            .await
            .unwrap_or(location),
        None => location,
    };
    let mut r = redirect(&location);
    r.headers_mut().append(header::SET_COOKIE, clear);
    r
}
