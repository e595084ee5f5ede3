//! The conformance suite: behaviour every `Store` backend must show. Each case gets a database
//! of its own (purging is table-wide), and races two connection pools against it. `conformance_tests!` turns the cases
//! into one `#[tokio::test]` each for a backend's test file.

mod audit;
mod cases;
mod passkeys;
mod steps;

pub use audit::*;
pub use cases::*;
pub use passkeys::*;
pub use steps::*;

use std::future::Future;
use std::sync::Arc;

use userpool_core::store::Store;

/// Opens a new, independent connection pool to the backend's test database on every call, so a
/// case can race two "nodes" against one database.
pub trait Connect: Send + Sync {
    fn connect(&self) -> impl Future<Output = Arc<dyn Store>> + Send;

    /// Removes what the case left behind (its database, for servers).
    fn cleanup(self) -> impl Future<Output = ()> + Send
    where
        Self: Sized,
    {
        async {}
    }
}

/// Generates one test per conformance case; `$connect` builds the `Connect` value, or returns
/// `None` to skip (the reason is printed by the builder).
#[macro_export]
macro_rules! conformance_tests {
    ($connect:expr) => {
        $crate::conformance_tests!(@cases $connect;
            pools_are_created_once_and_read_back,
            clients_keep_sealed_secrets_and_config,
            domains_are_unique_across_pools,
            configuration_objects_are_listed_per_pool,
            users_and_group_memberships_round_trip,
            groups_are_updated_deleted_and_list_their_members,
            a_code_is_consumed_once_then_reported_as_replayed,
            racing_nodes_consume_one_code_exactly_once,
            racing_redemptions_use_a_code_and_start_its_family_once,
            simultaneous_redemptions_each_get_their_own_outcome,
            key_rotation_is_compare_and_swap,
            racing_rotations_apply_once,
            purge_removes_expired_codes_and_retired_keys,
            users_are_found_by_alias,
            sessions_round_trip_and_end,
            token_families_are_revoked_whole,
            racing_nodes_rotate_one_refresh_token_exactly_once,
            purge_removes_expired_sessions_and_families,
            sign_in_failures_count_up_reset_and_clear,
            users_are_updated_by_compare_and_swap,
            pools_and_clients_are_updated_by_compare_and_swap,
            updates_record_when_they_happened,
            domains_are_updated_and_deleted_by_their_pool,
            a_deleted_pool_takes_everything_with_it,
            a_local_user_without_a_password_is_never_written,
            user_codes_work_once_and_die_after_too_many_guesses,
            a_challenge_is_taken_once,
            a_barred_family_cannot_start,
            saml_messages_are_accepted_once_across_nodes,
            saml_credentials_and_sessions,
            access_keys_round_trip_and_delete_on_every_node,
            devices_are_tracked_per_user_and_leave_with_them,
            a_deleted_user_takes_its_memberships_links_codes_and_sessions,
            users_are_listed_and_searched_by_attribute,
            identity_providers_are_read_updated_and_deleted,
            resource_servers_are_read_updated_and_deleted_by_their_pool,
            auth_events_are_listed_newest_first_in_pages_and_expire,
            racing_nodes_replace_a_step_payload_once,
            passkeys_are_unique_per_pool_counted_once_and_leave_with_their_user,
        );
    };
    (@cases $connect:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                if let Some(backend) = $connect.await {
                    $crate::conformance::$case(&backend).await;
                    $crate::conformance::Connect::cleanup(backend).await;
                }
            }
        )*
    };
}
