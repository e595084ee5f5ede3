//! `GET /oauth2/authorize` (spec §4): the ordered checks that decide between our error page and
//! a redirect to the client, and the delivery of the grant (§4.5).
//!
//! Order (§4.3): 1. the client; 2. the redirect URI — until both pass, errors are shown on our
//! error page and never redirected; 3. everything else, reported to the redirect URI.

use super::grant::{Grant, new_uuid};
use super::{ErrorCode, OAuthError, pkce, scope};
use crate::crypto::{TokenHash, random_token};
use crate::directory::PoolView;
use crate::store::{ClientRecord, CodeRecord, FamilyRecord, Store, UserRecord};
use crate::time::Timestamp;

/// Authorization codes live five minutes (spec §4.5).
pub const CODE_LIFETIME: i64 = 300;

/// The raw parameters of an authorize (or `/login`) request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub scope: Option<String>,
    pub identity_provider: Option<String>,
    pub idp_identifier: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    pub lang: Option<String>,
    pub login_hint: Option<String>,
    pub prompt: Option<String>,
    pub resource: Option<String>,
    /// Names of parameters that appeared more than once.
    pub duplicated: Vec<String>,
}

impl AuthorizeParams {
    /// Reads the parameters from a query string; empty values count as absent (RFC 6749 §3.1).
    pub fn from_query(query: &str) -> Self {
        let mut p = AuthorizeParams::default();
        // Only the fourteen known names are tracked, so the work is linear in the query.
        let mut seen: Vec<&'static str> = Vec::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let value = (!v.is_empty()).then(|| v.to_string());
            let (name, slot): (&'static str, _) = match k.as_ref() {
                "response_type" => ("response_type", &mut p.response_type),
                "client_id" => ("client_id", &mut p.client_id),
                "redirect_uri" => ("redirect_uri", &mut p.redirect_uri),
                "state" => ("state", &mut p.state),
                "scope" => ("scope", &mut p.scope),
                "identity_provider" => ("identity_provider", &mut p.identity_provider),
                "idp_identifier" => ("idp_identifier", &mut p.idp_identifier),
                "code_challenge" => ("code_challenge", &mut p.code_challenge),
                "code_challenge_method" => ("code_challenge_method", &mut p.code_challenge_method),
                "nonce" => ("nonce", &mut p.nonce),
                "lang" => ("lang", &mut p.lang),
                "login_hint" => ("login_hint", &mut p.login_hint),
                "prompt" => ("prompt", &mut p.prompt),
                "resource" => ("resource", &mut p.resource),
                _ => continue,
            };
            if seen.contains(&name) {
                if !p.duplicated.iter().any(|d| d == name) {
                    p.duplicated.push(name.to_string());
                }
                continue;
            }
            seen.push(name);
            *slot = value;
        }
        p
    }

    /// The parameters as a query string, to carry them through the managed-login pages.
    pub fn to_query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        let fields = [
            ("client_id", &self.client_id),
            ("response_type", &self.response_type),
            ("scope", &self.scope),
            ("redirect_uri", &self.redirect_uri),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("identity_provider", &self.identity_provider),
            ("idp_identifier", &self.idp_identifier),
            ("lang", &self.lang),
            ("login_hint", &self.login_hint),
            ("prompt", &self.prompt),
            ("resource", &self.resource),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    Code,
    Token,
}

/// Where an authorize request goes when it cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Our error page (`/error?error=…&client_id=…`); never a redirect to the client.
    Page {
        error: &'static str,
        client_id: Option<String>,
    },
    /// The error goes to the client's validated redirect URI, in the query.
    Redirect {
        redirect_uri: String,
        error: OAuthError,
        state: Option<String>,
    },
}

/// A valid authorize request.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_type: ResponseType,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `prompt=none`: never show a page.
    pub prompt_none: bool,
    /// `prompt=login`: authenticate again even with a session.
    pub prompt_login: bool,
    pub login_hint: Option<String>,
    /// An outside provider to go straight to (`identity_provider` / `idp_identifier`), when
    /// it is not `COGNITO`.
    pub external_provider: Option<String>,
}

