//! Conversions between core records and the column values both dialects share: JSON text for
//! configuration, integers for times, text for enums.

use serde::Serialize;
use serde::de::DeserializeOwned;
use userpool_core::client_secret::{ClientSecret, StoredSecret};
use userpool_core::crypto::TokenHash;
use userpool_core::store::StoreError;

pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("configuration records serialize")
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A client secret as its column keeps it: sealed, or (before secrets were sealed) hashed.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum SecretEntry {
    Kept {
        id: String,
        created_at: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        sealed: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
    },
    /// Rows written before migration 0014: a bare SHA-256 hex string.
    Legacy(String),
}

pub(crate) fn secrets_to_json(secrets: &[ClientSecret]) -> String {
    let entries: Vec<SecretEntry> = secrets
        .iter()
        .map(|s| {
            let (sealed, sha256) = match &s.stored {
                StoredSecret::Sealed(v) => (Some(v.clone()), None),
                StoredSecret::Hashed(h) => (None, Some(h.as_str().to_string())),
            };
            SecretEntry::Kept {
                id: s.id.clone(),
                created_at: s.created_at,
                sealed,
                sha256,
            }
        })
        .collect();
    to_json(&entries)
}

/// The secrets of a client row; a legacy hash dates from the client's creation.
pub(crate) fn secrets_from_json(
    text: &str,
    client_created_at: i64,
) -> Result<Vec<ClientSecret>, StoreError> {
    let entries: Vec<SecretEntry> = from_json("client secrets", text)?;
    entries
        .into_iter()
        .map(|e| match e {
            SecretEntry::Legacy(hex) => Ok(ClientSecret::legacy(
                TokenHash::from_stored(hex),
                client_created_at,
            )),
            SecretEntry::Kept {
                id,
                created_at,
                sealed,
                sha256,
            } => {
                let stored = match (sealed, sha256) {
                    (Some(v), None) => StoredSecret::Sealed(v),
                    (None, Some(h)) => StoredSecret::Hashed(TokenHash::from_stored(h)),
                    _ => return Err(StoreError::Corrupt(format!("client secret {id}"))),
                };
                Ok(ClientSecret {
                    id,
                    created_at,
                    stored,
                })
            }
        })
        .collect()
}

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hashed_before_sealing_read_as_legacy_entries() {
        let hash = TokenHash::of("old");
        let read = secrets_from_json(&format!("[\"{}\"]", hash.as_str()), 42).unwrap();
        assert_eq!(read, vec![ClientSecret::legacy(hash, 42)]);
        // Written back, they keep their ID and date.
        assert_eq!(secrets_from_json(&secrets_to_json(&read), 0).unwrap(), read);
    }
}
