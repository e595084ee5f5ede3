//! `POST /saml2/idpresponse` (spec §11): finds the pending sign-in by RelayState — or, for
//! an IdP with `IDPInit`, reads RelayState as the app's authorize query — verifies the
//! Response, refuses replays on every node, and signs the NameID's user in.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value};
use userpool_core::auth::saml_encryption_owner;
use userpool_core::directory::PoolView;
use userpool_core::federation::UpstreamIdentity;
use userpool_core::model::{IdentityProviderConfig, Problems};
use userpool_core::oauth::OAuthError;
use userpool_core::oauth::authorize::{self, AuthorizeParams, AuthorizeRequest};
use userpool_federation::saml::response::{self, Expectations, VerifiedAssertion};
use userpool_federation::saml::{self, SamlError};

use super::{PendingSignIn, SIGN_IN, credentials_of, is_on, saml_idp, urls};
use crate::host::DomainPool;
use crate::html;
use crate::pending::take_pending;
use crate::respond::{reject, to_client};
use crate::session::{Cookie, SamlLogin};
use crate::state::AppState;

/// What an unsolicited response gets when the IdP may not start sign-ins (spec §11.2).
const UNSOLICITED: &str = "Invalid samlResponse or relayState from identity provider";

/// The POST binding's fields; a repeated field is refused rather than one picked.
pub(super) fn fields(body: &[u8], names: &[&str]) -> Option<Vec<Option<String>>> {
    let mut out: Vec<Option<String>> = vec![None; names.len()];
    for (k, v) in form_urlencoded::parse(body) {
        if let Some(i) = names.iter().position(|n| *n == k) {
            if out[i].is_some() {
                return None;
            }
            out[i] = Some(v.into_owned());
        }
    }
    Some(out)
}

fn refused(req: &AuthorizeRequest, e: &SamlError) -> Response {
    tracing::warn!(reason = e.public, detail = %e.detail, "SAML response refused");
    to_client(
        req,
        OAuthError::invalid_request(format!("Invalid SAML response received: {}", e.public)),
    )
}

/// How this response was asked for.
struct Flow {
    params: AuthorizeParams,
    idp: String,
    request_id: Option<String>,
}

