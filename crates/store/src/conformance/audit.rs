//! The conformance case of the audit trail.

use userpool_core::store::*;

use super::Connect;

const NOW: i64 = 1_800_000_000;

fn event(pool_id: &str, username: &str, n: i64, expires_at: i64) -> AuthEventRecord {
    AuthEventRecord {
        event_id: format!("event-{n:03}"),
        pool_id: pool_id.to_string(),
        username: username.to_string(),
        event_type: "SignIn".into(),
        response: if n % 2 == 0 { "Pass" } else { "Fail" }.into(),
        challenges: r#"[{"ChallengeName":"Password","ChallengeResponse":"Success"}]"#.into(),
        detail: String::new(),
        ip_address: Some("192.0.2.1".into()),
        // Two events share each millisecond: the ID orders them.
        created_ms: NOW * 1000 + n / 2,
        expires_at,
        feedback: None,
    }
}

pub async fn auth_events_are_listed_newest_first_in_pages_and_expire(b: &impl Connect) {
    let (s, other_node) = (b.connect().await, b.connect().await);
    let pool_id = super::cases::new_pool(&*s).await;
    for n in 0..7 {
        // The last two expire first.
        let expires = if n >= 5 { NOW + 10 } else { NOW + 1000 };
        s.record_auth_event(&event(&pool_id, "alice", n, expires))
            .await
            .unwrap();
    }
    s.record_auth_event(&event(&pool_id, "bob", 99, NOW + 1000))
        .await
        .unwrap();
    let admin = AuthEventRecord {
        event_type: "Admin".into(),
        detail: "AdminDisableUser".into(),
        ..event(&pool_id, "bob", 100, NOW + 1000)
    };
    s.record_auth_event(&admin).await.unwrap();
    let cognitos = s
        .list_auth_events(&pool_id, "bob", None, 10, false)
        .await
        .unwrap();
    assert_eq!(
        cognitos.len(),
        1,
        "Cognito's listing leaves administrators' changes out"
    );

    // Pages of three, newest first, each starting after the last one's mark; read on the
    // other node.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = other_node
            .list_auth_events(&pool_id, "alice", before.clone(), 3, true)
            .await
            .unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        before = Some((last.created_ms, last.event_id.clone()));
        seen.extend(page.iter().map(|e| e.event_id.clone()));
    }
    let want: Vec<String> = (0..7).rev().map(|n| format!("event-{n:03}")).collect();
    assert_eq!(seen, want, "every event once, newest first");
    let first = &other_node
        .list_auth_events(&pool_id, "alice", None, 1, true)
        .await
        .unwrap()[0];
    assert_eq!(
        first,
        &event(&pool_id, "alice", 6, NOW + 10),
        "read back whole"
    );

    assert!(
        s.set_auth_event_feedback(&pool_id, "alice", "event-003", "Invalid")
            .await
            .unwrap()
    );
    assert!(
        !s.set_auth_event_feedback(&pool_id, "bob", "event-003", "Invalid")
            .await
            .unwrap(),
        "another user's event is not theirs to mark"
    );
    let marked = s
        .list_auth_events(
            &pool_id,
            "alice",
            Some((NOW * 1000 + 2, "event-004".into())),
            1,
            true,
        )
        .await
        .unwrap();
    assert_eq!(marked[0].event_id, "event-003");
    assert_eq!(marked[0].feedback.as_deref(), Some("Invalid"));

    s.purge_expired(NOW + 11).await.unwrap();
    let left = s
        .list_auth_events(&pool_id, "alice", None, 10, true)
        .await
        .unwrap();
    assert_eq!(left.len(), 5, "the expired two are gone");
    assert_eq!(
        s.list_auth_events(&pool_id, "bob", None, 10, true)
            .await
            .unwrap()
            .len(),
        2
    );
}
