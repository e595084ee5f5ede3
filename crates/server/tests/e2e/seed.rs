//! The seed file: validation that names file, object and field and changes nothing, and
//! idempotent application.

use serde_json::{Value, json};
use userpool_core::store::{PoolStore, UserStore};
use userpool_store::SqlStore;

use crate::helpers::*;

fn good_pool(id: &str) -> Value {
    json!({
        "Id": id,
        "PoolName": "good",
        "UsernameAttributes": ["email"],
        "Policies": {"PasswordPolicy": {"MinimumLength": 10}},
        "Schema": [{"Name": "tenant", "AttributeDataType": "String", "Mutable": true}],
        "Domains": [{"Domain": format!("good-{}", id.to_lowercase().replace('_', "-"))}],
        "ResourceServers": [{"Identifier": "https://api.test", "Name": "api",
            "Scopes": [{"ScopeName": "read", "ScopeDescription": "Read"}]}],
        "Groups": [{"GroupName": "admins", "Precedence": 1}],
        "IdentityProviders": [{"ProviderName": "Corp", "ProviderType": "OIDC",
            "ProviderDetails": {"client_id": "c", "client_secret": "s", "authorize_scopes": "openid email",
                "oidc_issuer": "https://idp.example.test"},
            "AttributeMapping": {"email": "email"}}],
        "Clients": [
            {"ClientName": "web", "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["code"],
             "AllowedOAuthScopes": ["openid", "email", "https://api.test/read"],
             "CallbackURLs": ["https://app.test/cb", "http://localhost:3000/cb"],
             "SupportedIdentityProviders": ["COGNITO", "Corp"]},
            {"ClientName": "m2m", "GenerateSecret": true, "AllowedOAuthFlowsUserPoolClient": true,
             "AllowedOAuthFlows": ["client_credentials"], "AllowedOAuthScopes": ["https://api.test/read"]}
        ],
        "Users": [{"Username": "alice@example.test", "Password": "Correct-horse-1",
            "UserAttributes": [{"Name": "custom:tenant", "Value": "t1"}], "Groups": ["admins"]}]
    })
}

#[tokio::test]
async fn a_bad_seed_stops_start_up_names_file_object_and_field_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = good_pool(&unique_pool_id("us-east-1"));
    bad["PoolName"] = json!("bad");
    bad["Clients"][0]["CallbackURLs"] = json!(["http://app.example.test/cb"]);
    bad["Clients"][0]["AllowedOAuthScopes"] = json!(["openid", "https://api.test/write"]);
    bad["Clients"][1]["AllowedOAuthFlows"] = json!(["client_credentials", "code"]);
    bad["Users"][0]["Password"] = json!("short");
    bad["Users"][0]["Groups"] = json!(["nobody"]);
    let seed = write_seed(
        dir.path(),
        &json!({"UserPools": [good_pool(&unique_pool_id("us-east-1")), bad]}),
    );
    let db = sqlite_url(dir.path());
    let out = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &db,
            "--seed",
            &seed,
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "seed.json is invalid",
        "nothing was changed",
        "UserPools[1] (pool \"bad\").Clients[0] (client \"web\").CallbackURLs[0]: http is allowed only for localhost",
        "UserPools[1] (pool \"bad\").Clients[0] (client \"web\").AllowedOAuthScopes[1]: scope 'https://api.test/write' does not exist (ScopeDoesNotExistException)",
        "Clients[1] (client \"m2m\").AllowedOAuthFlows: client_credentials flow can not be selected along with code flow or implicit flow (InvalidOAuthFlowException)",
        "Users[0] (user \"alice@example.test\").Password: Password not long enough",
        "Users[0] (user \"alice@example.test\").Groups[0]: group 'nobody' does not exist",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(
        !err.contains("UserPools[0]"),
        "the good pool has no problems:\n{err}"
    );
    let store = SqlStore::open(&db).await.unwrap();
    assert!(
        store.list_pools().await.unwrap().is_empty(),
        "the valid pool was not created either"
    );
    store.close().await;
}

