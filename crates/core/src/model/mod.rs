//! The configuration of a user pool and its parts, in Cognito's own request shapes and field
//! names (spec §2), with the validation rules Cognito applies to them. The seed file and the
//! management API share these types; the store keeps them as JSON.

mod client;
mod idp;
mod pool;
mod resources;
mod user;
mod validate;

pub use client::*;
pub use idp::*;
pub use pool::*;
pub use resources::*;
pub use user::*;
pub use validate::{Problems, ValidationError};

/// A secret given in configuration (a client secret, a seed password): read with `expose`,
/// printed by `Debug` as `[redacted]`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Cognito's `{"Name": …, "Value": …}` pair, used for user attributes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttributeType {
    pub name: String,
    #[serde(default)]
    pub value: String,
}