/// Runs the checks of spec §4.3 in order.
pub fn check(view: &PoolView, p: &AuthorizeParams) -> Result<AuthorizeRequest, Rejection> {
    let client = check_client(view, p)?;
    let redirect_uri = check_redirect_uri(client, p)?;
    let fail = |error: OAuthError| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        state: p.state.clone(),
    };
    if let Some(name) = p.duplicated.first() {
        return Err(fail(OAuthError::invalid_request(format!(
            "{name} must not be repeated"
        ))));
    }
    let response_type = check_response_type(client, p).map_err(fail)?;
    let code_challenge = check_pkce(response_type, p).map_err(fail)?;
    let scopes =
        scope::resolve(p.scope.as_deref(), &client.config.allowed_oauth_scopes).map_err(fail)?;
    if p.resource.is_some() {
        return Err(fail(OAuthError::invalid_request(
            "resource indicators are not supported",
        )));
    }
    let external_provider = check_identity_provider(view, client, p).map_err(fail)?;
    let prompts: Vec<&str> = p.prompt.as_deref().unwrap_or("").split(' ').collect();
    Ok(AuthorizeRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        response_type,
        scopes,
        state: p.state.clone(),
        nonce: p.nonce.clone(),
        code_challenge,
        prompt_none: prompts.contains(&"none"),
        prompt_login: prompts.contains(&"login"),
        login_hint: p.login_hint.clone(),
        external_provider,
    })
}

/// Step 1: a known client, enabled for OAuth, with at least one identity provider.
fn check_client<'a>(
    view: &'a PoolView,
    p: &AuthorizeParams,
) -> Result<&'a ClientRecord, Rejection> {
    let page = |client_id: Option<String>| Rejection::Page {
        error: "invalid_request",
        client_id,
    };
    if p.duplicated.iter().any(|d| d == "client_id") {
        return Err(page(None));
    }
    let id = p.client_id.as_ref().ok_or_else(|| page(None))?;
    match view.clients.get(id) {
        Some(c)
            if c.config.allowed_oauth_flows_user_pool_client
                && !c.config.supported_identity_providers.is_empty() =>
        {
            Ok(c)
        }
        _ => Err(page(Some(id.clone()))),
    }
}

/// Step 2: the redirect URI, by exact string match (spec §4.2). Omitted, it defaults to
/// `DefaultRedirectURI`, or to the only callback of a client with a single identity provider.
fn check_redirect_uri(client: &ClientRecord, p: &AuthorizeParams) -> Result<String, Rejection> {
    let mismatch = || Rejection::Page {
        error: "redirect_mismatch",
        client_id: Some(client.client_id.clone()),
    };
    let c = &client.config;
    let browser_flow = c
        .allowed_oauth_flows
        .iter()
        .any(|f| f == "code" || f == "implicit");
    if !browser_flow || p.duplicated.iter().any(|d| d == "redirect_uri") {
        return Err(mismatch());
    }
    match &p.redirect_uri {
        Some(uri) if c.callback_urls.iter().any(|u| u == uri) => Ok(uri.clone()),
        Some(_) => Err(mismatch()),
        None => match (&c.default_redirect_uri, c.callback_urls.as_slice()) {
            (Some(d), _) => Ok(d.clone()),
            (None, [only]) if c.supported_identity_providers.len() == 1 => Ok(only.clone()),
            _ => Err(mismatch()),
        },
    }
}

fn check_response_type(
    client: &ClientRecord,
    p: &AuthorizeParams,
) -> Result<ResponseType, OAuthError> {
    let (rt, flow) = match p.response_type.as_deref() {
        Some("code") => (ResponseType::Code, "code"),
        Some("token") => (ResponseType::Token, "implicit"),
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "response_type must be code or token",
            ));
        }
        None => return Err(OAuthError::invalid_request("response_type is required")),
    };
    if client.config.allowed_oauth_flows.iter().any(|f| f == flow) {
        Ok(rt)
    } else {
        Err(OAuthError::new(ErrorCode::UnauthorizedClient))
    }
}

