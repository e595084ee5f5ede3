//! Token signing keys: two RSA-2048 key pairs per pool (ID and access tokens, spec §16.1), or,
//! when a pool opts in, two ECDSA P-256 ones (ES256, beyond Cognito: docs/design/0009-es256-keys.md);
//! sealed at rest under the operator's master key, published as JWKS, and rotated without a gap.

mod envelope;
mod ring;
mod rotation;

pub use envelope::{MasterKey, SealedKey};
pub use ring::{Jwk, JwkSet, KeyRing, SigningAlg, SigningKey};
pub use rotation::{
    JWKS_MAX_AGE, MAX_REFRESH_INTERVAL, MAX_TOKEN_LIFETIME, PUBLISH_LEAD, RotationPlan,
    current_alg, new_key_of, new_signing_key, rotate, rotate_to,
};

/// Which tokens a key signs: Cognito signs ID and access tokens with different keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    Id,
    Access,
}

impl KeyPurpose {
    pub const ALL: [KeyPurpose; 2] = [KeyPurpose::Id, KeyPurpose::Access];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Id => "id",
            KeyPurpose::Access => "access",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "id" => Some(KeyPurpose::Id),
            "access" => Some(KeyPurpose::Access),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "signing keys of pool {pool} are sealed under master key {stored}, but the configured master key is {configured}; set USERPOOL_MASTER_KEY to the key this database was created with"
    )]
    WrongMasterKey {
        pool: String,
        stored: String,
        configured: String,
    },
    #[error(
        "a sealed signing key of pool {0} failed to decrypt: it was altered, or sealed for another record"
    )]
    Unseal(String),
    #[error("invalid key material: {0}")]
    Invalid(String),
}