pub(crate) async fn idpresponse(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some([Some(field), relay]) = fields(&body, &["SAMLResponse", "RelayState"])
        .map(|v| <[Option<String>; 2]>::try_from(v).expect("two fields"))
    else {
        return html::error_page("invalid_request");
    };
    let relay = relay.unwrap_or_default();
    let flow = match pending(&state, &view, &headers, &relay).await {
        Ok(Some(f)) => f,
        Ok(None) => Flow {
            // Not ours: an IdP-initiated sign-in, whose RelayState is the authorize query.
            params: AuthorizeParams::from_query(&relay),
            idp: String::new(),
            request_id: None,
        },
        Err(page) => return page,
    };
    let req = match authorize::check(&view, &flow.params) {
        Ok(r) => r,
        Err(rejection) => return reject(rejection),
    };
    let idp_name = if flow.request_id.is_some() {
        flow.idp.clone()
    } else {
        match &req.external_provider {
            Some(name) => name.clone(),
            None => return to_client(&req, OAuthError::invalid_request(UNSOLICITED)),
        }
    };
    // An unsolicited response is looked at only for an IdP that may send one: no metadata
    // is fetched on behalf of anyone else.
    let allows_unsolicited = view
        .identity_providers
        .get(&idp_name)
        .is_some_and(|i| is_on(&i.config, "IDPInit"))
        && client_takes_unsolicited(&view, &req.client_id);
    if flow.request_id.is_none() && !allows_unsolicited {
        return to_client(&req, OAuthError::invalid_request(UNSOLICITED));
    }
    let idp = match saml_idp(&state, &view, &idp_name).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(provider = %idp_name, error = %e, "SAML provider unusable");
            let text = if flow.request_id.is_some() {
                "identity provider misconfigured"
            } else {
                UNSOLICITED
            };
            return to_client(&req, OAuthError::invalid_request(text));
        }
    };
    let Some((acs, _)) = urls(&state, &view) else {
        return to_client(&req, OAuthError::server_error());
    };
    let require_encryption = is_on(&idp.config, "EncryptedResponses");
    let keys: Vec<String> = if require_encryption {
        match credentials_of(&state, &view.pool.id, &saml_encryption_owner(&idp_name)).await {
            Ok(c) => c.into_iter().rev().map(|o| o.key_pem).collect(),
            Err(e) => {
                tracing::error!(error = %e, "SAML encryption keys unavailable");
                return to_client(&req, OAuthError::server_error());
            }
        }
    } else {
        Vec::new()
    };
    let now = state.clock.now();
    let sp = saml::sp_entity_id(&view.pool.id);
    let expect = Expectations {
        idp_entity_id: idp.metadata.entity_id.clone(),
        signing_certs: idp.metadata.signing_certs.clone(),
        sp_entity_id: sp,
        acs_url: acs,
        in_response_to: flow.request_id.clone(),
        require_encryption,
        decryption_keys: keys,
        now,
    };
    // Verification is CPU work on untrusted input; keep it off the async workers.
    let verified = tokio::task::spawn_blocking(move || {
        let xml = response::decode(&field)?;
        response::verify(&xml, &expect)
    })
    .await;
    let assertion = match verified {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return refused(&req, &e),
        Err(e) => {
            tracing::error!(error = %e, "SAML verification task failed");
            return to_client(&req, OAuthError::server_error());
        }
    };
    match state
        .store
        .first_saml_use(&view.pool.id, &assertion.id, assertion.keep_until)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return refused(
                &req,
                &SamlError::new("Replayed assertion", "assertion ID seen before"),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "recording the assertion failed");
            return to_client(&req, OAuthError::server_error());
        }
    }
    let identity = upstream(&assertion, &idp.metadata.entity_id);
    let login = SamlLogin {
        provider: idp_name,
        name_id: assertion.name_id,
        session_index: assertion.session_index,
    };
    let mut r =
        crate::federation::sign_in(&state, &view, &req, &idp.config, &identity, Some(login)).await;
    r.headers_mut().append(
        axum::http::header::SET_COOKIE,
        Cookie::Federation.set(&state, "", 0),
    );
    r
}

/// The pending SP-initiated sign-in named by RelayState, taken once and bound to this
/// browser. `Ok(None)` when RelayState names none (an unsolicited response).
async fn pending(
    state: &AppState,
    view: &PoolView,
    headers: &HeaderMap,
    relay: &str,
) -> Result<Option<Flow>, Response> {
    if relay.is_empty() {
        return Ok(None);
    }
    let Some(p) = take_pending(state, view, headers, SIGN_IN, relay, |p: &PendingSignIn| {
        &p.binding
    })
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(Flow {
        params: AuthorizeParams::from_query(&p.query),
        idp: p.idp,
        request_id: Some(p.request_id),
    }))
}

/// The assertion as an outside identity: NameID is the subject; each SAML attribute a
/// claim, multi-valued ones as arrays.
fn upstream(a: &VerifiedAssertion, issuer: &str) -> UpstreamIdentity {
    let mut claims = Map::new();
    for (name, values) in &a.attributes {
        let v = match values.as_slice() {
            // Nothing usable was sent: like a missing claim, the old value stays.
            [] => continue,
            [one] => Value::String(one.clone()),
            many => Value::Array(many.iter().cloned().map(Value::String).collect()),
        };
        claims.insert(name.clone(), v);
    }
    UpstreamIdentity {
        subject: a.name_id.value.clone(),
        claims,
        issuer: Some(issuer.to_string()),
    }
}

/// Whether the client keeps the rule for IdP-initiated sign-in (SAML providers only), checked
/// again here: a client saved before the rule, or racing a provider's update, may break it.
fn client_takes_unsolicited(view: &PoolView, client_id: &str) -> bool {
    let providers: Vec<&IdentityProviderConfig> = view
        .identity_providers
        .values()
        .map(|i| &i.config)
        .collect();
    view.clients.get(client_id).is_some_and(|c| {
        let mut p = Problems::new("");
        c.config.check_providers(&providers, &mut p);
        p.errors.is_empty()
    })
}
