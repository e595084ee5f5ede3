//! The responses every flow ends in: a no-store redirect, a rejected authorize request sent to
//! our error page or to the client, and an error of a valid request sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use userpool_core::oauth::OAuthError;
use userpool_core::oauth::authorize::{self, AuthorizeRequest, Rejection};

use crate::html;

/// A 302 that no cache keeps.
pub(crate) fn redirect(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    let h = r.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            h.insert(header::LOCATION, v);
        }
        Err(_) => return html::error_page("invalid_request"),
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
