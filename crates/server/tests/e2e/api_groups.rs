//! Groups and memberships through the Cognito API, driven by boto3 (`tests/api/groups.py`) on
//! SQLite and on PostgreSQL against a seeded pool with users; and a membership changed through
//! the API shows in the next sign-in's `cognito:groups`.

use std::process::Command;

use serde_json::{Value, json};

use crate::boto3::{Backend, KEY, SECRET, run_on, seeded};
use crate::browser::*;
use crate::helpers::*;

/// A pool with case-insensitive usernames, email as an alias, three users and one group.
fn seed(pool_id: &str) -> Value {
    json!({"UserPools": [{
        "Id": pool_id,
        "PoolName": "groups",
        "UsernameConfiguration": {"CaseSensitive": false},
        "AliasAttributes": ["email"],
        "Groups": [{"GroupName": "seeded", "Description": "from the seed"}],
        "Users": [
            {"Username": "Alice", "Password": "Passw0rd!", "Groups": ["seeded"]},
            {"Username": "bob", "Password": "Passw0rd!", "UserAttributes": [
                {"Name": "email", "Value": "bob@example.test"},
                {"Name": "email_verified", "Value": "true"}]},
            {"Username": "carol", "Password": "Passw0rd!"}
        ]
    }]})
}

/// The seed of a fresh pool, written into the server's directory.
#[tokio::test]
async fn boto3_manages_groups_and_memberships_on_sqlite() {
    let pool_id = unique_pool_id("us-east-1");
    run_on(
        Backend::Sqlite,
        "groups.py",
        seeded(seed(&pool_id)),
        &[&pool_id],
    )
    .await;
}

#[tokio::test]
async fn boto3_manages_groups_and_memberships_on_postgres() {
    let pool_id = unique_pool_id("us-east-1");
    run_on(
        Backend::Postgres,
        "groups.py",
        seeded(seed(&pool_id)),
        &[&pool_id],
    )
    .await;
}

/// Changes alice's groups with boto3: out of `staff`, into a new group `ops`.
const REGROUP: &str = r#"
import sys
import boto3
url, key, secret, pool = sys.argv[1:5]
c = boto3.client("cognito-idp", endpoint_url=url, region_name="us-east-1",
                 aws_access_key_id=key, aws_secret_access_key=secret)
c.admin_remove_user_from_group(UserPoolId=pool, GroupName="staff", Username="alice")
c.create_group(UserPoolId=pool, GroupName="ops")
c.admin_add_user_to_group(UserPoolId=pool, GroupName="ops", Username="Alice")
print("regrouped")
"#;

#[tokio::test]
async fn memberships_changed_through_the_api_show_in_the_next_tokens() {
    let s = OAuthServer::start(&["--accept-any-credentials"]).await;
    let out = Command::new("python3")
        .args(["-c", REGROUP, &s.base, KEY, SECRET, &s.pool_id])
        .output()
        .expect("python3 with boto3");
    assert!(
        out.status.success(),
        "{}{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", SPA)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("redirect_uri", "https://app.test/cb")
        .finish();
    let done = Browser::default()
        .sign_in(&s.base, &query, "alice", "Passw0rd!")
        .await;
    assert_eq!(done.status, 302, "{}", done.body);
    let code = done.location_param("code").unwrap();
    let (status, tokens) = s.redeem_spa(&code).await;
    assert_eq!(status, 200, "{tokens}");
    for token in ["access_token", "id_token"] {
        let c = claims(tokens[token].as_str().unwrap());
        assert_eq!(c["cognito:groups"], json!(["admins", "ops"]), "{token}");
    }
}
