//! How a request on a pool domain finds its pool: by the Host header, matched against the
//! pool domains (custom hosts, with or without port, and `{prefix}.auth.{region}.{base}`).

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use userpool_core::directory::PoolView;

use crate::state::AppState;

/// The pool whose domain the request was sent to.
pub(crate) struct DomainPool(pub(crate) Arc<PoolView>);

/// No pool domain answers on this host.
pub(crate) struct UnknownDomain(String);

impl IntoResponse for UnknownDomain {
    fn into_response(self) -> Response {
        (
            StatusCode::NOT_FOUND,
            format!("No user pool domain is configured for host '{}'.\n", self.0),
        )
            .into_response()
    }
}

fn host_of(parts: &Parts) -> String {
    parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default()
}

impl FromRequestParts<AppState> for DomainPool {
    type Rejection = UnknownDomain;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let host = host_of(parts);
        match state.directory.snapshot().pool_for_host(&host) {
            Some(view) => Ok(DomainPool(view.clone())),
            None => Err(UnknownDomain(host)),
        }
    }
}

/// Paths this server does not serve: on a pool domain, a plain 404 naming the pool; on any
/// other host, a 404 naming the host.
pub(crate) async fn domain_fallback(
    State(_): State<AppState>,
    pool: Result<DomainPool, UnknownDomain>,
    uri: Uri,
) -> Response {
    match pool {
        Ok(DomainPool(view)) => (
            StatusCode::NOT_FOUND,
            format!(
                "{} is not an endpoint of user pool {}.\n",
                uri.path(),
                view.pool.id
            ),
        )
            .into_response(),
        Err(unknown) => unknown.into_response(),
    }
}
