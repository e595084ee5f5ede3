//! What every handler can reach: the store, the directory of pools, the clock, and the
//! sign-in use cases.

use std::sync::Arc;

use userpool_core::auth::Auth;
use userpool_core::directory::Directory;
use userpool_core::federation::Connector;
use userpool_core::keys::MasterKey;
use userpool_core::lifecycle::Mailer;
use userpool_core::store::Store;
use userpool_core::time::Clock;
use userpool_core::triggers::Triggers;

use crate::work::{BlockingQueue, DetachedMailer, StripedTurns};

/// The state behind one reference count: handlers and middleware clone it per request, so a
/// clone is one atomic increment, not one per part.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl From<AppParts> for AppState {
    fn from(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct AppParts {
    pub store: Arc<dyn Store>,
    pub directory: Arc<Directory>,
    pub clock: Arc<dyn Clock>,
    /// Key of the CSRF tokens (derived from the master key: the same on every node).
    pub csrf_key: [u8; 32],
    /// Cookies get `Secure` and the `__Host-` prefix when the public URL is https.
    pub secure_cookies: bool,
    /// Set when the node begins to stop: it is no longer ready for new traffic.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Seals TOTP secrets at rest.
    pub master: Arc<MasterKey>,
    /// Talks to outside identity providers.
    pub connector: Arc<dyn Connector>,
    /// The metadata of SAML IdPs, parsed or fetched and cached.
    pub saml: Arc<userpool_federation::saml::SamlProviders>,
    /// The sign-in use cases, on this node's work queue and lockout turns.
    pub auth: Arc<Auth>,
    /// The Cognito API (`POST /`).
    pub api: Arc<userpool_api::Api>,
    /// This node's request quotas (the API holds the same).
    pub limits: Arc<userpool_core::limits::Limits>,
    /// Which peers' `X-Forwarded-For` names the client.
    pub client_addresses: crate::limits::ClientAddresses,
}

impl AppParts {
    /// The use cases over the state's store, clock, master key and mailer; Argon2 work runs
    /// two per core, waiting at most `hash_queue_wait` for a place; auth events are kept
    /// `audit_retention_days`.
    pub fn auth(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        master: Arc<MasterKey>,
        mailer: Arc<dyn Mailer>,
        hash_queue_wait: std::time::Duration,
        triggers: Arc<Triggers>,
        audit_retention_days: i64,
    ) -> Arc<Auth> {
        let width = 2 * std::thread::available_parallelism().map_or(1, |n| n.get());
        Arc::new(
            Auth::new(
                store,
                clock,
                master,
                Arc::new(DetachedMailer(mailer)),
                Arc::new(BlockingQueue::new(width, hash_queue_wait)),
                Arc::new(StripedTurns::new(hash_queue_wait)),
                Arc::new(userpool_federation::saml::credentials::RcgenKeys),
                triggers,
            )
            .with_audit_retention(audit_retention_days),
        )
    }
}
