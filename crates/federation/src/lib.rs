//! userpool-federation owns the outbound half of federation: talking to outside OpenID Connect
//! and social identity providers. It resolves a provider's endpoints (discovery, Cognito's
//! defaults for the social types, operator overrides), builds the authorization URL, exchanges
//! the code, validates the ID token with the `openidconnect` crate, and reads attributes.
//! Discovery documents and key sets are cached per node (`cache`); every answer is read with a
//! cap (`fetch`). Provisioning and sessions are core's and web's.

mod apple;
mod cache;
mod endpoints;
mod exchange;
mod fetch;
mod id_token;
pub mod saml;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use openidconnect::core::CoreJsonWebKeySet;
use userpool_core::federation::{Connector, FederationError, Outbound, UpstreamIdentity};
use userpool_core::model::IdentityProviderConfig;
use userpool_core::time::{Clock, SystemClock};

use cache::{Cache, Want};
pub use endpoints::{Endpoints, social_details};

/// The connector for every OIDC and social provider type, over one HTTP client whose calls
/// all time out: a provider that hangs never holds a request.
pub struct HttpConnector {
    http: reqwest::Client,
    /// Plain http to loopback providers: only for a server that is itself on http.
    http_loopback: bool,
    clock: Arc<dyn Clock>,
    /// Discovery documents by configured issuer: overrides are applied after the cache, and
    /// another issuer is another entry.
    discovery: Cache<endpoints::Discovery>,
    /// Key sets by `jwks_uri`, whether discovered or configured.
    jwks: Cache<CoreJsonWebKeySet>,
}

impl HttpConnector {
    pub fn new(timeout: Duration, http_loopback: bool) -> Self {
        Self {
            http: http_client(timeout),
            http_loopback,
            clock: Arc::new(SystemClock),
            discovery: Cache::new("discovery", cache::POLICY),
            jwks: Cache::new("jwks", cache::POLICY),
        }
    }

    /// The provider's endpoints, its discovery document from the cache.
    async fn endpoints(&self, idp: &IdentityProviderConfig) -> Result<Endpoints, FederationError> {
        let doc = match endpoints::discovery_issuer(idp, self.http_loopback)? {
            Some(iss) => Some(
                self.discovery
                    .get(&iss, self.clock.now(), Want::Fresh, || {
                        observed(
                            &idp.provider_type,
                            "discovery",
                            endpoints::discover(&self.http, &iss),
                        )
                    })
                    .await?,
            ),
            None => None,
        };
        endpoints::resolve(idp, doc.as_deref(), self.http_loopback)
    }
}

/// The HTTP client for calls to providers: every call times out, and redirects are not
/// followed — endpoints are configured, and following would let a provider point us anywhere.
pub(crate) fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("userpool/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client")
}

#[async_trait]
impl Connector for HttpConnector {
    async fn authorization_url(
        &self,
        idp: &IdentityProviderConfig,
        out: &Outbound<'_>,
    ) -> Result<String, FederationError> {
        let ep = self.endpoints(idp).await?;
        Ok(exchange::authorization_url(idp, &ep, out))
    }

    async fn exchange(
        &self,
        idp: &IdentityProviderConfig,
        redirect_uri: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<UpstreamIdentity, FederationError> {
        let ep = self.endpoints(idp).await?;
        exchange::complete(self, idp, &ep, redirect_uri, code, nonce, pkce_verifier).await
    }
}

/// Runs one outbound call to a provider of `provider_type` and counts it in the metrics: its
/// seconds, by `call` and outcome (a failure is any error, a refusing status included).
pub(crate) async fn observed<T, E>(
    provider_type: &str,
    call: &'static str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = std::time::Instant::now();
    let result = f.await;
    userpool_core::metrics::METRICS.federation_call(
        provider_type,
        call,
        result.is_ok(),
        started.elapsed().as_secs_f64(),
    );
    result
}

/// Maps a transport failure of a call to `endpoint` to Cognito's relayed description.
pub(crate) fn transport(endpoint: &'static str, e: &reqwest::Error) -> FederationError {
    if e.is_timeout() {
        FederationError::Timeout { endpoint }
    } else {
        // The details (addresses, resolver errors) go to the log, not to the app.
        tracing::warn!(endpoint, error = %e, "identity provider unreachable");
        FederationError::Connection(format!("{endpoint} endpoint unreachable"))
    }
}
