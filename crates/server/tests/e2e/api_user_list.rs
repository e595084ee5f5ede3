//! `ListUsers` (every filter form, `AttributesToGet`, paging) and the Admin attribute updates
//! through the Cognito API, driven by boto3 (`tests/api/users_list.py`) on SQLite and on
//! PostgreSQL against a seeded pool of ten users.

use serde_json::{Value, json};

use crate::boto3::{Backend, run_on, seeded};
use crate::helpers::*;

/// One seeded user: username, email, given and family name, and more attributes.
fn person(username: &str, email: &str, given: &str, family: &str, more: Value) -> Value {
    let mut attributes = vec![
        json!({"Name": "email", "Value": email}),
        json!({"Name": "given_name", "Value": given}),
        json!({"Name": "family_name", "Value": family}),
        json!({"Name": "name", "Value": format!("{given} {family}")}),
    ];
    if let Value::Array(more) = more {
        attributes.extend(more);
    }
    json!({"Username": username, "Password": "Passw0rd!", "UserAttributes": attributes})
}

/// A pool with case-insensitive usernames and ten users of varied names, emails and states:
/// carol has a temporary password (FORCE_CHANGE_PASSWORD), dave is disabled.
fn seed(pool_id: &str) -> Value {
    let attr = |name: &str, value: &str| json!({"Name": name, "Value": value});
    let mut carol = person("carol", "carol@example.test", "Carol", "O\"Hara", json!([]));
    carol["TemporaryPassword"] = carol.as_object_mut().unwrap().remove("Password").unwrap();
    let mut dave = person("dave", "dave@example.test", "Dave", "Jones", json!([]));
    dave["Enabled"] = json!(false);
    json!({"UserPools": [{
        "Id": pool_id,
        "PoolName": "listing",
        "UsernameConfiguration": {"CaseSensitive": false},
        "Schema": [{"Name": "team", "AttributeDataType": "String", "Mutable": true}],
        "Users": [
            person("alice", "Alice@Example.test", "Alice", "Smith", json!([attr("email_verified", "true")])),
            person("albert", "albert@example.test", "Albert", "Smithers", json!([])),
            person("bob", "bob@other.test", "Bob", "Jones", json!([attr("phone_number", "+15550100001")])),
            carol,
            dave,
            person("erin", "erin@other.test", "Erin", "Nakamura", json!([
                attr("preferred_username", "erin_p"), attr("phone_number", "+15550100002")])),
            person("frank", "frank@example.test", "Frank", "Miller", json!([])),
            person("grace", "grace@example.test", "Grace", "Hopper", json!([])),
            person("heidi", "heidi@example.test", "Heidi", "Klum", json!([])),
            person("ivan", "ivan@example.test", "Ivan", "Petrov", json!([])),
        ]
    }]})
}

#[tokio::test]
async fn boto3_lists_and_searches_users_on_sqlite() {
    let pool_id = unique_pool_id("us-east-1");
    run_on(
        Backend::Sqlite,
        "users_list.py",
        seeded(seed(&pool_id)),
        &[&pool_id],
    )
    .await;
}

#[tokio::test]
async fn boto3_lists_and_searches_users_on_postgres() {
    let pool_id = unique_pool_id("us-east-1");
    run_on(
        Backend::Postgres,
        "users_list.py",
        seeded(seed(&pool_id)),
        &[&pool_id],
    )
    .await;
}
