//! Sign-in through an outside identity provider (spec §10): the outbound redirect, with a
//! pending-federation record bound to the browser, and `/oauth2/idpresponse`, which validates
//! the answer, provisions the user and finishes the sign-in like a local one.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use userpool_core::crypto::{TokenHash, random_token};
use userpool_core::directory::PoolView;
use userpool_core::federation::{self, Outbound, UpstreamIdentity};
use userpool_core::model::IdentityProviderConfig;
use userpool_core::oauth::OAuthError;
use userpool_core::oauth::authorize::{self, AuthorizeParams, AuthorizeRequest};
use userpool_core::store::ChallengeRecord;
use userpool_core::time::Timestamp;

use crate::host::DomainPool;
use crate::login::html;
use crate::login::session::{Cookie, SamlLogin};
use crate::oauth::authorize::{redirect, reject, to_client};
use crate::state::AppState;

const KIND: &str = "federation";
/// An unfinished federation is cancelled after five minutes (spec §5.2).
pub(crate) const LIFETIME: i64 = 300;

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

/// The record of a pending outside sign-in (or SAML logout), keyed by the handle the
/// provider sends back (`state`, RelayState); it lives five minutes.
pub(crate) fn pending_record(
    view: &PoolView,
    kind: &str,
    handle: &str,
    payload: &impl Serialize,
    now: Timestamp,
) -> ChallengeRecord {
    ChallengeRecord {
        hash: TokenHash::of(handle),
        pool_id: view.pool.id.clone(),
        username: String::new(),
        kind: kind.into(),
        payload: serde_json::to_string(payload).expect("serializable"),
        created_at: now,
        expires_at: now + LIFETIME,
    }
}

/// Stores the pending sign-in and sends the browser to `url`, bound to the record by the
/// federation cookie.
pub(crate) async fn park(
    state: &AppState,
    req: &AuthorizeRequest,
    record: &ChallengeRecord,
    binding: &str,
    url: &str,
) -> Response {
    if let Err(e) = state.store.insert_challenge(record).await {
        tracing::error!(error = %e, kind = %record.kind, "storing the pending sign-in failed");
        return to_client(req, OAuthError::server_error());
    }
    let mut r = redirect(url);
    r.headers_mut().append(
        header::SET_COOKIE,
        Cookie::Federation.set(state, binding, LIFETIME),
    );
    r
}

/// The pending record of `kind` under `handle`, taken only once it is known to be this
/// pool's, live, and bound to this browser: someone who learns a handle (it travels in URLs)
/// cannot spend another browser's pending sign-in. `Ok(None)`: no such record.
pub(crate) async fn take_pending<T: DeserializeOwned>(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    kind: &str,
    handle: &str,
    binding_of: impl Fn(&T) -> &String,
) -> Result<Option<T>, Response> {
    let hash = TokenHash::of(handle);
    let record = match state.store.get_challenge(&hash).await {
        Ok(Some(r)) if r.kind == kind => r,
        Ok(_) => return Ok(None),
        Err(e) => {
            tracing::error!(error = %e, kind, "reading the pending sign-in failed");
            return Err(html::error_page("server_error"));
        }
    };
    let Ok(pending) = serde_json::from_str::<T>(&record.payload) else {
        return Err(html::error_page("invalid_state"));
    };
    let bound = Cookie::Federation.read(state, headers).is_some_and(|c| {
        TokenHash::of(&c).matches_hash(&TokenHash::from_stored(binding_of(&pending).clone()))
    });
    if record.pool_id != view.pool.id || record.expires_at <= state.clock.now() || !bound {
        return Err(html::error_page("invalid_state"));
    }
    match state.store.take_challenge(&hash).await {
        Ok(Some(_)) => Ok(Some(pending)),
        // Taken by a racing request a moment ago.
        Ok(None) => Err(html::error_page("invalid_state")),
        Err(e) => {
            tracing::error!(error = %e, kind, "taking the pending sign-in failed");
            Err(html::error_page("server_error"))
        }
    }
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
        let e = federation::FederationError::Provider {
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

/// Signs an outside identity in (OIDC, social or SAML): a linked user, or the provisioned
/// federated user, then the same session and grant as a local sign-in (spec §14).
pub(crate) async fn sign_in(
    state: &AppState,
    view: &PoolView,
    req: &AuthorizeRequest,
    idp: &IdentityProviderConfig,
    identity: &UpstreamIdentity,
    saml: Option<SamlLogin>,
) -> Response {
    // An identity linked to an existing user signs in as that user (spec §14, linking).
    match state
        .store
        .find_linked_user(&view.pool.id, &idp.provider_name, &identity.subject)
        .await
    {
        Ok(Some(linked)) => match state.store.get_user(&view.pool.id, &linked).await {
            Ok(Some(user)) if user.enabled => {
                let mut r = crate::login::finish(state, view, req, &user, saml).await;
                r.headers_mut()
                    .append(header::SET_COOKIE, Cookie::Federation.set(state, "", 0));
                return r;
            }
            Ok(_) => return to_client(req, OAuthError::invalid_request("User is disabled.")),
            Err(e) => {
                tracing::error!(error = %e, "reading the linked user failed");
                return to_client(req, OAuthError::server_error());
            }
        },
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "reading identity links failed");
            return to_client(req, OAuthError::server_error());
        }
    }
    // 7. Provisioning, then the same session and grant as a local sign-in.
    let username =
        federation::federated_username(&view.pool.config, &idp.provider_name, &identity.subject);
    let existing = match state.store.get_user(&view.pool.id, &username).await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "reading the federated user failed");
            return to_client(req, OAuthError::server_error());
        }
    };
    let is_new = existing.is_none();
    let client = view.clients.get(&req.client_id);
    let write = client.and_then(|c| c.config.write_attributes.as_deref());
    let user = match federation::provision(
        &view.pool.config,
        &view.pool.id,
        idp,
        identity,
        existing,
        write,
        state.clock.now(),
    ) {
        Ok(u) => u,
        Err(e) => return to_client(req, OAuthError::invalid_request(e.to_string())),
    };
    let saved = if is_new {
        match state.store.insert_user(&user).await {
            // Another node provisioned the same identity a moment ago: update it instead.
            Ok(false) => state.store.update_user(&user).await,
            other => other,
        }
    } else {
        state.store.update_user(&user).await
    };
    if let Err(e) = saved {
        tracing::error!(error = %e, "saving the federated user failed");
        return to_client(req, OAuthError::server_error());
    }
    if !user.enabled {
        return to_client(req, OAuthError::invalid_request("User is disabled."));
    }
    let mut r = crate::login::finish(state, view, req, &user, saml).await;
    r.headers_mut()
        .append(header::SET_COOKIE, Cookie::Federation.set(state, "", 0));
    r
}