/// PKCE: S256 only; a challenge needs its method and the reverse (spec §4.2).
fn check_pkce(rt: ResponseType, p: &AuthorizeParams) -> Result<Option<String>, OAuthError> {
    match (&p.code_challenge, p.code_challenge_method.as_deref()) {
        (None, None) => Ok(None),
        _ if rt == ResponseType::Token => Err(OAuthError::invalid_request(
            "PKCE is not used with response_type=token",
        )),
        (Some(c), Some("S256")) if pkce::is_valid_challenge(c) => Ok(Some(c.clone())),
        (Some(_), Some("S256")) => Err(OAuthError::invalid_request("code_challenge is malformed")),
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        )),
        (Some(_), None) => Err(OAuthError::invalid_request(
            "code_challenge_method is required with code_challenge",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge is required with code_challenge_method",
        )),
    }
}

/// Whether the client offers the pool's own users (`COGNITO` among its providers): only then
/// do the managed-login pages sign in, sign up or reset local users.
pub fn offers_local_sign_in(client: &ClientRecord) -> bool {
    client
        .config
        .supported_identity_providers
        .iter()
        .any(|p| p == "COGNITO")
}

/// Whether a browser's session, made by a sign-in through `provider` (none: the pool's own
/// users), may sign in silently to this client: only through a provider the client offers.
pub fn session_serves(client: &ClientRecord, provider: Option<&str>) -> bool {
    let offered = provider.unwrap_or("COGNITO");
    client
        .config
        .supported_identity_providers
        .iter()
        .any(|p| p == offered)
}

/// The one outside provider of a client that offers nothing else: sign-in goes straight
/// there, as Cognito's authorize endpoint does.
pub fn sole_outside_provider(view: &PoolView, client: &ClientRecord) -> Option<String> {
    match client.config.supported_identity_providers.as_slice() {
        [only] if only != "COGNITO" && view.identity_providers.contains_key(only) => {
            Some(only.clone())
        }
        _ => None,
    }
}

/// `identity_provider` (or the provider an `idp_identifier` names) must be one of the
/// client's providers; `COGNITO` means our own sign-in page.
fn check_identity_provider(
    view: &PoolView,
    client: &ClientRecord,
    p: &AuthorizeParams,
) -> Result<Option<String>, OAuthError> {
    let supported = &client.config.supported_identity_providers;
    let name = match (&p.identity_provider, &p.idp_identifier) {
        (Some(name), _) => name.clone(),
        (None, Some(id)) => match view.provider_by_identifier(id) {
            Some(idp) => idp.config.provider_name.clone(),
            None => {
                return Err(OAuthError::invalid_request(format!(
                    "no identity provider has the identifier {id}"
                )));
            }
        },
        (None, None) => return Ok(None),
    };
    if !supported.contains(&name) {
        return Err(OAuthError::invalid_request(format!(
            "identity provider {name} is not enabled for this client"
        )));
    }
    if name != "COGNITO" && !view.identity_providers.contains_key(&name) {
        return Err(OAuthError::invalid_request(format!(
            "identity provider {name} does not exist"
        )));
    }
    Ok((name != "COGNITO").then_some(name))
}

/// Appends `params` to `uri` after `sep` (`?`, or `&` when `uri` has a query; or `#`).
fn with_params(uri: &str, fragment: bool, params: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    let sep = if fragment {
        '#'
    } else if uri.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{uri}{sep}{}", q.finish())
}

/// The redirect that carries an error to the client (spec §4.3 step 4: always in the query,
/// `error_description` first).
pub fn error_location(redirect_uri: &str, error: &OAuthError, state: Option<&str>) -> String {
    let mut params = Vec::new();
    if let Some(d) = &error.description {
        params.push(("error_description", d.as_ref()));
    }
    params.push(("error", error.code.as_str()));
    if let Some(s) = state {
        params.push(("state", s));
    }
    with_params(redirect_uri, false, &params)
}