#[tokio::test]
async fn shape_errors_and_unknown_fields_are_reported_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let cases = [
        (
            json!({"UserPools": [{"PoolName": "p", "MfaConfiguration": "SOMETIMES"}]}),
            "UserPools[0].MfaConfiguration: unknown variant `SOMETIMES`",
        ),
        (
            json!({"UserPools": [{"PoolName": "p", "Clients": [{"ClientName": "c", "CallbackUrls": []}]}]}),
            "UserPools[0].Clients[0].CallbackUrls: unknown field `CallbackUrls`",
        ),
        (
            json!({"UserPools": [{"PoolName": "p", "Domains": [{"Domain": "Bad_Prefix"}]}]}),
            "UserPools[0] (pool \"p\").Domains[0].Domain: a domain prefix must match",
        ),
        (
            json!({"UserPools": [{"Id": "no-underscore", "PoolName": "p"}]}),
            "UserPools[0] (pool \"p\").Id: 'no-underscore' does not match",
        ),
        (
            json!({"UserPools": [{"PoolName": "p", "IdentityProviders": [{"ProviderName": "Gmail", "ProviderType": "Google", "ProviderDetails": {"client_id": "a", "client_secret": "b", "authorize_scopes": "email"}}]}]}),
            "ProviderName: a Google provider must be named Google",
        ),
    ];
    for (seed, expected) in cases {
        let path = write_seed(dir.path(), &seed);
        let out = run(dir.path(), &["check-seed", "--database", &db, &path]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    std::fs::write(dir.path().join("broken.json"), "{\"UserPools\": [").unwrap();
    let out = run(
        dir.path(),
        &["check-seed", "--database", &db, "broken.json"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.json is invalid") && err.contains("not valid JSON"),
        "{err}"
    );
}

#[tokio::test]
async fn seeding_twice_creates_nothing_new_and_keeps_ids_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let id = unique_pool_id("us-east-1");
    let seed = write_seed(dir.path(), &json!({"UserPools": [good_pool(&id)]}));
    let db = sqlite_url(dir.path());
    let first = Server::start(dir.path(), &["--database", &db, "--seed", &seed]);
    assert!(
        first.stdout.contains("generated secret of client"),
        "{}",
        first.stdout
    );
    let jwks = first
        .get_json(&format!("/{id}/.well-known/jwks.json"))
        .await;
    assert!(first.stop().success());

    let store = SqlStore::open(&db).await.unwrap();
    let clients = store.list_clients(&id).await.unwrap();
    assert_eq!(clients.len(), 2);
    let m2m = clients
        .iter()
        .find(|c| c.config.client_name == "m2m")
        .unwrap();
    assert_eq!(m2m.secrets.len(), 1, "the generated secret is kept");
    assert!(
        matches!(
            m2m.secrets[0].stored,
            userpool_core::client_secret::StoredSecret::Sealed(_)
        ),
        "sealed, never in the clear"
    );
    assert!(m2m.config.client_secret.is_none());
    let pool = store.get_pool(&id).await.unwrap().unwrap();
    assert_eq!(pool.config.username_attributes, ["email"]);
    store.close().await;

    let second = Server::start(dir.path(), &["--database", &db, "--seed", &seed]);
    assert!(
        !second.stdout.contains("generated secret"),
        "nothing is generated twice"
    );
    assert!(
        !second.log_text().contains("created "),
        "nothing is created twice:\n{}",
        second.log_text()
    );
    assert_eq!(
        second
            .get_json(&format!("/{id}/.well-known/jwks.json"))
            .await,
        jwks,
        "a restart keeps the keys"
    );
    drop(second);

    let store = SqlStore::open(&db).await.unwrap();
    assert_eq!(store.list_pools().await.unwrap().len(), 1);
    let again = store.list_clients(&id).await.unwrap();
    assert_eq!(
        again.iter().map(|c| &c.client_id).collect::<Vec<_>>(),
        clients.iter().map(|c| &c.client_id).collect::<Vec<_>>()
    );
    assert_eq!(store.list_groups(&id).await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test]
async fn seeded_users_get_hashed_passwords_attributes_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    let id = unique_pool_id("us-east-1");
    let seed = write_seed(
        dir.path(),
        &json!({"UserPools": [{
            "Id": id, "PoolName": "users", "UsernameConfiguration": {"CaseSensitive": false},
            "Groups": [{"GroupName": "staff"}],
            "Users": [
                {"Username": "Bob", "Password": "Passw0rd!", "Groups": ["staff"],
                 "UserAttributes": [{"Name": "email", "Value": "bob@example.test"}]},
                {"Username": "carol", "TemporaryPassword": "Temp0rary!"}
            ]
        }]}),
    );
    let db = sqlite_url(dir.path());
    run(dir.path(), &["check-seed", "--database", &db, &seed]);
    let s = Server::start(dir.path(), &["--database", &db, "--seed", &seed]);
    drop(s);
    let store = SqlStore::open(&db).await.unwrap();
    let bob = store
        .get_user(&id, "bob")
        .await
        .unwrap()
        .expect("usernames are case-insensitive by default");
    assert_eq!(bob.status.as_str(), "CONFIRMED");
    let hash = bob.password_hash.unwrap();
    assert!(hash.as_str().starts_with("$argon2id$"));
    assert!(hash.verify("Passw0rd!"));
    assert_eq!(bob.attributes[0].value, "bob@example.test");
    assert_eq!(store.list_user_groups(&id, "bob").await.unwrap(), ["staff"]);
    let carol = store.get_user(&id, "carol").await.unwrap().unwrap();
    assert_eq!(carol.status.as_str(), "FORCE_CHANGE_PASSWORD");
    store.close().await;
}

#[tokio::test]
async fn a_domain_of_another_pool_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let a = unique_pool_id("us-east-1");
    let first = write_seed(
        dir.path(),
        &json!({"UserPools": [{"Id": a, "PoolName": "a", "Domains": [{"Domain": "shared-x9"}]}]}),
    );
    assert!(
        run(dir.path(), &["check-seed", "--database", &db, &first])
            .status
            .success()
    );
    drop(Server::start(
        dir.path(),
        &["--database", &db, "--seed", &first],
    ));
    let b = unique_pool_id("us-east-1");
    let second = write_seed(
        dir.path(),
        &json!({"UserPools": [{"Id": b, "PoolName": "b", "Domains": [{"Domain": "shared-x9"}]}]}),
    );
    let out = run(dir.path(), &["check-seed", "--database", &db, &second]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("domain 'shared-x9' belongs to pool {a}")),
        "{err}"
    );
}
