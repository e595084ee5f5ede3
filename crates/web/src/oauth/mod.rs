//! The OAuth endpoints on a pool domain: authorize, token, userInfo, revoke, logout. Each
//! parses its request, calls `userpool_core::oauth`, and renders Cognito's wire format.

pub(crate) mod authorize;
pub(crate) mod logout;
pub(crate) mod revoke;
pub(crate) mod token;
pub(crate) mod userinfo;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;
use userpool_core::oauth::token::ClientCredentials;
use userpool_core::oauth::{ErrorCode, OAuthError};

/// No form of ours has more fields; more is an attack or a mistake.
const MAX_FORM_FIELDS: usize = 64;

/// Form bodies larger than this are refused before parsing.
pub(crate) const MAX_FORM_BYTES: usize = 64 * 1024;

/// A form body parsed into pairs, with repeated names noted (RFC 6749 §3.2: none may repeat).
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
    pub(crate) duplicated: Option<String>,
}

impl Form {
    /// Parses `application/x-www-form-urlencoded`; any other content type is `invalid_request`.
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().is_some_and(|t| {
                    t.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        if !form_type {
            return Err(OAuthError::invalid_request(
                "Content-Type must be application/x-www-form-urlencoded",
            ));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut names = std::collections::HashSet::new();
        let mut duplicated = None;
        for (k, v) in form_urlencoded::parse(body) {
            if pairs.len() >= MAX_FORM_FIELDS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            if names.insert(k.to_string()) {
                pairs.push((k.into_owned(), v.into_owned()));
            } else {
                duplicated.get_or_insert_with(|| k.to_string());
            }
        }
        Ok(Form { pairs, duplicated })
    }

    /// A parameter's value; empty counts as absent (RFC 6749 §3.2).
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    }

    /// Refuses repeated parameters.
    pub(crate) fn no_duplicates(&self) -> Result<(), OAuthError> {
        match &self.duplicated {
            Some(name) => Err(OAuthError::invalid_request(format!(
                "{name} must not be repeated"
            ))),
            None => Ok(()),
        }
    }
}

fn decode_component(s: &str) -> Option<String> {
    // RFC 6749 §2.3.1: each part is form-urlencoded before base64.
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// Client credentials from `Authorization: Basic` or the body (spec §6.2). Both at once must
/// agree on the client and may not both carry a secret.
pub(crate) fn client_credentials(
    headers: &HeaderMap,
    form: &Form,
) -> Result<ClientCredentials, OAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    let Some(encoded) = basic else {
        return Ok(ClientCredentials {
            client_id: body_id,
            secret: body_secret,
            basic: false,
        });
    };
    let invalid = || OAuthError::invalid_client();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid())?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = text.split_once(':').ok_or_else(invalid)?;
    let (id, secret) = (
        decode_component(id).ok_or_else(invalid)?,
        decode_component(secret).ok_or_else(invalid)?,
    );
    if body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "use one client authentication method, not two",
        ));
    }
    if body_id.as_ref().is_some_and(|b| *b != id) {
        return Err(invalid());
    }
    Ok(ClientCredentials {
        client_id: Some(id),
        secret: (!secret.is_empty()).then_some(secret),
        basic: true,
    })
}

/// Why a client's form post was not taken: an OAuth error, or too many wrong secrets lately.
pub(crate) enum Refused {
    OAuth(OAuthError),
    Throttled(userpool_core::limits::Denied),
}

impl From<OAuthError> for Refused {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

impl Refused {
    pub(crate) fn into_response(self, basic: bool) -> Response {
        match self {
            Self::OAuth(e) => json_error(&e, basic),
            Self::Throttled(d) => crate::limits::too_many(d, true),
        }
    }
}

/// A form post of an authenticated client (token and revoke endpoints): the form and the
/// client, or the error; `basic` tells how the client presented itself, for the answer. An
/// address past its budget of wrong secrets for a client is refused before the secret is
/// checked (RFC 6749 §2.3.1), so a right guess then looks like a wrong one.
pub(crate) fn authenticated_form<'a>(
    state: &crate::state::AppState,
    view: &'a userpool_core::directory::PoolView,
    headers: &HeaderMap,
    body: &[u8],
    basic: &mut bool,
) -> Result<(Form, &'a userpool_core::store::ClientRecord), Refused> {
    let form = Form::parse(headers, body)?;
    let creds = client_credentials(headers, &form)?;
    *basic = creds.basic;
    form.no_duplicates()?;
    let id = creds.client_id.as_deref().unwrap_or_default();
    let (limits, address) = (&state.limits, userpool_core::auth::audit::client_ip());
    if let Some(denied) = limits.client_refused(id, address) {
        return Err(Refused::Throttled(denied));
    }
    match userpool_core::oauth::token::authenticate(view, &creds, &state.master) {
        Ok(client) => Ok((form, client)),
        Err(e) => {
            // Only a guess counts: a secret sent for a client that has one.
            let guessed =
                creds.secret.is_some() && view.clients.get(id).is_some_and(|c| c.has_secret());
            if e.code == ErrorCode::InvalidClient && guessed {
                limits.client_failed(id, address);
            }
            Err(e.into())
        }
    }
}

/// Headers of every token-endpoint-style JSON answer.
pub(crate) fn json_headers() -> [(header::HeaderName, HeaderValue); 3] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// An OAuth error as JSON (RFC 6749 §5.2): 400, or 401 with a Basic challenge for
/// `invalid_client` when the client used Basic authentication.
pub(crate) fn json_error(error: &OAuthError, basic: bool) -> Response {
    let mut body = json!({"error": error.code.as_str()});
    if let Some(d) = &error.description {
        body["error_description"] = json!(d);
    }
    let status = if error.code == ErrorCode::InvalidClient {
        StatusCode::UNAUTHORIZED
    } else if error.code == ErrorCode::ServerError {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut response = (status, json_headers(), body.to_string()).into_response();
    if error.code == ErrorCode::InvalidClient && basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"userpool\""),
        );
    }
    response
}
