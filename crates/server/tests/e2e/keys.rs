//! Key rotation from the command line: old and new keys published together, the change seen
//! by a running node, keys kept across restarts, and a wrong master key named.

use serde_json::{Value, json};
use userpool_core::keys::{KeyPurpose, PUBLISH_LEAD};

use crate::helpers::*;

fn kids(jwks: &Value) -> Vec<String> {
    let mut k: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

fn one_pool(dir: &std::path::Path, id: &str) -> String {
    write_seed(dir, &json!({"UserPools": [{"Id": id, "PoolName": "keys"}]}))
}

#[tokio::test]
async fn rotation_publishes_new_keys_beside_the_old_ones_and_signs_with_them_later() {
    let dir = tempfile::tempdir().unwrap();
    let id = unique_pool_id("us-east-1");
    let seed = one_pool(dir.path(), &id);
    let db = sqlite_url(dir.path());
    let s = Server::start(
        dir.path(),
        &[
            "--database",
            &db,
            "--seed",
            &seed,
            "--refresh-interval",
            "1",
        ],
    );
    let before = kids(&s.get_json(&format!("/{id}/.well-known/jwks.json")).await);
    assert_eq!(before.len(), 2);
    let signer_before = key_ring(&db, &id, now())
        .await
        .signer(KeyPurpose::Id, now())
        .unwrap()
        .kid
        .clone();

    let out = run(dir.path(), &["keys", "rotate", "--database", &db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{id}: new keys published")));

    // The running node shows the new keys within its refresh interval.
    let mut after = Vec::new();
    for _ in 0..50 {
        after = kids(&s.get_json(&format!("/{id}/.well-known/jwks.json")).await);
        if after.len() == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(after.len(), 4, "old and new keys are published together");
    assert!(before.iter().all(|k| after.contains(k)));

    let t = now();
    let ring = key_ring(&db, &id, t).await;
    assert_eq!(
        ring.signer(KeyPurpose::Id, t).unwrap().kid,
        signer_before,
        "old keys sign until verifiers had time to fetch the new ones"
    );
    let later = ring
        .signer(KeyPurpose::Id, t + PUBLISH_LEAD + 1)
        .unwrap()
        .kid
        .clone();
    assert_ne!(later, signer_before);
    assert!(after.contains(&later));
    drop(s);

    // A restart keeps the same four keys.
    let s = Server::start(dir.path(), &["--database", &db, "--seed", &seed]);
    assert_eq!(
        kids(&s.get_json(&format!("/{id}/.well-known/jwks.json")).await),
        after
    );
}

#[tokio::test]
async fn rotation_now_signs_with_the_new_keys_at_once_and_one_pool_can_be_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let a = unique_pool_id("us-east-1");
    let b = unique_pool_id("us-east-1");
    let seed = write_seed(
        dir.path(),
        &json!({"UserPools": [{"Id": a, "PoolName": "a"}, {"Id": b, "PoolName": "b"}]}),
    );
    let db = sqlite_url(dir.path());
    drop(Server::start(
        dir.path(),
        &["--database", &db, "--seed", &seed],
    ));
    let old = key_ring(&db, &a, now())
        .await
        .signer(KeyPurpose::Access, now())
        .unwrap()
        .kid
        .clone();
    let out = run(
        dir.path(),
        &["keys", "rotate", "--database", &db, "--pool", &a, "--now"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ring = key_ring(&db, &a, now()).await;
    assert_ne!(ring.signer(KeyPurpose::Access, now()).unwrap().kid, old);
    assert_eq!(
        ring.jwks().keys.len(),
        4,
        "the replaced keys stay published for tokens they signed"
    );
    assert_eq!(
        key_ring(&db, &b, now()).await.jwks().keys.len(),
        2,
        "other pools are untouched"
    );
    let out = run(
        dir.path(),
        &[
            "keys",
            "rotate",
            "--database",
            &db,
            "--pool",
            "us-east-1_Missing1",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("user pool us-east-1_Missing1 does not exist")
    );
}

#[tokio::test]
async fn a_wrong_master_key_is_named_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let id = unique_pool_id("us-east-1");
    let seed = one_pool(dir.path(), &id);
    let db = sqlite_url(dir.path());
    drop(Server::start(
        dir.path(),
        &["--database", &db, "--seed", &seed],
    ));
    let out = command(dir.path())
        .env("USERPOOL_MASTER_KEY", "07".repeat(32))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sealed under master key") && err.contains("USERPOOL_MASTER_KEY"),
        "{err}"
    );
}

#[tokio::test]
async fn without_a_configured_key_one_is_generated_once_into_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let start = || {
        let mut cmd = command(dir.path());
        cmd.env_remove("USERPOOL_MASTER_KEY")
            .args(["keys", "rotate", "--database", &db]);
        cmd.output().unwrap()
    };
    assert!(start().status.success());
    let key_file = dir.path().join("master.key");
    let first = std::fs::read_to_string(&key_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(start().status.success());
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), first);
}
