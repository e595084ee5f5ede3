//! The in-memory view of every pool that request handlers read: pools by issuer path and by
//! domain host, their loaded key rings, and their discovery and JWKS documents serialized once.
//! Each node refreshes it after its own configuration writes, when the store reports a change
//! committed by another node (PostgreSQL `LISTEN/NOTIFY`), and on a short interval as a backstop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::discovery::DiscoveryDocument;
use crate::ids;
use crate::keys::{KeyError, KeyRing, MasterKey};
use crate::settings::IssuerSettings;
use crate::store::{
    ClientRecord, DomainRecord, IdentityProviderRecord, PoolRecord, Store, StoreError,
};
use crate::time::Timestamp;
use crate::triggers::TriggerTable;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("identity provider secret: {0}")]
    Secret(String),
}

/// One pool, ready to serve.
#[derive(Debug)]
pub struct PoolView {
    pub pool: PoolRecord,
    pub region: String,
    pub issuer: String,
    /// The pool's domains, the preferred one (custom before prefix) first.
    pub domains: Vec<DomainRecord>,
    pub keys: Arc<KeyRing>,
    /// The pool's app clients by client ID.
    pub clients: HashMap<String, ClientRecord>,
    /// The pool's outside identity providers by name.
    pub identity_providers: HashMap<String, IdentityProviderRecord>,
    pub discovery_json: Arc<str>,
    pub jwks_json: Arc<str>,
    /// The pool's Lambda triggers, read from its `LambdaConfig`.
    pub triggers: TriggerTable,
    /// When the key ring must be reloaded even if the generation did not change.
    keys_change_at: Option<Timestamp>,
}

/// An immutable snapshot of all pools.
#[derive(Debug, Default)]
pub struct Snapshot {
    by_issuer_path: HashMap<String, Arc<PoolView>>,
    by_id: HashMap<String, Arc<PoolView>>,
    by_host: HashMap<String, Arc<PoolView>>,
    /// Pools by the IDs of their app clients (the API's sign-in names only the client).
    by_client: HashMap<String, Arc<PoolView>>,
}

impl PoolView {
    /// The provider an `idp_identifier` names (case-insensitive, spec §1.6), or, for an email
    /// address, the provider whose identifier is its domain.
    pub fn provider_by_identifier(&self, identifier: &str) -> Option<&IdentityProviderRecord> {
        let wanted = identifier.trim().to_lowercase();
        let domain = wanted.rsplit_once('@').map(|(_, d)| d.to_string());
        self.identity_providers.values().find(|p| {
            p.config.idp_identifiers.iter().any(|i| {
                let i = i.to_lowercase();
                i == wanted || domain.as_deref() == Some(i.as_str())
            })
        })
    }

    /// The base URL of the pool's preferred domain, if it has one.
    pub fn domain_url(&self, settings: &IssuerSettings) -> Option<String> {
        self.domains
            .first()
            .map(|d| settings.domain_url(&d.config, &self.region))
    }
}

impl Snapshot {
    /// The pool whose discovery lives at `path` (`/{poolId}` or `/issuer/{poolId}`).
    pub fn pool_by_issuer_path(&self, path: &str) -> Option<&Arc<PoolView>> {
        self.by_issuer_path.get(path)
    }

    pub fn pool(&self, id: &str) -> Option<&Arc<PoolView>> {
        self.by_id.get(id)
    }

    /// The pool a request's Host header addresses: the exact host (with port) first, then the
    /// host without its port.
    pub fn pool_for_host(&self, host: &str) -> Option<&Arc<PoolView>> {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        self.by_host.get(&host).or_else(|| {
            let bare = match host.rsplit_once(':') {
                Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
                _ => return None,
            };
            self.by_host.get(bare.trim_end_matches('.'))
        })
    }

    pub fn pools(&self) -> impl Iterator<Item = &Arc<PoolView>> {
        self.by_id.values()
    }

    /// The pool of this ID.
    pub fn by_id(&self, id: &str) -> Option<Arc<PoolView>> {
        self.by_id.get(id).cloned()
    }

    /// The pool an app client belongs to.
    pub fn pool_of_client(&self, client_id: &str) -> Option<Arc<PoolView>> {
        self.by_client.get(client_id).cloned()
    }
}

/// The live directory of one node.
pub struct Directory {
    settings: IssuerSettings,
    master: Arc<MasterKey>,
    current: RwLock<Arc<Snapshot>>,
    /// Tickets of refreshes: one that started later read the store later, so an earlier one
    /// finishing after it must not replace its snapshot.
    started: AtomicU64,
    installed: Mutex<u64>,
}

impl Directory {
    pub fn new(settings: IssuerSettings, master: Arc<MasterKey>) -> Self {
        Self {
            settings,
            master,
            current: RwLock::new(Arc::new(Snapshot::default())),
            started: AtomicU64::new(0),
            installed: Mutex::new(0),
        }
    }

