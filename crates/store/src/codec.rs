//! Conversions between core records and the column values both dialects share: JSON text for
//! configuration, integers for times, text for enums.

use serde::Serialize;
use serde::de::DeserializeOwned;
use userpool_core::crypto::TokenHash;
use userpool_core::store::StoreError;

pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("configuration records serialize")
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn hashes_to_json(hashes: &[TokenHash]) -> String {
    to_json(&hashes.iter().map(TokenHash::as_str).collect::<Vec<_>>())
}

pub(crate) fn hashes_from_json(text: &str) -> Result<Vec<TokenHash>, StoreError> {
    let list: Vec<String> = from_json("client secret hashes", text)?;
    Ok(list.into_iter().map(TokenHash::from_stored).collect())
}

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}
