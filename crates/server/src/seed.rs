//! The seed file: user pools and everything in them, in Cognito's request shapes, applied at
//! start-up. Loading validates the whole file against Cognito's rules and against the database
//! first, and reports every problem at once; only a valid file is applied, idempotently, and
//! through the Cognito API's own operations, so the seed and the API cannot disagree.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use userpool_api::Api;
use userpool_core::ids;
use userpool_core::model::*;
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

struct PlannedPool {
    id: String,
    /// Whether the pool is in the database already (then only what is missing is made).
    exists: bool,
    config: UserPoolConfig,
    domains: Vec<DomainConfig>,
    resource_servers: Vec<ResourceServerConfig>,
    identity_providers: Vec<IdentityProviderConfig>,
    groups: Vec<GroupConfig>,
    /// With their IDs (given, stored, or derived from the name).
    clients: Vec<ClientConfig>,
    users: Vec<SeedUser>,
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

        // Cognito's rule, as `CreateUserPoolDomain` applies it: one domain of each kind.
        for custom in [true, false] {
            if seed
                .domains
                .iter()
                .filter(|d| d.is_custom() == custom)
                .count()
                > 1
            {
                p.add(
                    "Domains",
                    "a pool has at most one custom domain and one prefix domain",
                );
            }
        }
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
            p.within(&path, |p| c.validate(&custom_scopes, &provider_configs, p));
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
            let mut config = c.clone();
            config.client_id = Some(client_id);
            clients.push(config);
        }

        let mut usernames = HashSet::new();
        for (j, u) in seed.users.iter().enumerate() {
            let path = described(&format!("Users[{j}]"), "user", &u.username);
            p.within(&path, |p| {
                u.validate(&seed.config, &group_names, &provider_types, p);
                if u.password.is_none() && u.temporary_password.is_none() {
                    p.add("Password", "Password or TemporaryPassword is required");
                }
            });
            let username = match u.username_attribute(&seed.config) {
                Some(_) => u.username.to_lowercase(),
                None if seed.config.case_sensitive() => u.username.clone(),
                None => u.username.to_lowercase(),
            };
            if !usernames.insert(username) {
                p.add_kind(&path, "UsernameExistsException", "username appears twice");
            }
        }

        problems.extend(p.errors.iter().map(ToString::to_string));
        planned.push(PlannedPool {
            id: pool_id,
            exists: existing.is_some(),
            config: seed.config,
            domains: seed.domains,
            resource_servers: seed.resource_servers,
            identity_providers: seed.identity_providers,
            groups: seed.groups,
            clients,
            users: seed.users,
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

    /// Creates what is missing, through the Cognito API's own operations (the same checks
    /// and use cases as a request); leaves what exists alone. Safe on several nodes at once:
    /// pools and clients have fixed IDs, and whatever another node made first counts as made.
    pub(crate) async fn apply(self, api: &Api) -> anyhow::Result<SeedReport> {
        let mut report = SeedReport::default();
        let store = &*api.store;
        for pool in self.pools {
            let id = pool.id.as_str();
            let mut seeding = Seeding {
                api,
                pool_id: id,
                report: &mut report,
            };
            if !pool.exists {
                let input = request(&pool.config, json!({}));
                seeding
                    .make(
                        format!("pool {id}"),
                        "CreateUserPool",
                        input,
                        Some(id),
                        || async { Ok(store.get_pool(id).await?.is_some()) },
                    )
                    .await?;
            }
            for d in pool.domains {
                let host = d.host_key();
                seeding
                    .make_missing(
                        format!("domain {}", d.domain),
                        "CreateUserPoolDomain",
                        request(&d, json!({"UserPoolId": id})),
                        || async { Ok(store.get_domain(&host).await?.is_some()) },
                    )
                    .await?;
            }
            for rs in pool.resource_servers {
                let name = rs.identifier.clone();
                seeding
                    .make_missing(
                        format!("resource server {name}"),
                        "CreateResourceServer",
                        request(&rs, json!({"UserPoolId": id})),
                        || async { Ok(store.get_resource_server(id, &name).await?.is_some()) },
                    )
                    .await?;
            }
            for idp in pool.identity_providers {
                let name = idp.provider_name.clone();
                seeding
                    .make_missing(
                        format!("identity provider {name}"),
                        "CreateIdentityProvider",
                        request(&idp, json!({"UserPoolId": id})),
                        || async { Ok(store.get_identity_provider(id, &name).await?.is_some()) },
                    )
                    .await?;
            }
            for g in pool.groups {
                let name = g.group_name.clone();
                seeding
                    .make_missing(
                        format!("group {name}"),
                        "CreateGroup",
                        request(&g, json!({"UserPoolId": id})),
                        || async { Ok(store.get_group(id, &name).await?.is_some()) },
                    )
                    .await?;
            }
            for mut c in pool.clients {
                let client_id = c.client_id.take().unwrap_or_default();
                if store.get_client(id, &client_id).await?.is_some() {
                    continue;
                }
                let generated = c.client_secret.is_none() && c.generate_secret;
                let mut input = request(&c, json!({"UserPoolId": id}));
                if let Some(secret) = &c.client_secret {
                    input["ClientSecret"] = json!(secret.expose());
                }
                let made = seeding
                    .make(
                        format!("client {client_id}"),
                        "CreateUserPoolClient",
                        input,
                        Some(&client_id),
                        || async { Ok(false) },
                    )
                    .await?;
                if generated
                    && let Some(secret) = made
                        .as_ref()
                        .and_then(|m| m["UserPoolClient"]["ClientSecret"].as_str())
                {
                    seeding.report.generated_secrets.push((
                        id.to_string(),
                        client_id.clone(),
                        secret.to_string(),
                    ));
                }
            }
            for u in pool.users {
                seeding.user(u).await?;
            }
        }
        Ok(report)
    }
}

/// The request of an operation: `config`'s members under Cognito's names (they are the
/// request's), without empty ones (absent and empty mean the same, and the model refuses some
/// empty lists), and `extra`'s.
fn request<T: serde::Serialize>(config: &T, extra: Value) -> Value {
    let mut input = serde_json::to_value(config).expect("configurations serialize");
    if let (Value::Object(m), Value::Object(extra)) = (&mut input, extra) {
        m.retain(|_, v| match v {
            Value::Null => false,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        });
        m.extend(extra);
    }
    input
}

/// Applying one pool of a seed through the API.
struct Seeding<'a> {
    api: &'a Api,
    pool_id: &'a str,
    report: &'a mut SeedReport,
}

