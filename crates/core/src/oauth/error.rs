//! OAuth error codes (RFC 6749 §4.1.2.1, §5.2; RFC 6750; RFC 7009; OIDC) and the error value
//! that carries a public description.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    UnsupportedTokenType,
    InvalidToken,
    LoginRequired,
    AccessDenied,
    ServerError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
        }
    }
}

/// An OAuth error: a code and an optional description safe to show to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Option<Cow<'static, str>>,
    /// The Cognito exception a trigger's failure is named by, for the API (whose answer it
    /// becomes); the OAuth endpoints answer `invalid_request` with its message.
    pub exception: Option<&'static str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
            exception: None,
        }
    }

    pub fn with(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: Some(description.into()),
            exception: None,
        }
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::with(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient)
    }
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::with(ErrorCode::InvalidGrant, d)
    }
    pub fn server_error() -> Self {
        Self::new(ErrorCode::ServerError)
    }
}

impl From<crate::auth::AuthError> for OAuthError {
    /// A trigger's refusal while tokens are made (spec §5.3: `invalid_request`).
    fn from(e: crate::auth::AuthError) -> Self {
        if e.kind == crate::auth::ErrorKind::Internal {
            return Self::server_error();
        }
        let mut error = Self::invalid_request(e.message);
        error.exception = Some(e.kind.name());
        error
    }
}

impl From<crate::store::StoreError> for OAuthError {
    /// The cause is logged; the response says only `server_error`.
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        OAuthError::server_error()
    }
}
