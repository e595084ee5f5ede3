//! Cognito's error answers: `{"__type": "...", "message": "..."}` with the HTTP status the
//! exception has in the service model (400 for what the caller did, 500 for us).

use userpool_core::auth::AuthError;
use userpool_core::store::StoreError;

/// An exception named as Cognito names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: &'static str,
    pub message: String,
    pub status: u16,
}

impl ApiError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        let status = if kind == "InternalErrorException" {
            500
        } else {
            400
        };
        Self {
            kind,
            message: message.into(),
            status,
        }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterException", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("ResourceNotFoundException", message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    pub fn unknown_operation() -> Self {
        Self::new("UnknownOperationException", "")
    }

    pub fn internal() -> Self {
        Self::new("InternalErrorException", "Internal server error.")
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::json!({ "__type": self.kind, "message": self.message }).to_string()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failed");
        Self::internal()
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        Self::new(e.kind.name(), e.message)
    }
}
