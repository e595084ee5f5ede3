//! `{issuer}/.well-known/openid-configuration` and `{issuer}/.well-known/jwks.json` (spec §15,
//! §16): served from the directory's pre-serialized documents, on every host, with CORS `*`.

use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use userpool_core::directory::PoolView;
use userpool_core::keys::JWKS_MAX_AGE;
use userpool_core::model::IssuerType;
use userpool_core::settings::IssuerSettings;

use crate::error::CognitoError;
use crate::state::AppState;

fn lookup(
    state: &AppState,
    pool_id: &str,
    kind: IssuerType,
) -> Result<Arc<PoolView>, CognitoError> {
    let path = IssuerSettings::issuer_path(pool_id, kind);
    state
        .directory
        .snapshot()
        .pool_by_issuer_path(&path)
        .cloned()
        .ok_or_else(|| CognitoError::pool_not_found(pool_id))
}

/// Verifiers may cache as long as a new key waits before it signs (see `keys::rotation`).
static CACHE_CONTROL: LazyLock<HeaderValue> = LazyLock::new(|| {
    HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE}")).expect("valid header")
});

/// Shares the directory's serialized document with the response body without copying it.
struct SharedJson(Arc<str>);

impl AsRef<[u8]> for SharedJson {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

fn json_document(body: &Arc<str>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
            (header::CACHE_CONTROL, CACHE_CONTROL.clone()),
        ],
        Bytes::from_owner(SharedJson(body.clone())),
    )
        .into_response()
}

fn discovery(state: &AppState, pool_id: &str, kind: IssuerType) -> Response {
    match lookup(state, pool_id, kind) {
        Ok(view) => json_document(&view.discovery_json),
        Err(e) => e.into_response(),
    }
}

fn jwks(state: &AppState, pool_id: &str, kind: IssuerType) -> Response {
    match lookup(state, pool_id, kind) {
        Ok(view) => json_document(&view.jwks_json),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn original_discovery(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    discovery(&s, &id, IssuerType::Original)
}

pub(crate) async fn updated_discovery(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    discovery(&s, &id, IssuerType::Updated)
}

pub(crate) async fn original_jwks(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    jwks(&s, &id, IssuerType::Original)
}

pub(crate) async fn updated_jwks(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    jwks(&s, &id, IssuerType::Updated)
}
