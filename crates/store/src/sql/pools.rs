//! `PoolStore`: pools, app clients, domains, resource servers, identity providers and groups.

use async_trait::async_trait;
use userpool_core::store::*;

use super::{SqlStore, begin_write};
use crate::codec::{backend, from_json, secrets_from_json, secrets_to_json, to_json};

const POOL_COLUMNS: &str = "id, config, created_at, updated_at, key_generation, version";
const CLIENT_COLUMNS: &str = "client_id, pool_id, config, secrets, created_at, updated_at, version";

row! {
    struct PoolRow {
        id: String,
        config: String,
        created_at: i64,
        updated_at: i64,
        key_generation: i64,
        version: i64,
    }
}

row! {
    struct ClientRow {
        client_id: String,
        pool_id: String,
        config: String,
        secrets: String,
        created_at: i64,
        updated_at: i64,
        version: i64,
    }
}

row! {
    /// A domain, identity provider or group: its pool, its JSON configuration, its creation.
    struct ConfigRow {
        pool_id: String,
        config: String,
        created_at: i64,
    }
}

impl TryFrom<PoolRow> for PoolRecord {
    type Error = StoreError;

    fn try_from(row: PoolRow) -> StoreResult<Self> {
        Ok(PoolRecord {
            config: from_json("pool config", &row.config)?,
            id: row.id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            key_generation: row.key_generation,
            version: row.version,
        })
    }
}

impl TryFrom<ClientRow> for ClientRecord {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> StoreResult<Self> {
        Ok(ClientRecord {
            config: from_json("client config", &row.config)?,
            secrets: secrets_from_json(&row.secrets, row.created_at)?,
            pool_id: row.pool_id,
            client_id: row.client_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

/// Reads each record that is a pool id, a JSON configuration and a creation time from a
/// `ConfigRow`; the literal names the configuration in a corruption error.
macro_rules! from_config_row {
    ($($record:ident: $what:literal),+ $(,)?) => {$(
        impl TryFrom<ConfigRow> for $record {
            type Error = StoreError;

            fn try_from(row: ConfigRow) -> StoreResult<Self> {
                Ok($record {
                    config: from_json($what, &row.config)?,
                    pool_id: row.pool_id,
                    created_at: row.created_at,
                })
            }
        }
    )+};
}

from_config_row!(DomainRecord: "domain config");

row! {
    /// An identity provider or group: a `ConfigRow` with its last change and version.
    struct VersionedRow {
        pool_id: String,
        config: String,
        created_at: i64,
        updated_at: i64,
        version: i64,
    }
}

const VERSIONED_COLUMNS: &str = "pool_id, config, created_at, updated_at, version";

/// Reads each record that is a `VersionedRow`; the literal names the configuration in a
/// corruption error.
macro_rules! from_versioned_row {
    ($($record:ident: $what:literal),+ $(,)?) => {$(
        impl TryFrom<VersionedRow> for $record {
            type Error = StoreError;

            fn try_from(row: VersionedRow) -> StoreResult<Self> {
                Ok($record {
                    config: from_json($what, &row.config)?,
                    pool_id: row.pool_id,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                    version: row.version,
                })
            }
        }
    )+};
}

from_versioned_row!(
    IdentityProviderRecord: "identity provider config",
    GroupRecord: "group config",
);

/// What `delete_pool` deletes before the pool row, each statement bound to the pool's ID.
const POOL_LEFTOVERS: &[&str] = &[
    "DELETE FROM sign_in_failures WHERE pool_id = $1",
    "DELETE FROM user_codes WHERE pool_id = $1",
    "DELETE FROM auth_challenges WHERE pool_id = $1",
    "DELETE FROM saml_replay WHERE pool_id = $1",
    "DELETE FROM auth_codes WHERE pool_id = $1",
];

#[async_trait]
impl PoolStore for SqlStore {
    async fn insert_pool(&self, pool: &PoolRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO pools (id, config, created_at, key_generation, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&pool.id)
            .bind(to_json(&pool.config))
            .bind(pool.created_at)
            .bind(pool.key_generation)
            .bind(pool.updated_at), db))
    }

    async fn get_pool(&self, id: &str) -> StoreResult<Option<PoolRecord>> {
        let sql = select!(POOL_COLUMNS, "FROM pools WHERE id = $1");
        let row: Option<PoolRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(PoolRecord::try_from).transpose()
    }

    async fn list_pools(&self) -> StoreResult<Vec<PoolRecord>> {
        let sql = select!(POOL_COLUMNS, "FROM pools ORDER BY created_at, id");
        let rows: Vec<PoolRow> =
            on_db!(self, db => sqlx::query_as(sql).fetch_all(db).await.map_err(backend))?;
        rows.into_iter().map(PoolRecord::try_from).collect()
    }

    async fn update_pool(&self, pool: &PoolRecord) -> StoreResult<CasOutcome> {
        let sql = "UPDATE pools SET config = $1, updated_at = $4, version = version + 1 WHERE id = $2 AND version = $3";
        let applied = on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(to_json(&pool.config))
            .bind(&pool.id)
            .bind(pool.version)
            .bind(pool.updated_at), db))?;
        Ok(CasOutcome::of(applied))
    }

