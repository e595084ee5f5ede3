//! SAML single logout (spec §12): `/logout` of a session from an IdP with `IDPSignout` sends
//! a signed LogoutRequest and finishes when the LogoutResponse is POSTed to `/saml2/logout`;
//! a LogoutRequest POSTed by the IdP ends the matching sessions and is answered with a
//! signed LogoutResponse over the IdP's Redirect binding.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use userpool_core::crypto::{TokenHash, random_token};
use userpool_core::directory::PoolView;
use userpool_federation::saml::logout::{self as slo_message, Logout};
use userpool_federation::saml::{self, SamlError, messages, response};

use super::acs::fields;
use super::{is_on, saml_idp, signing_key, urls};
use crate::host::DomainPool;
use crate::html;
use crate::pending::pending_record;
use crate::respond::redirect;
use crate::session::{SamlLogin, subject_keys};
use crate::state::AppState;

use userpool_core::store::PendingKind;

const LOGOUT: PendingKind = PendingKind::SamlLogout;

/// What waits for the IdP's LogoutResponse.
#[derive(Serialize, Deserialize)]
struct PendingLogout {
    idp: String,
    request_id: String,
    /// Where `/logout` was going: the app's sign-out URL or back to sign-in.
    location: String,
}

/// For `/logout`: when the session came from an IdP with `IDPSignout`, the redirect that
/// carries our signed LogoutRequest to it (the local session is ended by the caller first,
/// so the user is signed out here even if the IdP never answers). `None`: plain logout.
pub(crate) async fn begin_logout(
    state: &AppState,
    view: &PoolView,
    login: &SamlLogin,
    location: &str,
) -> Option<String> {
    let idp = saml_idp(state, view, &login.provider).await.ok()?;
    let destination = idp.metadata.slo_redirect.clone()?;
    if !is_on(&idp.config, "IDPSignout") {
        return None;
    }
    let key = match signing_key(state, &view.pool.id).await {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "SAML logout cannot be signed");
            return None;
        }
    };
    let now = state.clock.now();
    let request_id = messages::new_id();
    let xml = messages::logout_request(
        &request_id,
        now,
        &destination,
        &saml::sp_entity_id(&view.pool.id),
        &login.name_id,
        login.session_index.as_deref(),
    );
    let relay = random_token();
    let pending = PendingLogout {
        idp: login.provider.clone(),
        request_id,
        location: location.to_string(),
    };
    let record = pending_record(view, LOGOUT, &relay, &pending, now);
    if let Err(e) = state.store.insert_challenge(&record).await {
        tracing::error!(error = %e, "storing the pending SAML logout failed");
        return None;
    }
    messages::redirect_url(&destination, "SAMLRequest", &xml, Some(&relay), Some(&key))
        .inspect_err(|e| tracing::error!(error = %e, "SAML logout request failed"))
        .ok()
}

/// Parsing and verifying untrusted XML is CPU work: it runs off the async workers.
async fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// Verifies a logout message from `idp` off the async workers.
async fn verify(
    idp: &super::SamlIdp,
    xml: &str,
    slo_url: &str,
    now: i64,
) -> Result<Logout, SamlError> {
    let (md, xml, slo_url) = (idp.metadata.clone(), xml.to_string(), slo_url.to_string());
    off_runtime(move || slo_message::verify(&xml, &md.entity_id, &md.signing_certs, &slo_url, now))
        .await
        .unwrap_or_else(|| {
            Err(SamlError::new(
                "Logout message could not be checked",
                "task failed",
            ))
        })
}

fn refused(e: &SamlError) -> Response {
    tracing::warn!(reason = e.public, detail = %e.detail, "SAML logout message refused");
    html::error_page("invalid_request")
}

/// `POST /saml2/logout` (POST binding only; other methods get 405 from the router).
pub(crate) async fn slo(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(f) = fields(&body, &["SAMLResponse", "SAMLRequest", "RelayState"]) else {
        return html::error_page("invalid_request");
    };
    let (Some((_, slo_url)), relay) = (urls(&state, &view), f[2].clone()) else {
        return html::error_page("server_error");
    };
    let (field, is_request) = match (&f[0], &f[1]) {
        (Some(r), None) => (r.clone(), false),
        (None, Some(r)) => (r.clone(), true),
        _ => return html::error_page("invalid_request"),
    };
    let peeked = off_runtime(move || {
        let xml = response::decode(&field)?;
        slo_message::peek(&xml).map(|p| (xml, p))
    })
    .await;
    let (xml, (peeked_request, issuer)) = match peeked {
        Some(Ok(p)) => p,
        Some(Err(e)) => return refused(&e),
        None => return html::error_page("server_error"),
    };
    if peeked_request != is_request {
        return html::error_page("invalid_request");
    }
    let now = state.clock.now();
    if is_request {
        idp_logout(
            &state,
            &view,
            &xml,
            &issuer,
            &slo_url,
            relay.as_deref(),
            now,
        )
        .await
    } else {
        logout_answered(&state, &view, &xml, &slo_url, relay.as_deref(), now).await
    }
}

