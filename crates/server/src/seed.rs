//! The seed file: user pools and everything in them, in Cognito's request shapes, applied at
//! start-up. Loading validates the whole file against Cognito's rules and against the database
//! first, and reports every problem at once; only a valid file is applied, idempotently.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use userpool_core::crypto::{TokenHash, sha256};
use userpool_core::ids;
use userpool_core::model::*;
use userpool_core::password::{HashParams, hash_password};
use userpool_core::store::*;
use userpool_core::time::Timestamp;

/// Keys of a seed pool that are not `CreateUserPool` fields.
const CHILDREN: &[&str] = &[
    "Id",
    "Domains",
    "ResourceServers",
    "Clients",
    "IdentityProviders",
    "Groups",
    "Users",
];

/// A seed file that cannot be applied; nothing was changed.
#[derive(Debug)]
pub(crate) struct SeedError {
    pub(crate) file: String,
    pub(crate) problems: Vec<String>,
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed file {} is invalid ({} problem{}); nothing was changed:",
            self.file,
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SeedError {}

/// A seed pool, split into its `CreateUserPool` fields and its children.
#[derive(Debug, Default)]
pub(crate) struct SeedPool {
    pub(crate) id: Option<String>,
    pub(crate) config: UserPoolConfig,
    pub(crate) domains: Vec<DomainConfig>,
    pub(crate) resource_servers: Vec<ResourceServerConfig>,
    pub(crate) clients: Vec<ClientConfig>,
    pub(crate) identity_providers: Vec<IdentityProviderConfig>,
    pub(crate) groups: Vec<GroupConfig>,
    pub(crate) users: Vec<SeedUser>,
}

struct PlannedClient {
    record: ClientRecord,
    /// A secret made here (GenerateSecret), shown once when the client is created.
    generated_secret: Option<String>,
}

struct PlannedUser {
    record: UserRecord,
    password: Option<String>,
    groups: Vec<String>,
    /// (provider, subject) identities linked to the user.
    links: Vec<(String, String)>,
}

struct PlannedPool {
    record: PoolRecord,
    domains: Vec<DomainConfig>,
    resource_servers: Vec<ResourceServerConfig>,
    identity_providers: Vec<IdentityProviderConfig>,
    groups: Vec<GroupConfig>,
    clients: Vec<PlannedClient>,
    users: Vec<PlannedUser>,
}

/// A validated seed, ready to apply.
pub(crate) struct SeedPlan {
    pools: Vec<PlannedPool>,
}

/// What applying a seed created.
#[derive(Debug, Default)]
pub(crate) struct SeedReport {
    pub(crate) created: Vec<String>,
    /// (pool, client ID, secret) of clients created with a generated secret.
    pub(crate) generated_secrets: Vec<(String, String, String)>,
}

/// Reads, parses and validates `path`.
pub(crate) async fn load(path: &Path, store: &dyn Store, region: &str) -> anyhow::Result<SeedPlan> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read seed file {file}: {e}"))?;
    let pools = parse(&text).map_err(|problems| SeedError {
        file: file.clone(),
        problems,
    })?;
    plan(pools, store, region, now())
        .await?
        .map_err(|problems| SeedError { file, problems }.into())
}

fn now() -> Timestamp {
    use userpool_core::time::Clock;
    userpool_core::time::SystemClock.now()
}

fn field<T: DeserializeOwned + Default>(
    map: &mut Map<String, Value>,
    key: &str,
    path: &str,
    problems: &mut Vec<String>,
) -> T {
    match map.remove(key) {
        None => T::default(),
        Some(v) => from_value(v, &format!("{path}.{key}"), problems).unwrap_or_default(),
    }
}

fn from_value<T: DeserializeOwned>(v: Value, path: &str, problems: &mut Vec<String>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            let at = if inner == "." {
                path.to_string()
            } else if inner.starts_with('[') {
                format!("{path}{inner}")
            } else {
                format!("{path}.{inner}")
            };
            problems.push(format!("{at}: {}", e.into_inner()));
            None
        }
    }
}

