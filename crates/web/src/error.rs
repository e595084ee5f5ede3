//! Errors as Cognito renders them: JSON `{"__type": …, "message": …}` with the HTTP status of
//! the exception. The one place where such errors become responses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Cognito service error.
#[derive(Debug)]
pub(crate) struct CognitoError {
    pub(crate) status: StatusCode,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
}

impl CognitoError {
    pub(crate) fn pool_not_found(pool_id: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "ResourceNotFoundException",
            message: format!("User pool {pool_id} does not exist."),
        }
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "InternalErrorException",
            message: message.into(),
        }
    }
}

impl IntoResponse for CognitoError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"__type": self.kind, "message": self.message})),
        )
            .into_response()
    }
}
