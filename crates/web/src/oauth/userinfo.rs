//! `GET|POST /oauth2/userInfo` (spec §7): attributes for a bearer access token.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use userpool_core::oauth::token;

use crate::host::DomainPool;
use crate::state::AppState;

fn headers() -> [(header::HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
        ),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
        (header::EXPIRES, HeaderValue::from_static("0")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ]
}

fn failure(status: StatusCode, error: &str, description: &str) -> Response {
    let challenge = format!("Bearer error=\"{error}\", error_description=\"{description}\"");
    let mut r = (
        status,
        headers(),
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&challenge).expect("static text"),
    );
    r
}

pub(crate) async fn userinfo(
    State(state): State<AppState>,
    DomainPool(view): DomainPool,
    request_headers: HeaderMap,
) -> Response {
    let bearer = request_headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(access_token) = bearer else {
        return failure(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Bad OAuth2 request at UserInfo Endpoint",
        );
    };
    match token::userinfo(&*state.store, &view, access_token, state.clock.now()).await {
        Ok(claims) => (headers(), serde_json::Value::Object(claims).to_string()).into_response(),
        Err(e) if e.code == userpool_core::oauth::ErrorCode::ServerError => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Internal error",
        ),
        Err(_) => failure(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Access token is expired, disabled, or deleted, or the user has globally signed out.",
        ),
    }
}
