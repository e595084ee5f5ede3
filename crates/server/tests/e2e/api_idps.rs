//! Identity providers through the Cognito API, driven by boto3 (`tests/api/identity_providers.py`)
//! on SQLite and on PostgreSQL: create, describe, update, list, find by identifier and delete,
//! with the service's errors; then an OIDC provider created through the API against
//! `fake_idp`, and a client created through the API that lists it, sign a user in end to end at
//! once (the managed-login page shows the provider's button without a restart); an identity
//! linked with `AdminLinkProviderForUser` signs in as its user.

use serde_json::Value;
use userpool_core::store::PoolStore;
use userpool_store::SqlStore;

use crate::boto3::{Backend, Database, run_script};
use crate::browser::*;
use crate::fake_idp::{Defect, FakeIdp};
use crate::helpers::*;

/// The client the fake provider knows us as (the script creates the provider with it).
const FAKE_CLIENT: &str = "userpool-rp";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_manages_identity_providers_and_federates_on_sqlite() {
    idps_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_manages_identity_providers_and_federates_on_postgres() {
    idps_on(Backend::Postgres).await;
}

async fn idps_on(backend: Backend) {
    let idp = FakeIdp::start(FAKE_CLIENT).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Database::create(backend, dir.path()).await else {
        return;
    };
    let database = db.url.clone();
    // A pool whose custom domain is the server's own address, so its pages answer there.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let pool_id = unique_pool_id("us-east-1");
    let seed = write_seed(dir.path(), &oauth_seed(&pool_id, &listen));
    {
        let server = Server::start(
            dir.path(),
            &[
                "--listen",
                &listen,
                "--database",
                &database,
                "--seed",
                &seed,
                "--accept-any-credentials",
            ],
        );
        // The script blocks; the fake provider answers it from the runtime's other worker.
        let text = tokio::task::block_in_place(|| {
            run_script(&server, "identity_providers.py", &[&pool_id, &idp.issuer])
        });
        let fed = text
            .lines()
            .find_map(|l| l.strip_prefix("FED_CLIENT="))
            .expect("the script names the client it made")
            .to_string();
        let id = federate(&server, &idp, &fed, "fed-user").await;
        assert_eq!(id["email"], "fed-user@corp.test", "{id}");
        assert_eq!(id["cognito:username"], "fake_fed-user", "{id}");
        assert_eq!(id["identities"][0]["providerName"], "Fake", "{id}");
        assert_eq!(id["identities"][0]["userId"], "fed-user", "{id}");
        // The identity the script linked to alice signs in as alice.
        let id = federate(&server, &idp, &fed, "linked-by-api").await;
        assert_eq!(id["cognito:username"], "alice", "{id}");
        assert_eq!(id["identities"][0]["userId"], "linked-by-api", "{id}");
        // At rest the secret is sealed under the master key.
        let store = SqlStore::open(&database).await.unwrap();
        let stored = store.list_identity_providers(&pool_id).await.unwrap();
        let secret = &stored[0].config.provider_details["client_secret"];
        assert!(
            secret.starts_with("sealed:") && !secret.contains("fake-secret"),
            "{secret}"
        );
        store.close().await;
    }
    db.drop().await;
}

/// The provider's button on the login page, then a sign-in through it as `subject`: the claims
/// of the ID token the app gets.
async fn federate(server: &Server, idp: &FakeIdp, client_id: &str, subject: &str) -> Value {
    let base = &server.url;
    let params = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email")
        .append_pair("redirect_uri", "https://app.test/cb")
        .append_pair("state", "app-state")
        .finish();
    let mut b = Browser::default();
    let login = b.get(&format!("{base}/login?{params}")).await;
    assert!(
        login.body.contains("Continue with Fake"),
        "the login page shows the new provider's button: {}\n{}",
        login.body,
        server.log_text()
    );
    idp.next(subject, Defect::None);
    let start = b
        .get(&format!(
            "{base}/oauth2/authorize?{params}&identity_provider=Fake"
        ))
        .await;
    let to_idp = start
        .location
        .clone()
        .unwrap_or_else(|| panic!("a redirect to the provider: {}", start.body));
    assert!(to_idp.starts_with(&idp.issuer), "{to_idp}");
    let back = b
        .get(&to_idp)
        .await
        .location
        .expect("the provider redirects back");
    let done = b.get(&back).await;
    assert_eq!(
        done.location_param("state").as_deref(),
        Some("app-state"),
        "{:?} {}\n{}",
        done.location,
        done.body,
        server.log_text()
    );
    let code = done.location_param("code").expect("a code");
    let r = client()
        .post(format!("{base}/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", &code),
            ("redirect_uri", "https://app.test/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let tokens: Value = r.json().await.unwrap();
    claims(tokens["id_token"].as_str().unwrap())
}