/// The IdP's LogoutResponse to ours: finish where `/logout` was going.
async fn logout_answered(
    state: &AppState,
    view: &PoolView,
    xml: &str,
    slo_url: &str,
    relay: Option<&str>,
    now: i64,
) -> Response {
    // Checked, then verified, then taken: a forged answer cannot spend a real pending logout.
    let hash = TokenHash::of(relay.unwrap_or(""));
    let record = match state.store.get_challenge(&hash).await {
        Ok(Some(r)) if r.kind == LOGOUT && r.pool_id == view.pool.id && r.expires_at > now => r,
        Ok(_) => return html::error_page("invalid_state"),
        Err(e) => {
            tracing::error!(error = %e, "reading the pending SAML logout failed");
            return html::error_page("server_error");
        }
    };
    let Ok(p) = serde_json::from_str::<PendingLogout>(&record.payload) else {
        return html::error_page("invalid_state");
    };
    let idp = match saml_idp(state, view, &p.idp).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "SAML provider unusable");
            return html::error_page("server_error");
        }
    };
    match verify(&idp, xml, slo_url, now).await {
        Ok(Logout::Response {
            in_response_to,
            success,
        }) if in_response_to == p.request_id => {
            if !success {
                tracing::warn!(provider = %p.idp, "the IdP reports a failed logout");
            }
            match state.store.take_challenge(&hash).await {
                Ok(Some(_)) => redirect(&p.location),
                Ok(None) => html::error_page("invalid_state"),
                Err(e) => {
                    tracing::error!(error = %e, "taking the pending SAML logout failed");
                    html::error_page("server_error")
                }
            }
        }
        Ok(_) => refused(&SamlError::new(
            "Logout response does not match the request",
            "InResponseTo or message kind",
        )),
        Err(e) => refused(&e),
    }
}

/// A LogoutRequest from the IdP: end the sessions it names, answer with our signed
/// LogoutResponse (spec §12.3, our design).
async fn idp_logout(
    state: &AppState,
    view: &PoolView,
    xml: &str,
    issuer: &str,
    slo_url: &str,
    relay: Option<&str>,
    now: i64,
) -> Response {
    // The IdP is the pool's SAML IdP with this entity ID and single logout on.
    let mut found = None;
    for (name, rec) in &view.identity_providers {
        if rec.config.provider_type != "SAML" || !is_on(&rec.config, "IDPSignout") {
            continue;
        }
        if let Ok(idp) = saml_idp(state, view, name).await
            && idp.metadata.entity_id == issuer
        {
            found = Some((name.clone(), idp));
            break;
        }
    }
    let Some((name, idp)) = found else {
        return refused(&SamlError::new(
            "Unknown identity provider",
            "logout issuer",
        ));
    };
    let (id, name_id, indexes, keep_until) = match verify(&idp, xml, slo_url, now).await {
        Ok(Logout::Request {
            id,
            name_id,
            session_indexes,
            keep_until,
        }) => (id, name_id, session_indexes, keep_until),
        Ok(_) => return html::error_page("invalid_request"),
        Err(e) => return refused(&e),
    };
    let md = &idp.metadata;
    match state
        .store
        .first_saml_use(&view.pool.id, &id, keep_until)
        .await
    {
        Ok(true) => {}
        Ok(false) => return refused(&SamlError::new("Replayed logout", "logout ID seen before")),
        Err(e) => {
            tracing::error!(error = %e, "recording the logout request failed");
            return html::error_page("server_error");
        }
    }
    let (subject_key, _) = subject_keys(&view.pool.id, &name, &name_id.value, "");
    let session_keys: Vec<String> = indexes
        .iter()
        .map(|i| subject_keys(&view.pool.id, &name, &name_id.value, i).1)
        .collect();
    match state
        .store
        .end_saml_sessions(&view.pool.id, &subject_key, &session_keys)
        .await
    {
        Ok(n) => tracing::info!(provider = %name, ended = n, "IdP-initiated logout"),
        Err(e) => {
            tracing::error!(error = %e, "ending SAML sessions failed");
            return html::error_page("server_error");
        }
    }
    let Some(destination) = md.slo_redirect.clone() else {
        return html::error_page("invalid_request");
    };
    let key = match signing_key(state, &view.pool.id).await {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "SAML logout response cannot be signed");
            return html::error_page("server_error");
        }
    };
    let answer = messages::logout_response(
        &messages::new_id(),
        now,
        &destination,
        &saml::sp_entity_id(&view.pool.id),
        &id,
    );
    match messages::redirect_url(&destination, "SAMLResponse", &answer, relay, Some(&key)) {
        Ok(url) => redirect(&url),
        Err(e) => {
            tracing::error!(error = %e, "SAML logout response failed");
            html::error_page("server_error")
        }
    }
}
