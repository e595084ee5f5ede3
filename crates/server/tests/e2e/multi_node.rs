//! Two server processes on one PostgreSQL: one pool, one key set, rotation seen by both.
//! Runs when `USERPOOL_TEST_POSTGRES_URL` is set (CI starts a cluster); otherwise skips, saying why.

use serde_json::json;

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
