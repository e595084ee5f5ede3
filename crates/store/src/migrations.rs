//! The schema migrations of each dialect, embedded in the binary and run at start-up. sqlx's
//! migrator takes a lock first, so nodes starting together migrate once.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(version, file name, SQL)` of each migration file of a dialect, embedded at build time.
macro_rules! embed {
    ($dialect:literal: $($version:literal => $file:literal),* $(,)?) => {
        &[$(($version, $file, include_str!(concat!("../../../migrations/", $dialect, "/", $file)))),*]
    };
}

const SQLITE: &[(i64, &str, &str)] = embed!("sqlite":
    1 => "0001_initial.sql",
    2 => "0002_oauth.sql",
    3 => "0003_lockout.sql",
    4 => "0004_lifecycle.sql",
    5 => "0005_links.sql",
    6 => "0006_saml.sql",
    7 => "0007_user_versions.sql",
    8 => "0008_config_versions.sql",
    9 => "0009_access_keys.sql",
    10 => "0010_updated_at.sql",
    11 => "0011_user_search.sql",
    12 => "0012_mfa_preferences.sql",
    13 => "0013_user_search_pages.sql",
    14 => "0014_client_secrets.sql",
    16 => "0016_provider_group_versions.sql",
    17 => "0017_srp_verifiers.sql",
    18 => "0018_devices.sql",
    19 => "0019_import_jobs.sql",
    20 => "0020_auth_events.sql",
    21 => "0021_passkeys.sql",
);

const POSTGRES: &[(i64, &str, &str)] = embed!("postgres":
    1 => "0001_initial.sql",
    2 => "0002_oauth.sql",
    3 => "0003_lockout.sql",
    4 => "0004_lifecycle.sql",
    5 => "0005_links.sql",
    6 => "0006_saml.sql",
    7 => "0007_user_versions.sql",
    8 => "0008_config_versions.sql",
    9 => "0009_access_keys.sql",
    10 => "0010_updated_at.sql",
    11 => "0011_user_search.sql",
    12 => "0012_mfa_preferences.sql",
    13 => "0013_user_search_pages.sql",
    14 => "0014_client_secrets.sql",
    15 => "0015_change_feed.sql",
    16 => "0016_provider_group_versions.sql",
    17 => "0017_srp_verifiers.sql",
    18 => "0018_devices.sql",
    19 => "0019_import_jobs.sql",
    20 => "0020_auth_events.sql",
    21 => "0021_passkeys.sql",
);

/// The newest migration this binary knows.
pub(crate) fn latest() -> i64 {
    SQLITE.iter().map(|m| m.0).max().unwrap_or(0)
}

fn migrator(list: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    (*name).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(crate) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

pub(crate) fn postgres() -> Migrator {
    migrator(POSTGRES)
}