/// Parses the JSON text into seed pools; reports every shape error with its path.
pub(crate) fn parse(text: &str) -> Result<Vec<SeedPool>, Vec<String>> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| vec![format!("not valid JSON: {e}")])?;
    let Value::Object(mut root) = root else {
        return Err(vec![
            "the seed must be a JSON object with \"UserPools\"".into(),
        ]);
    };
    let mut problems = Vec::new();
    let pools = match root.remove("UserPools") {
        Some(Value::Array(pools)) => pools,
        Some(_) => return Err(vec!["UserPools: must be an array".into()]),
        None => return Err(vec!["UserPools: missing".into()]),
    };
    for key in root.keys() {
        problems.push(format!("{key}: unknown field; expected UserPools"));
    }
    let mut out = Vec::new();
    for (i, pool) in pools.into_iter().enumerate() {
        let path = format!("UserPools[{i}]");
        let Value::Object(mut map) = pool else {
            problems.push(format!("{path}: must be an object"));
            continue;
        };
        let id: Option<String> = field(&mut map, "Id", &path, &mut problems);
        let domains = field(&mut map, "Domains", &path, &mut problems);
        let resource_servers = field(&mut map, "ResourceServers", &path, &mut problems);
        let clients = field(&mut map, "Clients", &path, &mut problems);
        let identity_providers = field(&mut map, "IdentityProviders", &path, &mut problems);
        let groups = field(&mut map, "Groups", &path, &mut problems);
        let users = field(&mut map, "Users", &path, &mut problems);
        debug_assert!(CHILDREN.iter().all(|k| !map.contains_key(*k)));
        let Some(config) = from_value::<UserPoolConfig>(Value::Object(map), &path, &mut problems)
        else {
            continue;
        };
        out.push(SeedPool {
            id,
            config,
            domains,
            resource_servers,
            clients,
            identity_providers,
            groups,
            users,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A stable `sub` for a seeded user (a version-8 UUID from a hash of pool and username), so
/// that seeding a fresh database twice gives the same IDs.
fn seeded_sub(pool_id: &str, username: &str) -> String {
    let digest = sha256(format!("userpool seed user/{pool_id}/{username}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn described(path: &str, kind: &str, name: &str) -> String {
    format!("{path} ({kind} \"{name}\")")
}

/// Validates every pool against Cognito's rules and the database. `Ok(Err(problems))` is an
/// invalid seed; `Err` is a database failure.
pub(crate) async fn plan(
    pools: Vec<SeedPool>,
    store: &dyn Store,
    region: &str,
    now: Timestamp,
) -> anyhow::Result<Result<SeedPlan, Vec<String>>> {
    let mut problems: Vec<String> = Vec::new();
    let mut planned = Vec::new();
    let existing_pools = store.list_pools().await?;
    let mut seen_pool_ids = HashSet::new();
    let mut seen_hosts: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_client_ids = HashSet::new();
    for (i, seed) in pools.into_iter().enumerate() {
        let ppath = described(&format!("UserPools[{i}]"), "pool", &seed.config.pool_name);
        let mut p = Problems::new(ppath.clone());
        seed.config.validate(&mut p);
        if let Some(id) = &seed.id {
            validate_pool_id(id, &mut p);
        }
        // A pool is the same pool when its Id matches, or, without an Id, its PoolName.
        let existing = match &seed.id {
            Some(id) => existing_pools.iter().find(|x| &x.id == id),
            None => existing_pools
                .iter()
                .find(|x| x.config.pool_name == seed.config.pool_name),
        };
        let pool_id = match (existing, &seed.id) {
            (Some(x), _) => x.id.clone(),
            (None, Some(id)) => id.clone(),
            // Derived, so that nodes applying one seed at once agree on the pool.
            (None, None) => ids::derived_pool_id(region, &seed.config.pool_name),
        };
        if !seen_pool_ids.insert(pool_id.clone()) {
            p.add("Id", format!("pool {pool_id} appears twice in the seed"));
        }
        let stored_rs = match existing {
            Some(x) => store.list_resource_servers(&x.id).await?,
            None => Vec::new(),
        };
        let stored_idps = match existing {
            Some(x) => store.list_identity_providers(&x.id).await?,
            None => Vec::new(),
        };
        let stored_groups = match existing {
            Some(x) => store.list_groups(&x.id).await?,
            None => Vec::new(),
        };

        for (j, d) in seed.domains.iter().enumerate() {
            p.within(&format!("Domains[{j}]"), |p| d.validate(p));
            let host = d.host_key();
            let path = format!("Domains[{j}]");
            if let Some(other) = seen_hosts.insert(host.clone(), pool_id.clone()) {
                p.add(
                    &path,
                    format!("domain '{host}' is also given to pool {other}"),
                );
            }
            if let Some(taken) = store.get_domain(&host).await?
                && taken.pool_id != pool_id
            {
                p.add(
                    &path,
                    format!("domain '{host}' belongs to pool {}", taken.pool_id),
                );
            }
        }

        let mut custom_scopes: Vec<String> = stored_rs
            .iter()
            .flat_map(|r| r.config.scope_strings().collect::<Vec<_>>())
            .collect();
        let mut rs_ids: HashSet<String> = HashSet::new();
        for (j, rs) in seed.resource_servers.iter().enumerate() {
            let path = described(
                &format!("ResourceServers[{j}]"),
                "resource server",
                &rs.identifier,
            );
            p.within(&path, |p| rs.validate(p));
            if !rs_ids.insert(rs.identifier.clone()) {
                p.add(&path, "identifier appears twice");
            }
            custom_scopes.extend(rs.scope_strings());
        }

        let mut providers: Vec<String> = stored_idps
            .iter()
            .map(|x| x.config.provider_name.clone())
            .collect();
        let mut identifiers: HashSet<String> = stored_idps
            .iter()
            .flat_map(|x| x.config.idp_identifiers.iter().map(|s| s.to_lowercase()))
            .collect();
        for (j, idp) in seed.identity_providers.iter().enumerate() {
            let path = described(
                &format!("IdentityProviders[{j}]"),
                "identity provider",
                &idp.provider_name,
            );
            p.within(&path, |p| idp.validate(p));
            if idp.provider_type == "SAML"
                && let Some(file) = idp.provider_details.get("MetadataFile")
                && let Err(e) = userpool_federation::saml::metadata::parse(file, now)
            {
                p.add(&format!("{path}.ProviderDetails.MetadataFile"), e);
            }
            let stored = stored_idps
                .iter()
                .any(|x| x.config.provider_name == idp.provider_name);
            if seed.identity_providers[..j]
                .iter()
                .any(|x| x.provider_name == idp.provider_name)
            {
                p.add_kind(
                    &path,
                    "DuplicateProviderException",
                    "provider name appears twice",
                );
            }
            if !stored {
                providers.push(idp.provider_name.clone());
                for s in &idp.idp_identifiers {
                    if !identifiers.insert(s.to_lowercase()) {
                        p.add(
                            &path,
                            format!("IdpIdentifier '{s}' is already used in the pool"),
                        );
                    }
                }
            }
        }

        let provider_configs: Vec<&IdentityProviderConfig> = seed
            .identity_providers
            .iter()
            .chain(stored_idps.iter().map(|x| &x.config))
            .collect();
        let provider_types: Vec<(String, String)> = provider_configs
            .iter()
            .map(|c| (c.provider_name.clone(), c.provider_type.clone()))
            .collect();
        let mut group_names: Vec<String> = stored_groups
            .iter()
            .map(|g| g.config.group_name.clone())
            .collect();
        for (j, g) in seed.groups.iter().enumerate() {
            let path = described(&format!("Groups[{j}]"), "group", &g.group_name);
            p.within(&path, |p| g.validate(p));
            if seed.groups[..j]
                .iter()
                .any(|x| x.group_name == g.group_name)
            {
                p.add_kind(&path, "GroupExistsException", "group appears twice");
            }
            group_names.push(g.group_name.clone());
        }

        let stored_clients = match existing {
            Some(x) => store.list_clients(&x.id).await?,
            None => Vec::new(),
        };
        let mut clients = Vec::new();
        for (j, c) in seed.clients.iter().enumerate() {
            let path = described(&format!("Clients[{j}]"), "client", &c.client_name);
            p.within(&path, |p| c.validate(&custom_scopes, &providers, p));
            // Spec §11.3: a client of an IdP-initiated SAML IdP lists SAML IdPs only.
            let idp_type = |name: &String| {
                provider_configs
                    .iter()
                    .find(|x| &x.provider_name == name)
                    .map(|x| (x.provider_type.as_str(), is_idp_initiated(x)))
            };
            let listed: Vec<_> = c
                .supported_identity_providers
                .iter()
                .map(idp_type)
                .collect();
            if listed.iter().any(|t| matches!(t, Some((_, true))))
                && listed.iter().any(|t| !matches!(t, Some(("SAML", _))))
            {
                p.add(
                    &format!("{path}.SupportedIdentityProviders"),
                    "a client with an IdP-initiated SAML provider cannot list COGNITO or non-SAML providers",
                );
            }
            // Same client: same ClientId, or, without one, same ClientName in this pool.
            let same = stored_clients.iter().find(|x| match &c.client_id {
                Some(id) => &x.client_id == id,
                None => x.config.client_name == c.client_name,
            });
            let client_id = match (same, &c.client_id) {
                (Some(x), _) => x.client_id.clone(),
                (None, Some(id)) => id.clone(),
                (None, None) => ids::derived_client_id(&pool_id, &c.client_name),
            };
            if !seen_client_ids.insert(client_id.clone()) {
                p.add(
                    &path,
                    format!("ClientId {client_id} appears twice in the seed"),
                );
            }
            // A client of this very pool appearing here was made a moment ago by another node
            // applying the same seed (we read the pool's clients before it committed).
            if same.is_none()
                && let Some(other) = store.find_client(&client_id).await?
                && other.pool_id != pool_id
            {
                p.add(
                    &path,
                    format!("ClientId {client_id} belongs to pool {}", other.pool_id),
                );
            }
            let generated_secret = c.generate_secret.then(ids::new_client_secret);
            let secret = c
                .client_secret
                .as_ref()
                .map(|s| s.expose().to_string())
                .or(generated_secret.clone());
            let mut config = c.clone();
            config.client_id = Some(client_id.clone());
            config.client_secret = None;
            config.generate_secret = secret.is_some();
            clients.push(PlannedClient {
                record: ClientRecord {
                    pool_id: pool_id.clone(),
                    client_id,
                    config,
                    secret_hashes: secret.iter().map(|s| TokenHash::of(s)).collect(),
                    created_at: now,
                    updated_at: now,
                    version: 0,
                },
                generated_secret,
            });
        }

        let mut users = Vec::new();
        let mut usernames = HashSet::new();
        for (j, u) in seed.users.iter().enumerate() {
            let path = described(&format!("Users[{j}]"), "user", &u.username);
            p.within(&path, |p| {
                u.validate(&seed.config, &group_names, &provider_types, p);
                if u.password.is_none() && u.temporary_password.is_none() {
                    p.add("Password", "Password or TemporaryPassword is required");
                }
            });
            let mut attributes = u.user_attributes.clone();
            if !u.linked_providers.is_empty() {
                // The destination user lists its linked identities, as Cognito's does.
                let identities: Vec<serde_json::Value> = u
                    .linked_providers
                    .iter()
                    .map(|l| {
                        let kind = provider_types
                            .iter()
                            .find(|(n, _)| *n == l.provider_name)
                            .map_or("OIDC", |(_, t)| t.as_str());
                        serde_json::json!({
                            "userId": l.provider_attribute_value,
                            "providerName": l.provider_name,
                            "providerType": kind,
                            "issuer": null,
                            "primary": "false",
                            "dateCreated": (now * 1000).to_string(),
                        })
                    })
                    .collect();
                attributes.push(AttributeType {
                    name: "identities".into(),
                    value: serde_json::Value::Array(identities).to_string(),
                });
            }
            let username = match u.username_attribute(&seed.config) {
                Some(attr) => {
                    if !attributes.iter().any(|a| a.name == attr) {
                        attributes.push(AttributeType {
                            name: attr.to_string(),
                            value: u.username.clone(),
                        });
                    }
                    seeded_sub(&pool_id, &u.username.to_lowercase())
                }
                None if seed.config.case_sensitive() => u.username.clone(),
                None => u.username.to_lowercase(),
            };
            if !usernames.insert(username.clone()) {
                p.add_kind(&path, "UsernameExistsException", "username appears twice");
            }
            let sub = if seed.config.username_attributes.is_empty() {
                seeded_sub(&pool_id, &username)
            } else {
                username.clone()
            };
            let (password, status) = match (&u.password, &u.temporary_password) {
                (Some(pw), _) => (Some(pw.expose().to_string()), UserStatus::Confirmed),
                (None, Some(pw)) => (
                    Some(pw.expose().to_string()),
                    UserStatus::ForceChangePassword,
                ),
                (None, None) => (None, UserStatus::Confirmed),
            };
            let links = u
                .linked_providers
                .iter()
                .map(|l| (l.provider_name.clone(), l.provider_attribute_value.clone()))
                .collect();
            users.push(PlannedUser {
                record: UserRecord {
                    pool_id: pool_id.clone(),
                    username,
                    sub,
                    status,
                    enabled: u.enabled,
                    password_hash: None,
                    password_set_at: Some(now),
                    tokens_valid_from_ms: None,
                    totp_secret: None,
                    attributes,
                    created_at: now,
                    updated_at: now,
                    version: 0,
                },
                password,
                groups: u.groups.clone(),
                links,
            });
        }

        problems.extend(p.errors.iter().map(ToString::to_string));
        planned.push(PlannedPool {
            record: existing.cloned().unwrap_or(PoolRecord {
                id: pool_id,
                config: seed.config,
                created_at: now,
                updated_at: now,
                key_generation: 0,
                version: 0,
            }),
            domains: seed.domains,
            resource_servers: seed.resource_servers,
            identity_providers: seed.identity_providers,
            groups: seed.groups,
            clients,
            users,
        });
    }
    Ok(if problems.is_empty() {
        Ok(SeedPlan { pools: planned })
    } else {
        Err(problems)
    })
}

impl SeedPlan {
    pub(crate) fn pool_count(&self) -> usize {
        self.pools.len()
    }

    /// Creates what is missing; leaves what exists alone. Provider secrets are sealed under
    /// `master` before they are written.
    pub(crate) async fn apply(
        self,
        store: &dyn Store,
        params: HashParams,
        master: &userpool_core::keys::MasterKey,
    ) -> anyhow::Result<SeedReport> {
        let mut report = SeedReport::default();
        for pool in self.pools {
            let id = pool.record.id.clone();
            let mut created = |what: String, did: bool| {
                if did {
                    report.created.push(what);
                }
            };
            created(format!("pool {id}"), store.insert_pool(&pool.record).await?);
            let now = pool.record.created_at;
            for config in pool.domains {
                let what = format!("domain {}", config.domain);
                let rec = DomainRecord {
                    pool_id: id.clone(),
                    config,
                    created_at: now,
                };
                created(what, store.insert_domain(&rec).await?);
            }
            for config in pool.resource_servers {
                let what = format!("resource server {}", config.identifier);
                let rec = ResourceServerRecord {
                    pool_id: id.clone(),
                    config,
                };
                created(what, store.insert_resource_server(&rec).await?);
            }
            for mut config in pool.identity_providers {
                config.seal_secrets(master, &id);
                let what = format!("identity provider {}", config.provider_name);
                let rec = IdentityProviderRecord {
                    pool_id: id.clone(),
                    config,
                    created_at: now,
                };
                created(what, store.insert_identity_provider(&rec).await?);
            }
            for config in pool.groups {
                let what = format!("group {}", config.group_name);
                let rec = GroupRecord {
                    pool_id: id.clone(),
                    config,
                    created_at: now,
                };
                created(what, store.insert_group(&rec).await?);
            }
            for c in pool.clients {
                let did = store.insert_client(&c.record).await?;
                if did && let Some(secret) = c.generated_secret {
                    report
                        .generated_secrets
                        .push((id.clone(), c.record.client_id.clone(), secret));
                }
                created(format!("client {}", c.record.client_id), did);
            }
            for mut u in pool.users {
                if store.get_user(&id, &u.record.username).await?.is_none() {
                    let password = u.password.take();
                    u.record.password_hash = match password {
                        Some(pw) => Some(
                            tokio::task::spawn_blocking(move || hash_password(&pw, params)).await?,
                        ),
                        None => None,
                    };
                    created(
                        format!("user {}", u.record.username),
                        store.insert_user(&u.record).await?,
                    );
                }
                for g in &u.groups {
                    store.add_user_to_group(&id, &u.record.username, g).await?;
                }
                for (provider, subject) in &u.links {
                    store
                        .link_identity(&id, provider, subject, &u.record.username)
                        .await?;
                }
            }
        }
        Ok(report)
    }
}

fn is_idp_initiated(c: &IdentityProviderConfig) -> bool {
    c.provider_type == "SAML"
        && c.provider_details
            .get("IDPInit")
            .is_some_and(|v| v == "true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_errors_name_the_field_path() {
        let e = parse(r#"{"UserPools":[{"PoolName":"a","Clients":[{"ClientName":"c","AllowedOAuthFlows":"code"}]}]}"#)
            .unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("UserPools[0].Clients[0].AllowedOAuthFlows:"),
            "{e:?}"
        );
        let e = parse(r#"{"UserPools":[{"PoolName":"a","PoolNmae":"b"}]}"#).unwrap_err();
        assert!(e[0].contains("PoolNmae"), "{e:?}");
        assert!(parse(r#"{"Pools":[]}"#).is_err());
    }

    #[test]
    fn seeded_subs_are_stable_and_uuid_shaped() {
        let a = seeded_sub("us-east-1_A", "alice");
        assert_eq!(a, seeded_sub("us-east-1_A", "alice"));
        assert_ne!(a, seeded_sub("us-east-1_B", "alice"));
        let parts: Vec<_> = a.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
    }
}
