//! The conformance case of a pending step's guesses: its payload replaced by compare-and-swap.

use std::sync::Arc;

use userpool_core::crypto::{TokenHash, random_token};
use userpool_core::ids;
use userpool_core::model::UserPoolConfig;
use userpool_core::store::*;

use super::Connect;

const NOW: i64 = 1_800_000_000;

pub async fn racing_nodes_replace_a_step_payload_once(b: &impl Connect) {
    let (node_a, node_b) = (b.connect().await, b.connect().await);
    let pool_id = ids::new_pool_id("us-test-1");
    let pool = PoolRecord {
        id: pool_id.clone(),
        config: UserPoolConfig {
            pool_name: "steps".into(),
            ..Default::default()
        },
        created_at: NOW,
        updated_at: NOW,
        key_generation: 0,
        version: 0,
    };
    assert!(node_a.insert_pool(&pool).await.unwrap());
    let step = ChallengeRecord {
        hash: TokenHash::of(&random_token()),
        pool_id,
        username: "gina".into(),
        kind: PendingKind::Mfa,
        payload: r#"{"guesses":0}"#.into(),
        created_at: NOW,
        expires_at: NOW + 180,
    };
    node_a.insert_challenge(&step).await.unwrap();
    // Sixteen answers that read the same step race for its next guess: one gets it.
    let mut racers = Vec::new();
    for i in 0..16 {
        let node: Arc<dyn Store> = if i % 2 == 0 {
            node_a.clone()
        } else {
            node_b.clone()
        };
        let hash = step.hash.clone();
        racers.push(tokio::spawn(async move {
            node.replace_challenge_payload(
                &hash,
                r#"{"guesses":0}"#,
                &format!(r#"{{"guesses":1,"by":{i}}}"#),
            )
            .await
            .unwrap()
        }));
    }
    let mut winners = 0;
    for r in racers {
        winners += usize::from(r.await.unwrap());
    }
    assert_eq!(winners, 1);
    let now = node_b.get_challenge(&step.hash).await.unwrap().unwrap();
    assert!(
        now.payload.starts_with(r#"{"guesses":1,"by":"#),
        "{}",
        now.payload
    );
    assert!(
        !node_b
            .replace_challenge_payload(&step.hash, r#"{"guesses":0}"#, "{}")
            .await
            .unwrap(),
        "a stale read replaces nothing"
    );
    node_a.take_challenge(&step.hash).await.unwrap();
    assert!(
        !node_a
            .replace_challenge_payload(&step.hash, &now.payload, "{}")
            .await
            .unwrap(),
        "a step that is gone stays gone"
    );
}
