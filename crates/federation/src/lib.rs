//! userpool-federation owns the outbound half of federation: talking to outside OpenID Connect
//! and social identity providers. It resolves a provider's endpoints (discovery, Cognito's
//! defaults for the social types, operator overrides), builds the authorization URL, exchanges
//! the code, validates the ID token with the `openidconnect` crate, and reads attributes.
//! Provisioning and sessions are core's and web's.

mod apple;
mod endpoints;
mod exchange;
mod id_token;
pub mod saml;

use std::time::Duration;

use async_trait::async_trait;
use userpool_core::federation::{Connector, FederationError, Outbound, UpstreamIdentity};
use userpool_core::model::IdentityProviderConfig;

pub use endpoints::Endpoints;

/// The connector for every OIDC and social provider type, over one HTTP client whose calls
/// all time out: a provider that hangs never holds a request.
pub struct HttpConnector {
    http: reqwest::Client,
    /// Plain http to loopback providers: only for a server that is itself on http.
    http_loopback: bool,
}

impl HttpConnector {
    pub fn new(timeout: Duration, http_loopback: bool) -> Self {
        Self {
            http: http_client(timeout),
            http_loopback,
        }
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
        let ep = endpoints::resolve(&self.http, idp, self.http_loopback).await?;
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
        let ep = endpoints::resolve(&self.http, idp, self.http_loopback).await?;
        exchange::complete(
            &self.http,
            idp,
            &ep,
            redirect_uri,
            code,
            nonce,
            pkce_verifier,
        )
        .await
    }
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