impl Seeding<'_> {
    /// Runs `operation`; when it fails but `made` finds the thing made (by another node
    /// applying the same seed), that counts. Returns the operation's answer if it ran.
    async fn make<F, Fut>(
        &mut self,
        what: String,
        operation: &str,
        input: Value,
        fixed_id: Option<&str>,
        made: F,
    ) -> anyhow::Result<Option<Value>>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<bool>>,
    {
        match self.api.invoke(operation, input, fixed_id).await {
            Ok(out) => {
                self.report.created.push(what);
                Ok(Some(out))
            }
            Err(_) if made().await? => Ok(None),
            Err(e) => anyhow::bail!("seeding {what}: {operation}: {}: {}", e.kind, e.message),
        }
    }

    /// [`Seeding::make`] unless `made` finds it made already.
    async fn make_missing<F, Fut>(
        &mut self,
        what: String,
        operation: &str,
        input: Value,
        made: F,
    ) -> anyhow::Result<()>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<bool>>,
    {
        if !made().await? {
            self.make(what, operation, input, None, made).await?;
        }
        Ok(())
    }

    /// A user: `AdminCreateUser` (invitation suppressed) with its password as the temporary
    /// one, `AdminSetUserPassword` when it is permanent, `AdminDisableUser` when disabled; then,
    /// for a new or existing user, its groups and linked identities.
    async fn user(&mut self, u: SeedUser) -> anyhow::Result<()> {
        let pool_id = self.pool_id;
        let name = u.username.as_str();
        let target = json!({"UserPoolId": pool_id, "Username": name});
        // The user's status, or `None` when there is no such user.
        let status = || async {
            match self.api.invoke("AdminGetUser", target.clone(), None).await {
                Ok(user) => Ok(Some(
                    user["UserStatus"].as_str().unwrap_or_default().to_string(),
                )),
                Err(e) if e.kind == "UserNotFoundException" => Ok(None),
                Err(e) => anyhow::bail!(
                    "seeding user {name}: AdminGetUser: {}: {}",
                    e.kind,
                    e.message
                ),
            }
        };
        let password = u
            .password
            .as_ref()
            .or(u.temporary_password.as_ref())
            .map(|p| p.expose().to_string());
        let mut status_now = status().await?;
        if status_now.is_none() {
            let mut input = json!({"UserPoolId": pool_id, "Username": name, "MessageAction": "SUPPRESS",
                                   "UserAttributes": u.user_attributes});
            if let Some(p) = &password {
                input["TemporaryPassword"] = json!(p);
            }
            let made_elsewhere = || async { Ok(status().await?.is_some()) };
            self.make(
                format!("user {name}"),
                "AdminCreateUser",
                input,
                None,
                made_elsewhere,
            )
            .await?;
            status_now = status().await?;
        }
        // Made just now, or by an apply that stopped half-way (the user still has the seed's
        // password as a temporary one): disabled first, then the permanent password. A user an
        // administrator changed since is left alone.
        let unfinished = status_now.as_deref() == Some("FORCE_CHANGE_PASSWORD");
        if unfinished && u.password.is_some() {
            if !u.enabled {
                self.call("AdminDisableUser", target.clone()).await?;
            }
            let mut input = target.clone();
            input["Password"] = json!(password);
            input["Permanent"] = json!(true);
            self.call("AdminSetUserPassword", input).await?;
        } else if unfinished && !u.enabled {
            self.call("AdminDisableUser", target.clone()).await?;
        }
        for g in &u.groups {
            let mut input = target.clone();
            input["GroupName"] = json!(g);
            self.call("AdminAddUserToGroup", input).await?;
        }
        for l in &u.linked_providers {
            if self
                .api
                .store
                .find_linked_user(pool_id, &l.provider_name, &l.provider_attribute_value)
                .await?
                .is_some()
            {
                continue;
            }
            let input = json!({"UserPoolId": pool_id,
                "DestinationUser": {"ProviderName": "Cognito", "ProviderAttributeValue": name},
                "SourceUser": {"ProviderName": l.provider_name, "ProviderAttributeName": l.provider_attribute_name,
                               "ProviderAttributeValue": l.provider_attribute_value}});
            self.call("AdminLinkProviderForUser", input).await?;
        }
        Ok(())
    }

    async fn call(&self, operation: &str, input: Value) -> anyhow::Result<()> {
        self.api
            .invoke(operation, input, None)
            .await
            .map(|_| ())
            .map_err(|e| {
                anyhow::anyhow!(
                    "seeding pool {}: {operation}: {}: {}",
                    self.pool_id,
                    e.kind,
                    e.message
                )
            })
    }
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
}