    async fn delete_pool(&self, id: &str) -> StoreResult<bool> {
        on_db!(self, db => {
            let mut tx = begin_write(db).await.map_err(backend)?;
            // Tables keyed by pool without a foreign key to it; the rest go by ON DELETE CASCADE.
            for sql in POOL_LEFTOVERS {
                sqlx::query(*sql).bind(id).execute(&mut *tx).await.map_err(backend)?;
            }
            let deleted = sqlx::query("DELETE FROM pools WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected()
                == 1;
            tx.commit().await.map_err(backend)?;
            Ok(deleted)
        })
    }

    async fn count_users(&self, pool_id: &str) -> StoreResult<i64> {
        let sql = "SELECT COUNT(*) FROM users WHERE pool_id = $1";
        on_db!(self, db => sqlx::query_scalar(sql)
            .bind(pool_id)
            .fetch_one(db)
            .await
            .map_err(backend))
    }

    async fn delete_client(&self, pool_id: &str, client_id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM clients WHERE pool_id = $1 AND client_id = $2";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(client_id), db))
    }

    async fn update_client(&self, c: &ClientRecord) -> StoreResult<CasOutcome> {
        let sql = "UPDATE clients SET config = $1, secrets = $2, updated_at = $6, version = version + 1 WHERE client_id = $3 AND pool_id = $4 AND version = $5";
        let applied = on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(to_json(&c.config))
            .bind(secrets_to_json(&c.secrets))
            .bind(&c.client_id)
            .bind(&c.pool_id)
            .bind(c.version)
            .bind(c.updated_at), db))?;
        Ok(CasOutcome::of(applied))
    }

    async fn insert_client(&self, c: &ClientRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO clients (client_id, pool_id, config, secrets, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&c.client_id)
            .bind(&c.pool_id)
            .bind(to_json(&c.config))
            .bind(secrets_to_json(&c.secrets))
            .bind(c.created_at)
            .bind(c.updated_at), db))
    }

    async fn get_client(
        &self,
        pool_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        let sql = select!(
            CLIENT_COLUMNS,
            "FROM clients WHERE client_id = $1 AND pool_id = $2"
        );
        let row: Option<ClientRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(client_id)
            .bind(pool_id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(ClientRecord::try_from).transpose()
    }

    async fn list_clients(&self, pool_id: &str) -> StoreResult<Vec<ClientRecord>> {
        let sql = select!(
            CLIENT_COLUMNS,
            "FROM clients WHERE pool_id = $1 ORDER BY created_at, client_id"
        );
        let rows: Vec<ClientRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        rows.into_iter().map(ClientRecord::try_from).collect()
    }

    async fn find_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        let sql = select!(CLIENT_COLUMNS, "FROM clients WHERE client_id = $1");
        let row: Option<ClientRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(client_id)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(ClientRecord::try_from).transpose()
    }

    async fn insert_domain(&self, d: &DomainRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO domains (domain, pool_id, config, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(d.config.host_key())
            .bind(&d.pool_id)
            .bind(to_json(&d.config))
            .bind(d.created_at), db))
    }

    async fn get_domain(&self, domain: &str) -> StoreResult<Option<DomainRecord>> {
        let sql = "SELECT pool_id, config, created_at FROM domains WHERE domain = $1";
        let row: Option<ConfigRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(domain.to_ascii_lowercase())
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(DomainRecord::try_from).transpose()
    }

    async fn list_domains(&self) -> StoreResult<Vec<DomainRecord>> {
        let sql = "SELECT pool_id, config, created_at FROM domains ORDER BY created_at, domain";
        let rows: Vec<ConfigRow> =
            on_db!(self, db => sqlx::query_as(sql).fetch_all(db).await.map_err(backend))?;
        rows.into_iter().map(DomainRecord::try_from).collect()
    }

    async fn update_domain(&self, d: &DomainRecord) -> StoreResult<bool> {
        let sql = "UPDATE domains SET config = $1 WHERE domain = $2 AND pool_id = $3";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(to_json(&d.config))
            .bind(d.config.host_key())
            .bind(&d.pool_id), db))
    }

    async fn delete_domain(&self, pool_id: &str, domain: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM domains WHERE domain = $1 AND pool_id = $2";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(domain.to_ascii_lowercase())
            .bind(pool_id), db))
    }

    async fn insert_resource_server(&self, rs: &ResourceServerRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO resource_servers (pool_id, identifier, config) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&rs.pool_id)
            .bind(&rs.config.identifier)
            .bind(to_json(&rs.config)), db))
    }

    async fn list_resource_servers(&self, pool_id: &str) -> StoreResult<Vec<ResourceServerRecord>> {
        let sql = "SELECT config FROM resource_servers WHERE pool_id = $1 ORDER BY identifier";
        let configs: Vec<String> = on_db!(self, db => sqlx::query_scalar(sql)
            .bind(pool_id)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        configs
            .into_iter()
            .map(|config| {
                Ok(ResourceServerRecord {
                    pool_id: pool_id.to_string(),
                    config: from_json("resource server config", &config)?,
                })
            })
            .collect()
    }

    async fn get_resource_server(
        &self,
        pool_id: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServerRecord>> {
        let sql = "SELECT config FROM resource_servers WHERE pool_id = $1 AND identifier = $2";
        let config: Option<String> = on_db!(self, db => sqlx::query_scalar(sql)
            .bind(pool_id)
            .bind(identifier)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        config
            .map(|config| {
                Ok(ResourceServerRecord {
                    pool_id: pool_id.to_string(),
                    config: from_json("resource server config", &config)?,
                })
            })
            .transpose()
    }

    async fn update_resource_server(&self, rs: &ResourceServerRecord) -> StoreResult<bool> {
        let sql = "UPDATE resource_servers SET config = $1 WHERE pool_id = $2 AND identifier = $3";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(to_json(&rs.config))
            .bind(&rs.pool_id)
            .bind(&rs.config.identifier), db))
    }

    async fn delete_resource_server(&self, pool_id: &str, identifier: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM resource_servers WHERE pool_id = $1 AND identifier = $2";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(identifier), db))
    }

    async fn insert_identity_provider(&self, idp: &IdentityProviderRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO identity_providers (pool_id, provider_name, config, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&idp.pool_id)
            .bind(&idp.config.provider_name)
            .bind(to_json(&idp.config))
            .bind(idp.created_at)
            .bind(idp.updated_at), db))
    }

    async fn list_identity_providers(
        &self,
        pool_id: &str,
    ) -> StoreResult<Vec<IdentityProviderRecord>> {
        let sql = select!(
            VERSIONED_COLUMNS,
            "FROM identity_providers WHERE pool_id = $1 ORDER BY created_at, provider_name"
        );
        let rows: Vec<VersionedRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        rows.into_iter()
            .map(IdentityProviderRecord::try_from)
            .collect()
    }

    async fn get_identity_provider(
        &self,
        pool_id: &str,
        name: &str,
    ) -> StoreResult<Option<IdentityProviderRecord>> {
        let sql = select!(
            VERSIONED_COLUMNS,
            "FROM identity_providers WHERE pool_id = $1 AND provider_name = $2"
        );
        let row: Option<VersionedRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(name)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(IdentityProviderRecord::try_from).transpose()
    }

    async fn update_identity_provider(
        &self,
        idp: &IdentityProviderRecord,
    ) -> StoreResult<CasOutcome> {
        // The creation time too: a provider deleted and made again restarts at version 0.
        let sql = "UPDATE identity_providers SET config = $1, updated_at = $2, version = version + 1 WHERE pool_id = $3 AND provider_name = $4 AND version = $5 AND created_at = $6";
        let applied = on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(to_json(&idp.config))
            .bind(idp.updated_at)
            .bind(&idp.pool_id)
            .bind(&idp.config.provider_name)
            .bind(idp.version)
            .bind(idp.created_at), db))?;
        Ok(CasOutcome::of(applied))
    }

    async fn delete_identity_provider(&self, pool_id: &str, name: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM identity_providers WHERE pool_id = $1 AND provider_name = $2";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(name), db))
    }

    async fn insert_group(&self, g: &GroupRecord) -> StoreResult<bool> {
        let sql = "INSERT INTO pool_groups (pool_id, name, config, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(&g.pool_id)
            .bind(&g.config.group_name)
            .bind(to_json(&g.config))
            .bind(g.created_at)
            .bind(g.updated_at), db))
    }

    async fn list_groups(&self, pool_id: &str) -> StoreResult<Vec<GroupRecord>> {
        let sql = select!(
            VERSIONED_COLUMNS,
            "FROM pool_groups WHERE pool_id = $1 ORDER BY name"
        );
        let rows: Vec<VersionedRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .fetch_all(db)
            .await
            .map_err(backend))?;
        rows.into_iter().map(GroupRecord::try_from).collect()
    }

    async fn get_group(&self, pool_id: &str, name: &str) -> StoreResult<Option<GroupRecord>> {
        let sql = select!(
            VERSIONED_COLUMNS,
            "FROM pool_groups WHERE pool_id = $1 AND name = $2"
        );
        let row: Option<VersionedRow> = on_db!(self, db => sqlx::query_as(sql)
            .bind(pool_id)
            .bind(name)
            .fetch_optional(db)
            .await
            .map_err(backend))?;
        row.map(GroupRecord::try_from).transpose()
    }

    async fn update_group(&self, g: &GroupRecord) -> StoreResult<CasOutcome> {
        // The creation time too: a group deleted and made again restarts at version 0.
        let sql = "UPDATE pool_groups SET config = $1, updated_at = $2, version = version + 1 WHERE pool_id = $3 AND name = $4 AND version = $5 AND created_at = $6";
        let applied = on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(to_json(&g.config))
            .bind(g.updated_at)
            .bind(&g.pool_id)
            .bind(&g.config.group_name)
            .bind(g.version)
            .bind(g.created_at), db))?;
        Ok(CasOutcome::of(applied))
    }

    async fn delete_group(&self, pool_id: &str, name: &str) -> StoreResult<bool> {
        // Memberships go by ON DELETE CASCADE.
        let sql = "DELETE FROM pool_groups WHERE pool_id = $1 AND name = $2";
        on_db!(self, db => changed_one!(sqlx::query(sql)
            .bind(pool_id)
            .bind(name), db))
    }
}
