//! Sign-in through an outside OIDC or social identity provider (spec §10): the outbound
//! redirect, with a pending-federation record bound to the browser, and `/oauth2/idpresponse`,
//! which validates the answer; and `sign_in`, shared with SAML, which provisions the user and
//! finishes the sign-in like a local one.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use userpool_core::auth::ErrorKind;
use userpool_core::crypto::{TokenHash, random_token};
use userpool_core::directory::PoolView;
use userpool_core::federation::{Outbound, UpstreamIdentity};
use userpool_core::model::IdentityProviderConfig;
use userpool_core::oauth::OAuthError;
use userpool_core::oauth::authorize::{self, AuthorizeParams, AuthorizeRequest};
use userpool_core::store::PendingKind;

use crate::complete::finish;
use crate::host::DomainPool;
use crate::html;
use crate::pending::{park, pending_record, take_pending};
use crate::respond::{reject, to_client};
use crate::session::{Cookie, SamlLogin};
use crate::state::AppState;

const KIND: PendingKind = PendingKind::Federation;

/// What waits for the provider's answer.
#[derive(Serialize, Deserialize)]
struct Pending {
    /// The app's authorize parameters.
    query: String,
    idp: String,
    nonce: String,
    verifier: String,
    /// Hash of the browser-binding cookie.
    binding: String,
}

fn redirect_uri(state: &AppState, view: &PoolView) -> Option<String> {
    view.domain_url(state.directory.settings())
        .map(|d| format!("{d}/oauth2/idpresponse"))
}

/// Sends the browser to the provider (spec §10.1).
pub(crate) async fn begin(
    state: &AppState,
    view: &PoolView,
    params: &AuthorizeParams,
    req: &AuthorizeRequest,
    idp_name: &str,
) -> Response {
    let (Some(idp), Some(redirect_uri)) = (
        view.identity_providers.get(idp_name),
        redirect_uri(state, view),
    ) else {
        return to_client(req, OAuthError::server_error());
    };
    let st = random_token();
    let nonce = random_token();
    let verifier = random_token();
    let challenge = userpool_core::oauth::pkce::challenge_of(&verifier);
    let binding = random_token();
    let out = Outbound {
        redirect_uri: &redirect_uri,
        state: &st,
        nonce: &nonce,
        pkce_challenge: &challenge,
        login_hint: req.login_hint.as_deref(),
        prompt: params.prompt.as_deref(),
    };
    let url = match state.connector.authorization_url(&idp.config, &out).await {
        Ok(u) => u,
        Err(e) => return to_client(req, OAuthError::invalid_request(e.to_string())),
    };
    let pending = Pending {
        query: params.to_query(),
        idp: idp_name.to_string(),
        nonce,
        verifier,
        binding: TokenHash::of(&binding).as_str().to_string(),
    };
    let record = pending_record(view, KIND, &st, &pending, state.clock.now());
    park(state, req, &record, &binding, &url).await
}

/// The provider's answer, from the query (GET) or a form (POST, `response_mode=form_post`).
#[derive(Debug, Default, Deserialize)]
struct Answer {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub(crate) async fn idpresponse_get(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let answer = serde_urlencoded_answer(query.as_deref().unwrap_or("").as_bytes());
    complete(&state, &view, &headers, answer).await
}

pub(crate) async fn idpresponse_post(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    complete(&state, &view, &headers, serde_urlencoded_answer(&body)).await
}

fn serde_urlencoded_answer(bytes: &[u8]) -> Answer {
    let mut a = Answer::default();
    for (k, v) in form_urlencoded::parse(bytes) {
        let slot = match k.as_ref() {
            "state" => &mut a.state,
            "code" => &mut a.code,
            "error" => &mut a.error,
            "error_description" => &mut a.error_description,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(v.into_owned());
        }
    }
    a
}

/// `/oauth2/idpresponse` (spec §10.2).
async fn complete(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    answer: Answer,
) -> Response {
    // 1. The pending federation: known, live, this pool's, and this browser's. Taken once.
    let Some(st) = answer.state.as_deref() else {
        return html::error_page("invalid_request");
    };
    let pending = match take_pending(state, view, headers, KIND, st, |p: &Pending| &p.binding).await
    {
        Ok(Some(p)) => p,
        Ok(None) => return html::error_page("invalid_state"),
        Err(page) => return page,
    };
    let params = AuthorizeParams::from_query(&pending.query);
    let req = match authorize::check(view, &params) {
        Ok(r) => r,
        Err(rejection) => return reject(rejection),
    };
    let Some(idp) = view.identity_providers.get(&pending.idp) else {
        return to_client(
            &req,
            OAuthError::invalid_request("the identity provider no longer exists"),
        );
    };
    // 2. The provider's error, relayed.
    if let Some(error) = answer.error {
        let e = userpool_core::federation::FederationError::Provider {
            provider: idp.config.provider_name.clone(),
            error,
            description: answer.error_description.unwrap_or_default(),
        };
        return to_client(&req, OAuthError::invalid_request(e.to_string()));
    }
    let Some(code) = answer.code else {
        return to_client(
            &req,
            OAuthError::invalid_request("the identity provider returned no code"),
        );
    };
    let Some(redirect_uri) = redirect_uri(state, view) else {
        return to_client(&req, OAuthError::server_error());
    };
    // 3–5. Code, ID token, attributes.
    let identity = match state
        .connector
        .exchange(
            &idp.config,
            &redirect_uri,
            &code,
            &pending.nonce,
            &pending.verifier,
        )
        .await
    {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(provider = %idp.config.provider_name, error = ?e, "federation failed");
            return to_client(&req, OAuthError::invalid_request(e.to_string()));
        }
    };
    sign_in(state, view, &req, &idp.config, &identity, None).await
}

/// Signs an outside identity in (OIDC, social or SAML): the `federated_sign_in` use case,
/// then the same session and grant as a local sign-in (spec §14).
pub(crate) async fn sign_in(
    state: &AppState,
    view: &PoolView,
    req: &AuthorizeRequest,
    idp: &IdentityProviderConfig,
    identity: &UpstreamIdentity,
    saml: Option<SamlLogin>,
) -> Response {
    let Some(client) = view.clients.get(&req.client_id) else {
        return to_client(req, OAuthError::server_error());
    };
    let signed_in = match state
        .auth
        .federated_sign_in(view, client, idp, identity)
        .await
    {
        Ok(u) => u,
        Err(e) if e.kind == ErrorKind::Internal => {
            return to_client(req, OAuthError::server_error());
        }
        Err(e) => return to_client(req, OAuthError::invalid_request(e.message)),
    };
    let mut r = finish(state, view, req, &signed_in, saml).await;
    r.headers_mut()
        .append(header::SET_COOKIE, Cookie::Federation.set(state, "", 0));
    r
}