/// Who signed in, and when: what a grant is issued for.
pub struct Authenticated<'a> {
    pub user: &'a UserRecord,
    pub auth_time: Timestamp,
    pub event_id: &'a str,
}

/// Delivers the grant (spec §4.5): a code in the query, or tokens in the fragment.
pub async fn issue(
    store: &dyn Store,
    view: &PoolView,
    req: &AuthorizeRequest,
    who: Authenticated<'_>,
    now: Timestamp,
    triggers: &crate::triggers::Triggers,
) -> Result<String, OAuthError> {
    let client = view
        .clients
        .get(&req.client_id)
        .ok_or_else(OAuthError::server_error)?;
    let grant = Grant {
        client_id: client.client_id.clone(),
        username: who.user.username.clone(),
        scopes: req.scopes.clone(),
        auth_time: who.auth_time,
        nonce: req.nonce.clone(),
        redirect_uri: Some(req.redirect_uri.clone()),
        code_challenge: req.code_challenge.clone(),
        origin_jti: new_uuid(),
        event_id: who.event_id.to_string(),
        via_api: false,
        device_key: None,
    };
    let state = req.state.as_deref();
    match req.response_type {
        ResponseType::Code => {
            let code = random_token();
            store
                .insert_code(&CodeRecord {
                    hash: TokenHash::of(&code),
                    pool_id: view.pool.id.clone(),
                    client_id: client.client_id.clone(),
                    payload: grant.to_json(),
                    created_at: now,
                    expires_at: now + CODE_LIFETIME,
                })
                .await?;
            let mut params = vec![("code", code.as_str())];
            params.extend(state.map(|s| ("state", s)));
            Ok(with_params(&req.redirect_uri, false, &params))
        }
        ResponseType::Token => {
            scope::check_readable(&grant.scopes, &client.config)?;
            let tokens = super::token::user_tokens(
                store,
                view,
                client,
                who.user,
                &grant,
                now,
                super::token::Issuing {
                    triggers,
                    source: crate::triggers::TokenSource::HostedAuth,
                    metadata: None,
                },
            )
            .await?;
            // The family exists so the tokens can be revoked and checked like any other.
            store
                .insert_family(&FamilyRecord {
                    id: grant.origin_jti.clone(),
                    pool_id: view.pool.id.clone(),
                    client_id: client.client_id.clone(),
                    username: who.user.username.clone(),
                    created_at: now,
                    expires_at: now + tokens.expires_in.max(client.config.id_token_seconds()),
                    revoked_at: None,
                })
                .await?;
            let expires_in = tokens.expires_in.to_string();
            let mut params = Vec::new();
            if let Some(id) = &tokens.id_token {
                params.push(("id_token", id.as_str()));
            }
            params.push(("access_token", tokens.access_token.as_str()));
            params.push(("token_type", "Bearer"));
            params.push(("expires_in", expires_in.as_str()));
            params.extend(state.map(|s| ("state", s)));
            Ok(with_params(&req.redirect_uri, true, &params))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_round_trip_and_duplicates_are_noted() {
        let p = AuthorizeParams::from_query(
            "client_id=c&redirect_uri=https%3A%2F%2Fa%2Fcb&state=a%2Bb%2Fc%3Dd%26e&state=x&extra=1&scope=",
        );
        assert_eq!(p.client_id.as_deref(), Some("c"));
        assert_eq!(p.state.as_deref(), Some("a+b/c=d&e"));
        assert_eq!(p.scope, None, "empty means absent");
        assert_eq!(p.duplicated, ["state"]);
        let again = AuthorizeParams::from_query(&p.to_query());
        assert_eq!(again.state, p.state);
        assert_eq!(again.redirect_uri, p.redirect_uri);
    }

    #[test]
    fn errors_go_in_the_query_with_description_first() {
        let e = OAuthError::invalid_request("bad thing");
        assert_eq!(
            error_location("https://a/cb?x=1", &e, Some("s 1")),
            "https://a/cb?x=1&error_description=bad+thing&error=invalid_request&state=s+1"
        );
    }
}
