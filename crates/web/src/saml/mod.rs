//! SAML 2.0 sign-in and logout over HTTP (spec §11, §12): the outbound AuthnRequest, the
//! ACS, single logout in both directions, SP metadata, and our SAML keys kept in the store
//! (sealed, shared by every node). The XML rules are `userpool_federation::saml`'s.

mod acs;
mod logout;

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use userpool_core::auth::{SAML_SIGNING_OWNER, SamlCredential, saml_encryption_owner};
use userpool_core::crypto::{TokenHash, random_token};
use userpool_core::directory::PoolView;
use userpool_core::model::IdentityProviderConfig;
use userpool_core::oauth::OAuthError;
use userpool_core::oauth::authorize::{AuthorizeParams, AuthorizeRequest};
use userpool_core::store::PendingKind;
use userpool_federation::saml::{self, IdpMetadata, messages};

use crate::host::DomainPool;
use crate::pending::{park, pending_record};
use crate::respond::to_client;
use crate::state::AppState;

pub(crate) use acs::idpresponse;
pub(crate) use logout::{begin_logout, slo};

const SIGN_IN: PendingKind = PendingKind::Saml;

/// A body with a 100,000-character SAMLResponse, form-encoded (`+`, `/`, `=` escaped).
pub(crate) const MAX_BODY_BYTES: usize = 320 * 1024;

/// What waits for the IdP's Response to our AuthnRequest.
#[derive(Serialize, Deserialize)]
struct PendingSignIn {
    query: String,
    idp: String,
    request_id: String,
    /// Hash of the browser-binding cookie.
    binding: String,
}

/// Our ACS and SLO URLs on the pool's domain (spec §1.5).
fn urls(state: &AppState, view: &PoolView) -> Option<(String, String)> {
    let d = view.domain_url(state.directory.settings())?;
    Some((
        format!("{d}/saml2/idpresponse"),
        format!("{d}/saml2/logout"),
    ))
}

fn is_on(idp: &IdentityProviderConfig, key: &str) -> bool {
    idp.provider_details.get(key).is_some_and(|v| v == "true")
}

/// The owner's unexpired credentials, newest last (made on demand: core's
/// `Auth::saml_credentials`, which the API's `GetSigningCertificate` shares).
async fn credentials_of(
    state: &AppState,
    pool_id: &str,
    owner: &str,
) -> Result<Vec<SamlCredential>, String> {
    state
        .auth
        .saml_credentials(pool_id, owner)
        .await
        .map_err(|e| e.message)
}

/// The pool's newest signing key (spec §16.3: signing always uses the newest).
async fn signing_key(state: &AppState, pool_id: &str) -> Result<String, String> {
    state
        .auth
        .saml_signing_credential(pool_id)
        .await
        .map(|c| c.key_pem)
        .map_err(|e| e.message)
}

/// A configured SAML IdP of the pool with its metadata.
pub(crate) struct SamlIdp {
    config: IdentityProviderConfig,
    metadata: Arc<IdpMetadata>,
}

async fn saml_idp(state: &AppState, view: &PoolView, name: &str) -> Result<SamlIdp, String> {
    let idp = view
        .identity_providers
        .get(name)
        .filter(|i| i.config.provider_type == "SAML")
        .ok_or_else(|| format!("no SAML identity provider {name}"))?;
    let metadata = state
        .saml
        .metadata(&view.pool.id, &idp.config, state.clock.now())
        .await?;
    Ok(SamlIdp {
        config: idp.config.clone(),
        metadata,
    })
}

/// Sends the browser to the IdP with an AuthnRequest (spec §11.2).
pub(crate) async fn begin(
    state: &AppState,
    view: &PoolView,
    params: &AuthorizeParams,
    req: &AuthorizeRequest,
    idp_name: &str,
) -> Response {
    let misconfigured = |e: String| {
        tracing::error!(provider = idp_name, error = %e, "SAML sign-in cannot start");
        to_client(
            req,
            OAuthError::invalid_request("identity provider misconfigured"),
        )
    };
    let Some((acs, _)) = urls(state, view) else {
        return misconfigured("the pool has no domain".into());
    };
    let idp = match saml_idp(state, view, idp_name).await {
        Ok(i) => i,
        Err(e) => return misconfigured(e),
    };
    let key = if idp
        .config
        .provider_details
        .contains_key("RequestSigningAlgorithm")
    {
        match signing_key(state, &view.pool.id).await {
            Ok(k) => Some(k),
            Err(e) => return misconfigured(e),
        }
    } else {
        None
    };
    let now = state.clock.now();
    let request_id = messages::new_id();
    let relay = random_token();
    let binding = random_token();
    let sso = &idp.metadata.sso_redirect;
    let xml = messages::authn_request(
        &request_id,
        now,
        sso,
        &acs,
        &saml::sp_entity_id(&view.pool.id),
    );
    let url = match messages::redirect_url(sso, "SAMLRequest", &xml, Some(&relay), key.as_deref()) {
        Ok(u) => u,
        Err(e) => return misconfigured(e),
    };
    let pending = PendingSignIn {
        query: params.to_query(),
        idp: idp_name.to_string(),
        request_id,
        binding: TokenHash::of(&binding).as_str().to_string(),
    };
    let record = pending_record(view, SIGN_IN, &relay, &pending, now);
    park(state, req, &record, &binding, &url).await
}

#[derive(Deserialize)]
pub(crate) struct MetadataParams {
    identity_provider: Option<String>,
}

/// `GET /saml2/metadata[?identity_provider=…]`: our SP metadata for IdP administrators,
/// with the pool's signing certificates and, for an IdP with encrypted responses, its
/// encryption certificates. Beyond Cognito, which has no such document.
pub(crate) async fn sp_metadata(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    Query(p): Query<MetadataParams>,
) -> Response {
    let has_saml = view
        .identity_providers
        .values()
        .any(|i| i.config.provider_type == "SAML");
    let Some((acs, slo)) = urls(&state, &view).filter(|_| has_saml) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let certs =
        |c: Vec<SamlCredential>| c.into_iter().rev().map(|o| o.cert_pem).collect::<Vec<_>>();
    let signing = match credentials_of(&state, &view.pool.id, SAML_SIGNING_OWNER).await {
        Ok(c) => certs(c),
        Err(e) => {
            tracing::error!(error = %e, "SAML signing credentials unavailable");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut sign_requests = false;
    let mut encryption = Vec::new();
    if let Some(name) = p.identity_provider.filter(|n| !n.is_empty()) {
        let Some(idp) = view
            .identity_providers
            .get(&name)
            .filter(|i| i.config.provider_type == "SAML")
        else {
            return StatusCode::NOT_FOUND.into_response();
        };
        sign_requests = idp
            .config
            .provider_details
            .contains_key("RequestSigningAlgorithm");
        if is_on(&idp.config, "EncryptedResponses") {
            match credentials_of(&state, &view.pool.id, &saml_encryption_owner(&name)).await {
                Ok(c) => encryption = certs(c),
                Err(e) => {
                    tracing::error!(error = %e, "SAML encryption credentials unavailable");
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            }
        }
    }
    let xml = messages::sp_metadata(&messages::SpDescription {
        entity_id: &saml::sp_entity_id(&view.pool.id),
        acs_url: &acs,
        slo_url: &slo,
        signing_certs: &signing,
        encryption_certs: &encryption,
        sign_requests,
    });
    (
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        xml,
    )
        .into_response()
}
