//! SAML 2.0 service provider (spec §11, §12, §16.2–§16.3): IdP metadata, our keys and
//! messages, and the strict validation layer over bergshamra's XML-DSig and XML-Enc.
//! No module here does I/O except the metadata fetch in `provider`.

pub mod credentials;
pub mod logout;
pub mod messages;
pub mod metadata;
mod provider;
pub mod response;
mod signature;
#[cfg(test)]
mod tests;
mod xml;

pub use metadata::IdpMetadata;
pub use provider::SamlProviders;

/// A NameID as received: value, format and qualifiers travel back in a LogoutRequest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NameId {
    pub value: String,
    pub format: Option<String>,
    pub name_qualifier: Option<String>,
    pub sp_name_qualifier: Option<String>,
}

/// A refused SAML message: `public` goes to the app after "Invalid SAML response received: ",
/// `detail` only to the log (checklist SM27: no XML echoed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{public}")]
pub struct SamlError {
    pub public: &'static str,
    pub detail: String,
}

impl SamlError {
    pub fn new(public: &'static str, detail: impl Into<String>) -> Self {
        Self {
            public,
            detail: detail.into(),
        }
    }
}

/// The SP entity ID Cognito uses (spec §1.5).
pub fn sp_entity_id(pool_id: &str) -> String {
    format!("urn:amazon:cognito:sp:{pool_id}")
}
