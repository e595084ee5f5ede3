//! The conformance case of users' passkeys.

use userpool_core::store::*;

use super::Connect;

const NOW: i64 = 1_800_000_000;

fn passkey(pool_id: &str, username: &str, id: &str, at: i64) -> PasskeyRecord {
    PasskeyRecord {
        pool_id: pool_id.to_string(),
        credential_id: id.to_string(),
        username: username.to_string(),
        relying_party_id: "auth.example.com".into(),
        name: format!("key {id}"),
        attachment: Some("platform".into()),
        transports: vec!["internal".into(), "hybrid".into()],
        credential: format!(r#"{{"counter":0,"id":"{id}"}}"#),
        created_at: at,
    }
}

pub async fn passkeys_are_unique_per_pool_counted_once_and_leave_with_their_user(b: &impl Connect) {
    let (s, other_node) = (b.connect().await, b.connect().await);
    let pool_id = super::cases::new_pool(&*s).await;
    let first = passkey(&pool_id, "alice", "cred-a", NOW + 1);
    assert!(s.insert_passkey(&first).await.unwrap());
    assert!(
        !other_node
            .insert_passkey(&passkey(&pool_id, "bob", "cred-a", NOW))
            .await
            .unwrap(),
        "a credential ID belongs to one user of the pool"
    );
    assert!(
        s.insert_passkey(&passkey(&pool_id, "alice", "cred-b", NOW + 2))
            .await
            .unwrap()
    );
    let listed = other_node.list_passkeys(&pool_id, "alice").await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], first, "oldest first, every field read back");
    assert!(
        other_node
            .list_passkeys(&pool_id, "bob")
            .await
            .unwrap()
            .is_empty()
    );

    // Two sign-ins with one passkey on two nodes: the counter moves once.
    let old = first.credential.clone();
    let (a, b2) = tokio::join!(
        s.replace_passkey_credential(&pool_id, "cred-a", &old, r#"{"counter":1,"n":"a"}"#),
        other_node.replace_passkey_credential(&pool_id, "cred-a", &old, r#"{"counter":1,"n":"b"}"#),
    );
    assert!(
        a.unwrap() ^ b2.unwrap(),
        "exactly one sign-in moves the counter"
    );

    assert!(
        !s.delete_passkey(&pool_id, "bob", "cred-b").await.unwrap(),
        "only its owner deletes a passkey"
    );
    assert!(s.delete_passkey(&pool_id, "alice", "cred-b").await.unwrap());
    assert!(
        !other_node
            .delete_passkey(&pool_id, "alice", "cred-b")
            .await
            .unwrap()
    );

    // A deleted user takes their passkeys with them.
    assert!(
        s.insert_user(&super::cases::user(&pool_id, "alice", "alice@example.test"))
            .await
            .unwrap()
    );
    assert!(s.delete_user(&pool_id, "alice").await.unwrap());
    assert!(s.list_passkeys(&pool_id, "alice").await.unwrap().is_empty());
}
