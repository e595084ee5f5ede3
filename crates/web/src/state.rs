//! What every handler can reach: the store, the directory of pools, and the clock.

use std::sync::Arc;

use userpool_core::directory::Directory;
use userpool_core::federation::Connector;
use userpool_core::keys::MasterKey;
use userpool_core::lifecycle::Mailer;
use userpool_core::store::Store;
use userpool_core::time::Clock;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub directory: Arc<Directory>,
    pub clock: Arc<dyn Clock>,
    /// Key of the CSRF tokens (derived from the master key: the same on every node).
    pub csrf_key: [u8; 32],
    /// Cookies get `Secure` and the `__Host-` prefix when the public URL is https.
    pub secure_cookies: bool,
    /// Seals TOTP secrets at rest.
    pub master: Arc<MasterKey>,
    /// Delivers confirmation and reset codes.
    pub mailer: Arc<dyn Mailer>,
    /// Talks to outside identity providers.
    pub connector: Arc<dyn Connector>,
    /// The metadata of SAML IdPs, parsed or fetched and cached.
    pub saml: Arc<userpool_federation::saml::SamlProviders>,
    /// Bounds concurrent Argon2 work (memory and CPU): a few permits per core.
    pub argon2: Arc<tokio::sync::Semaphore>,
}