    pub fn settings(&self) -> &IssuerSettings {
        &self.settings
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reloads pools and domains; reuses a pool's key ring unless its keys changed. A pool whose
    /// keys cannot be loaded keeps its previous view (or stays out) and is reported, so one bad
    /// pool does not freeze the others.
    pub async fn refresh(
        &self,
        store: &dyn Store,
        now: Timestamp,
    ) -> Result<Vec<(String, DirectoryError)>, DirectoryError> {
        let ticket = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let mut problems = Vec::new();
        let previous = self.snapshot();
        let mut domains: HashMap<String, Vec<DomainRecord>> = HashMap::new();
        for d in store.list_domains().await? {
            domains.entry(d.pool_id.clone()).or_default().push(d);
        }
        let mut next = Snapshot::default();
        for pool in store.list_pools().await? {
            let mut pool_domains = domains.remove(&pool.id).unwrap_or_default();
            pool_domains.sort_by_key(|d| (!d.config.is_custom(), d.created_at));
            let reusable = previous.by_id.get(&pool.id).filter(|v| {
                v.pool.key_generation == pool.key_generation
                    && v.keys_change_at.is_none_or(|t| t > now)
            });
            let keys = match reusable {
                Some(v) => v.keys.clone(),
                None => {
                    let records = store.list_signing_keys(&pool.id).await?;
                    match KeyRing::load(&records, &self.master, now) {
                        Ok(ring) => Arc::new(ring),
                        Err(e) => {
                            problems.push((pool.id.clone(), e.into()));
                            match previous.by_id.get(&pool.id) {
                                Some(v) => v.keys.clone(),
                                None => continue,
                            }
                        }
                    }
                }
            };
            let clients = store
                .list_clients(&pool.id)
                .await?
                .into_iter()
                .map(|c| (c.client_id.clone(), c))
                .collect();
            let mut identity_providers = HashMap::new();
            for mut idp in store.list_identity_providers(&pool.id).await? {
                // Secrets are sealed at rest; the view holds them open, in memory only.
                match idp.config.open_secrets(&self.master, &pool.id) {
                    Ok(()) => {
                        identity_providers.insert(idp.config.provider_name.clone(), idp);
                    }
                    Err(e) => problems.push((pool.id.clone(), DirectoryError::Secret(e))),
                }
            }
            let view =
                Arc::new(self.view(pool, pool_domains, keys, clients, identity_providers, now));
            let kind = view.pool.config.issuer_configuration.r#type;
            next.by_issuer_path.insert(
                IssuerSettings::issuer_path(&view.pool.id, kind),
                view.clone(),
            );
            for d in &view.domains {
                next.by_host.insert(
                    self.settings.domain_host(&d.config, &view.region),
                    view.clone(),
                );
            }
            for client_id in view.clients.keys() {
                next.by_client.insert(client_id.clone(), view.clone());
            }
            next.by_id.insert(view.pool.id.clone(), view);
        }
        let mut installed = self.installed.lock().unwrap_or_else(|e| e.into_inner());
        if ticket > *installed {
            *installed = ticket;
            crate::metrics::METRICS.newest_keys(
                next.by_id
                    .values()
                    .filter_map(|v| Some((v.pool.id.clone(), v.keys.newest_created_at()?)))
                    .collect(),
            );
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        }
        Ok(problems)
    }

    fn view(
        &self,
        pool: PoolRecord,
        domains: Vec<DomainRecord>,
        keys: Arc<KeyRing>,
        clients: HashMap<String, ClientRecord>,
        identity_providers: HashMap<String, IdentityProviderRecord>,
        now: Timestamp,
    ) -> PoolView {
        let region = ids::pool_region(&pool.id)
            .unwrap_or("us-east-1")
            .to_string();
        let kind = pool.config.issuer_configuration.r#type;
        let issuer = self.settings.issuer(&pool.id, &region, kind);
        let domain_url = domains
            .first()
            .map(|d| self.settings.domain_url(&d.config, &region));
        let mut doc = DiscoveryDocument::new(
            issuer.clone(),
            &self.settings.local_issuer_url(&pool.id, kind),
            domain_url.as_deref(),
        );
        doc.id_token_signing_alg_values_supported = keys.algs();
        PoolView {
            discovery_json: serde_json::to_string(&doc).expect("serializable").into(),
            jwks_json: serde_json::to_string(&keys.jwks())
                .expect("serializable")
                .into(),
            keys_change_at: keys.next_change_after(now),
            triggers: TriggerTable::of(pool.config.lambda_config.as_ref()),
            keys,
            clients,
            identity_providers,
            pool,
            region,
            issuer,
            domains,
        }
    }
}
