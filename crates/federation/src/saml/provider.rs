//! The metadata of a pool's SAML IdPs: parsed from `MetadataFile`, or fetched from
//! `MetadataURL` with the connector's timeout and kept for up to six hours (spec §2.3).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use userpool_core::crypto::TokenHash;
use userpool_core::model::IdentityProviderConfig;

use super::metadata::{self, IdpMetadata};
use crate::fetch::BodyError;

/// Fetched metadata is reused this long.
const URL_CACHE_SECONDS: i64 = 6 * 3600;
/// A failed fetch is not retried for this long: requests cannot turn into a stream of
/// outbound calls to a broken metadata URL.
const FAILURE_CACHE_SECONDS: i64 = 30;

/// A metadata lookup as cached: when it was made, and what it gave.
type Cached = (i64, Result<Arc<IdpMetadata>, String>);

/// Parsed metadata per provider configuration, shared by the requests of one node.
pub struct SamlProviders {
    http: reqwest::Client,
    /// Plain http to a loopback metadata URL: only for a server that is itself on http.
    http_loopback: bool,
    cache: Mutex<HashMap<String, Cached>>,
}

impl SamlProviders {
    pub fn new(timeout: std::time::Duration, http_loopback: bool) -> Self {
        Self {
            http: crate::http_client(timeout),
            http_loopback,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The IdP's metadata. Errors are for the log; the user sees a misconfigured provider.
    pub async fn metadata(
        &self,
        pool_id: &str,
        idp: &IdentityProviderConfig,
        now: i64,
    ) -> Result<Arc<IdpMetadata>, String> {
        let d = &idp.provider_details;
        let source = d
            .get("MetadataFile")
            .map(|f| format!("file:{}", TokenHash::of(f).as_str()))
            .or_else(|| d.get("MetadataURL").map(|u| format!("url:{u}")))
            .ok_or("no metadata configured")?;
        let key = format!("{pool_id}/{}/{source}", idp.provider_name);
        if let Some((at, cached)) = self.cache.lock().expect("cache lock").get(&key) {
            let fresh = match cached {
                Ok(_) => source.starts_with("file:") || now - at < URL_CACHE_SECONDS,
                Err(_) => now - at < FAILURE_CACHE_SECONDS,
            };
            if fresh {
                return cached.clone();
            }
        }
        let parsed = match d.get("MetadataFile") {
            Some(f) => metadata::parse(f, now),
            None => match self.fetch(&d["MetadataURL"]).await {
                Ok(text) => metadata::parse(&text, now),
                Err(e) => Err(e),
            },
        }
        .map(Arc::new);
        self.cache
            .lock()
            .expect("cache lock")
            .insert(key, (now, parsed.clone()));
        parsed
    }

    async fn fetch(&self, url: &str) -> Result<String, String> {
        crate::endpoints::check_url("MetadataURL", url, self.http_loopback)
            .map_err(|e| format!("{e:?}"))?;
        let bytes = crate::observed("SAML", "metadata", async {
            let r = self
                .http
                .get(url)
                .send()
                .await
                .map_err(|e| format!("Error retrieving metadata: {e}"))?;
            if !r.status().is_success() {
                return Err(format!("Error retrieving metadata: HTTP {}", r.status()));
            }
            // Metadata documents are small; a larger answer is refused.
            crate::fetch::read_capped(r).await.map_err(|e| match e {
                BodyError::TooLarge => "Error retrieving metadata: document too large".to_string(),
                BodyError::Transport(e) => format!("Error retrieving metadata: {e}"),
            })
        })
        .await?;
        String::from_utf8(bytes).map_err(|_| "metadata is not UTF-8".into())
    }
}
