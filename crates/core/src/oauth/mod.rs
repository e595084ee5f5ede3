//! The OAuth 2.0 / OpenID Connect provider (spec §3–§9, §13): authorize checks, grants, token
//! minting and verification, userInfo claims, revocation. Handlers in `userpool-web` parse the
//! wire format and call these functions; every protocol decision is made here.

pub mod authorize;
pub mod claims;
mod error;
pub mod grant;
pub mod pkce;
pub mod scope;
pub mod token;

pub use error::{ErrorCode, OAuthError};
