//! Two server processes on one PostgreSQL: one pool, one key set, rotation seen by both, a
//! client made through one node served by the other within a second (the change feed), and the
//! API's sign-ins begun at one node and finished at the other.
//! Runs when `USERPOOL_TEST_POSTGRES_URL` is set (CI starts a cluster); otherwise skips, saying why.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::browser::{Browser, oauth_seed};
use crate::helpers::*;

fn postgres() -> Option<String> {
    let url = postgres_url();
    if url.is_none() {
        eprintln!("skipped: set USERPOOL_TEST_POSTGRES_URL to run the two-node tests");
    }
    url
}

#[tokio::test]
async fn two_nodes_started_together_share_one_pool_and_one_key_set() {
    let Some(admin) = postgres() else { return };
    let pg = PgDatabase::create(&admin).await;
    let db = pg.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let id = unique_pool_id("us-east-1");
    let seed = write_seed(
        dir.path(),
        &json!({"UserPools": [{"Id": id, "PoolName": "shared",
        "Clients": [{"ClientName": "web", "AllowedOAuthFlows": ["code"], "AllowedOAuthFlowsUserPoolClient": true,
                     "AllowedOAuthScopes": ["openid"], "CallbackURLs": ["https://app.test/cb"]}]}]}),
    );
    let (a, b) = std::thread::scope(|t| {
        let a = t.spawn(|| {
            Server::start(
                dir.path(),
                &[
                    "--database",
                    &db,
                    "--seed",
                    &seed,
                    "--refresh-interval",
                    "1",
                ],
            )
        });
        let b = t.spawn(|| {
            Server::start(
                dir.path(),
                &[
                    "--database",
                    &db,
                    "--seed",
                    &seed,
                    "--refresh-interval",
                    "1",
                ],
            )
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    let path = format!("/{id}/.well-known/jwks.json");
    let jwks = a.get_json(&path).await;
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "one key set, however many nodes made keys"
    );
    assert_eq!(b.get_json(&path).await, jwks);

    // Two rotations at once: one applies, the other stands down.
    let (r1, r2) = std::thread::scope(|t| {
        let r1 = t.spawn(|| {
            run(
                dir.path(),
                &["keys", "rotate", "--database", &db, "--pool", &id],
            )
        });
        let r2 = t.spawn(|| {
            run(
                dir.path(),
                &["keys", "rotate", "--database", &db, "--pool", &id],
            )
        });
        (r1.join().unwrap(), r2.join().unwrap())
    });
    assert!(r1.status.success() && r2.status.success());
    let mut seen = Vec::new();
    for _ in 0..50 {
        let ja = a.get_json(&path).await;
        let jb = b.get_json(&path).await;
        seen = vec![
            ja["keys"].as_array().unwrap().len(),
            jb["keys"].as_array().unwrap().len(),
        ];
        if seen.iter().all(|n| *n >= 4) && ja == jb {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Two sequential rotations would publish 6 keys; racing ones may also run one after the other.
    assert!(seen.iter().all(|n| *n == 4 || *n == 6), "{seen:?}");
    assert_eq!(
        a.get_json(&path).await,
        b.get_json(&path).await,
        "both nodes publish the same keys"
    );
    drop((a, b));
    pg.drop_database().await;
}

/// A Cognito API call with a header of SigV4's shape (the nodes take any credentials).
async fn api_call(base: &str, operation: &str, body: Value) -> Value {
    let now = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let r = client()
        .post(format!("{base}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{operation}"))
        .header("x-amz-date", &date)
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
                &date[..8],
                "0".repeat(64)
            ),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{operation}");
    r.json().await.unwrap()
}

/// Whether `node` serves the client of this authorize query: authorize sends a known client's
/// users to sign in, an unknown client to our error page.
async fn serves(node: &Server, query: &str) -> bool {
    let r = node.get(&format!("/oauth2/authorize?{query}")).await;
    r.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.starts_with("/login"))
}

/// Polls `ready` until it holds, for at most `limit`; returns how long it took.
async fn within<F: std::future::Future<Output = bool>>(
    limit: Duration,
    mut ready: impl FnMut() -> F,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test]
async fn a_client_made_through_one_node_redeems_a_code_at_the_other_at_once() {
    let Some(admin) = postgres() else { return };
    let pg = PgDatabase::create(&admin).await;
    let db = pg.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let id = unique_pool_id("us-east-1");
    // The pool answers on 127.0.0.1 at any port, so at both nodes; it has no client yet.
    let mut seed = oauth_seed(&id, "127.0.0.1");
    seed["UserPools"][0]["Clients"] = json!([]);
    let seed = write_seed(dir.path(), &seed);
    // A reload interval far beyond the test: only the change feed can tell node B.
    let args = [
        "--database",
        &db,
        "--seed",
        &seed,
        "--refresh-interval",
        "60",
        "--accept-any-credentials",
    ];
    let a = Server::start(dir.path(), &args);
    let b = Server::start(dir.path(), &args);

    let made = api_call(
        &a.url,
        "CreateUserPoolClient",
        json!({"UserPoolId": id, "ClientName": "late", "GenerateSecret": true,
               "AllowedOAuthFlows": ["code"], "AllowedOAuthFlowsUserPoolClient": true,
               "AllowedOAuthScopes": ["openid"], "CallbackURLs": ["https://app.test/cb"],
               "SupportedIdentityProviders": ["COGNITO"]}),
    )
    .await;
    let client_id = made["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = made["UserPoolClient"]["ClientSecret"]
        .as_str()
        .unwrap()
        .to_string();
    let query = format!(
        "response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&scope=openid"
    );
    // Node A serves it at once (it reads its own writes).
    assert!(serves(&a, &query).await);
    let mut browser = Browser::default();
    let done = browser.sign_in(&a.url, &query, "alice", "Passw0rd!").await;
    let code = done.location_param("code").expect("a code from node A");

    // Node B learns of the client within a second, and redeems A's code.
    let redeem = || {
        client()
            .post(format!("{}/oauth2/token", b.url))
            .basic_auth(&client_id, Some(&secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", "https://app.test/cb"),
            ])
            .send()
    };
    let known_at_b = || serves(&b, &query);
    let took = within(Duration::from_secs(1), known_at_b).await;
    assert!(
        took.is_some(),
        "node B did not see the new client within a second"
    );
    let r = redeem().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // A deletion reaches B as fast.
    api_call(
        &a.url,
        "DeleteUserPoolClient",
        json!({"UserPoolId": id, "ClientId": client_id}),
    )
    .await;
    let gone_at_b = || async { !serves(&b, &query).await };
    assert!(
        within(Duration::from_secs(1), gone_at_b).await.is_some(),
        "node B still serves a deleted client"
    );
    drop((a, b));
    pg.drop_database().await;
}

#[tokio::test]
async fn an_api_sign_in_begun_at_one_node_answers_its_challenges_at_the_other() {
    let Some(admin) = postgres() else { return };
    let pg = PgDatabase::create(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    // Nodes behind one address share one public URL, so one issuer.
    let args = [
        "--database",
        &pg.url,
        "--no-demo",
        "--public-url",
        "http://userpool.test",
        "--refresh-interval",
        "60",
        "--accept-any-credentials",
    ];
    {
        let mut a = Server::start(dir.path(), &args);
        let b = Server::start(dir.path(), &args);
        // Requests go to each node's own address; both write codes to the outbox of the
        // directory they run in.
        a.url = listen_url(&a);
        let outbox = dir.path().join("outbox").display().to_string();
        crate::boto3::run_checks(
            &a,
            "python3",
            "tests/api/two_nodes.py",
            (crate::boto3::KEY, crate::boto3::SECRET),
            &[&listen_url(&b), &outbox],
        );
    }
    pg.drop_database().await;
}

/// The address a node listens on (its public URL names the address both nodes share).
fn listen_url(node: &Server) -> String {
    let addr = node
        .stdout
        .split_once(" (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(addr, _)| addr.to_string())
        .expect("the listening line names the address");
    format!("http://{addr}")
}
